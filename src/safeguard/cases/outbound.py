"""The outbound registry (decision 0006 §3): cases decide what to send, channels send it.

``channels`` registers one sender per channel in its ``AppConfig.ready()``::

    from safeguard.cases import outbound
    outbound.register("email", send_email)   # send_email(message: OutboundMessage) -> str

A sender delivers one message and returns its external id (the e-mail Message-ID), which
threads the customer's answer back to the case. It raises to report a failure; the message then
shows as failed to the agent. A channel without a sender leaves messages "not delivered" —
visible, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from safeguard.cases.contracts import ContactCodeMail, OutboundMessage
from safeguard.cases.enums import Channel

Sender = Callable[[OutboundMessage], str]
CodeSender = Callable[[ContactCodeMail], None]

_senders: dict[str, Sender] = {}
_code_senders: list[CodeSender] = []


def register(channel: str, sender: Sender) -> None:
    """Make ``sender`` the one that delivers ``channel``'s outbound messages (last one wins)."""
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}; use one of {sorted(Channel.values)}")
    _senders[channel] = sender


def unregister(channel: str) -> None:
    """Forget ``channel``'s sender (tests, or a channel switched off)."""
    _senders.pop(channel, None)


def sender_for(channel: str) -> Sender | None:
    """The registered sender of ``channel``, or None."""
    return _senders.get(channel)


def registered() -> frozenset[str]:
    """The channels that currently have a sender."""
    return frozenset(_senders)


def register_code_sender(sender: CodeSender | None) -> None:
    """Make ``sender`` the one that e-mails verification codes to a contact's address on file
    (the e-mail channel registers it; None forgets it)."""
    _code_senders[:] = [sender] if sender is not None else []


def code_sender() -> CodeSender | None:
    """The registered verification-code sender, or None."""
    return _code_senders[0] if _code_senders else None
