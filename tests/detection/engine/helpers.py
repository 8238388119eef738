"""Small builders for engine tests: events and inline rule packs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from safeguard.detection.engine import RulePack, compile_pack

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ev(seq: int, action: str, *, secs: float = 0, actor: str = "7", kind: str = "user",
       outcome: str = "success", subject: tuple[str, str] | None = ("customer", "c1"),
       ip: str | None = "192.0.2.10", ua: str | None = "Firefox/130",
       data: dict[str, Any] | None = None, context: dict[str, Any] | None = None,
       ) -> dict[str, Any]:
    """One audit event in the engine's contract shape, ``secs`` after T0."""
    return {"seq": seq, "at": T0 + timedelta(seconds=secs), "action": action,
            "outcome": outcome, "actor": {"kind": kind, "id": actor, "label": f"{actor}@x"},
            "subject": {"type": subject[0], "id": subject[1]} if subject else None,
            "source_ip": ip, "user_agent": ua, "request_id": None, "data": data or {},
            "context": context or {}}


HEADER = """title: {title}
id: {id}
logsource:
  product: safeguard
"""


def pack(*docs: str, path: str = "test.yml") -> RulePack:
    """A pack from YAML documents (joined with ``---``)."""
    return compile_pack([(path, "\n---\n".join(docs))])


def rule(detection: str, *, rid: str = "00000000-0000-4000-8000-000000000001",
         title: str = "T", extra: str = "") -> str:
    """A single-event rule document with the given (indented) detection block."""
    return HEADER.format(title=title, id=rid) + "detection:\n" + detection + extra
