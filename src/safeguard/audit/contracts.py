"""Public contracts of the audit log: who acted, and what the log hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ActorKind = Literal["user", "token", "system", "anonymous"]


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff user, an API token (on behalf of its user), a job, or nobody."""

    kind: ActorKind
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, job: str) -> Actor:
        """A scheduled job or command acting on its own authority."""
        return cls(kind="system", id=job, label=job)

    @classmethod
    def anonymous(cls, label: str = "") -> Actor:
        """An unauthenticated caller (a failed login names the attempted account in data)."""
        return cls(kind="anonymous", id="", label=label)


@dataclass(frozen=True)
class EventView:
    """One recorded event, as the log hands it out (no ORM object leaves the app)."""

    seq: int
    at: datetime
    actor: Actor
    action: str
    subject_type: str
    subject_id: str
    outcome: str
    source_ip: str | None
    user_agent: str
    request_id: str
    data: dict[str, Any] = field(default_factory=dict)
