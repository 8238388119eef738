"""Fixtures of the cross-cutting security tests: the channel tests' own (our smtpd on loopback,
mail routing, the webhook secret), reused as they are."""

from tests.channels.conftest import mail_routes, smtpd, webhook_secret  # noqa: F401
