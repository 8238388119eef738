"""Data protection: what makes Safeguard safe to pour customer conversations into (issue 4).

The app owns the screening of every incoming text (`services.screen`: card numbers become vault
tokens, other findings are masked, hashed, dropped or kept per field policy), the card-token
vault (tokenize, metadata, audited detokenize), encrypted model fields with blind indexes, the
key hierarchy (Tink keysets wrapped by a key-encryption key from the dev, split-knowledge or KMS
provider), key rotation, the no-PAN guard that refuses any write of a card number outside the
vault, and the operator CLI (`safeguard keys`, `safeguard protection rescan`, `safeguard scan`).
The pure scanner lives in `protection.scanner` and imports no Django. R-OPS-2, R-OPS-4, R-DATA-2,
R-DATA-4, R-WORK-4.
"""
