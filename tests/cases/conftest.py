"""Fixtures of the cases tests: private keys per test, queues, agents, a fake outbound sender."""

from __future__ import annotations

import pytest

from safeguard.accounts.contracts import Principal
from safeguard.accounts.selectors import user_permissions
from safeguard.cases import outbound, services
from safeguard.cases.contracts import SenderIn
from tests.factories import SYSTEM, make_user

PAN_VISA = "4111111111111111"




@pytest.fixture(autouse=True)
def _no_senders():
    """No test inherits another's outbound senders (channels may register real ones)."""
    saved = {c: outbound.sender_for(c) for c in outbound.registered()}
    for c in list(saved):
        outbound.unregister(c)
    yield
    for c in list(outbound.registered()):
        outbound.unregister(c)
    for c, s in saved.items():
        if s is not None:
            outbound.register(c, s)


def principal_for(user) -> Principal:
    """The principal of a signed-in user, as a page request would build it."""
    return Principal(user_id=user.pk, email=user.email,
                     permissions=user_permissions(user_id=user.pk), via="session")


def make_queue(slug: str = "billing", **targets) -> str:
    services.queue_create(actor=SYSTEM, slug=slug, name=slug.title(), **targets)
    return slug


def make_agent(*queues: str, roles=("agent",), supervisor: bool = False, **extra):
    user = make_user(roles=roles, **extra)
    for q in queues:
        services.queue_member_add(actor=SYSTEM, slug=q, user_id=user.pk,
                                  is_supervisor=supervisor)
    return user


def inbound(text: str = "Hello, my parcel is late.", *, email: str = "ann@example.com",
            queue: str | None = "billing", **kwargs):
    """A customer e-mail through the ingest contract."""
    kwargs.setdefault("subject", "Parcel")
    return services.message_receive(channel=kwargs.pop("channel", "email"),
                                    sender=SenderIn(email=email, name="Ann Lee"), text=text,
                                    queue=queue, **kwargs)
