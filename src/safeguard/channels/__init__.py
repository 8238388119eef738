"""Channels: thin adapters that turn e-mail, web chat, voice events, the web form and API
ingest into calls of ``cases.services``, and deliver outbound e-mail for ``cases.outbound``.

The app owns no customer data: screening happens inside ``cases.services``; channels persist
only their own bookkeeping (the IMAP cursor) and never raw message text.
"""
