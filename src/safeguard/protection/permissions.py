"""Permissions declared by the protection app (R-OPS-2, R-OPS-4, R-OPS-8, R-WORK-4)."""

from safeguard.accounts import rbac

TOKENIZE = rbac.declare(
    "protection.tokenize",
    "Tokenize a card number into the vault through the API. Service accounts only (a payment "
    "gateway or IVR integration), rate-limited per caller and audited; staff never tokenize by "
    "hand: card numbers they receive are tokenized by screening",
)
DETOKENIZE = rbac.declare(
    "protection.detokenize",
    "Reveal the card number behind a token (payment-gateway hand-off). No role holds it: grant "
    "it to the gateway's service account through a custom role; a human also needs a fresh "
    "second factor and a reason",
    sensitive=True,
)
TOKEN_METADATA = rbac.declare(
    "protection.token_metadata", "See a token's brand and last four digits",
    roles=("agent", "supervisor"), read_only=True,
)
SCAN = rbac.declare(
    "protection.scan", "Scan text for sensitive data through the API (findings, never values)",
    roles=("security_analyst", "privacy_officer", "administrator"), read_only=True,
)
KEYS_VIEW = rbac.declare(
    "protection.keys_view", "See key status: provider, sealed state, key ages, rotation jobs",
    roles=("administrator", "security_analyst", "compliance_manager"), read_only=True,
)
KEYS_MANAGE = rbac.declare(
    "protection.keys_manage", "Rotate encryption keys (with a fresh second factor)",
    roles=("administrator",), sensitive=True,
)
