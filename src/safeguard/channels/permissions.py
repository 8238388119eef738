"""Permissions declared by the channels app (R-OPS-8).

``channels.ingest`` is for integration service accounts (a custom role holding it, then an API
token scoped to it); no human role holds it by default. The customer-facing pages (chat, contact
form) and the signed voice webhook are ``@public`` by declaration: they authenticate by a
per-conversation secret or an HMAC signature, not by staff login.
"""

from safeguard.accounts import rbac

INGEST = rbac.declare(
    "channels.ingest", "Submit customer messages through the REST ingest API (integrations)",
)
MANAGE = rbac.declare(
    "channels.manage", "See the channel settings page (mail routing, IMAP state, webhooks)",
    roles=("administrator",),
)

rbac.nav("Channels", url_name="channels:settings", permission=MANAGE, order=940)
