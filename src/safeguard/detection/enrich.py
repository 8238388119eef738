"""Audit events -> the engine's event dicts, with the facts rules need about who acted.

The engine is pure (engine/contracts.py): it cannot ask the database which roles an agent
holds. So each event dict carries a ``context`` mapping the Django side fills in, per batch, from
the public selectors of the apps below detection and from settings (docs/detection.md,
"Context facts"). A fact that cannot be known is left out, never guessed; a rule that names an
absent fact does not match.

========================  =====================================================================
``actor_user_id``         the staff user behind a ``user`` or ``token`` actor (a token acts for
                          its user); absent for jobs and anonymous callers
``actor_roles``           that user's role slugs, sorted
``actor_queues``          the slugs of the case queues the user works, sorted
``actor_is_service_account``  True for a service account, False for a person
``role`` / ``queue``      the first of each (UEBA's peer group is ``role/queue``)
``actor_shift``           the shift of SAFEGUARD_DETECTION_SHIFTS that applies to the user
``on_shift``              whether the event's time falls in that shift (absent without one)
``in_change_window``      whether the event's time falls in a window of
                          SAFEGUARD_DETECTION_CHANGE_WINDOWS (absent when none is configured)
``subject_flags``         flags of a customer subject from SAFEGUARD_DETECTION_FLAGGED_CUSTOMERS
``assigned``              for a flagged customer only: whether the customer is in the acting
                          user's case scope (a case of theirs in the user's queues or assigned)
``token_owner_human``     on ``api_token.*`` events: whether the token's account is a person
========================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import Principal, UserNotFound, UserView
from safeguard.audit.contracts import EventView
from safeguard.cases import selectors as cases
from safeguard.customers import selectors as customers


def event_dict(e: EventView) -> dict[str, Any]:
    """The contract's event shape (engine/contracts.py) of one audit event, without context."""
    return {
        "seq": e.seq, "at": e.at, "action": e.action, "outcome": e.outcome,
        "actor": {"kind": e.actor.kind, "id": e.actor.id, "label": e.actor.label},
        "subject": {"type": e.subject_type, "id": e.subject_id},
        "source_ip": e.source_ip or None, "user_agent": e.user_agent or None,
        "request_id": e.request_id or None, "data": dict(e.data),
    }


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def in_window(window: Mapping[str, Any], at: datetime) -> bool:
    """Whether ``at`` falls in a weekly window {"start": "HH:MM", "end": "HH:MM", "tz": ...,
    "days": [0..6]} (Monday 0; default every day). An end before the start spans midnight: the
    part after midnight belongs to the day the window started."""
    try:
        tz = ZoneInfo(str(window.get("tz") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    days = set(window.get("days", range(7)))
    start, end = _minutes(str(window["start"])), _minutes(str(window["end"]))
    now = local.hour * 60 + local.minute
    if start <= end:
        return local.weekday() in days and start <= now < end
    if now >= start:
        return local.weekday() in days
    return now < end and (local.weekday() - 1) % 7 in days


def shift_for(*, roles: Iterable[str], queues: Iterable[str]) -> dict[str, Any] | None:
    """The shift of SAFEGUARD_DETECTION_SHIFTS that applies: the first queue with one, then
    the first role with one, then ``*``; None when the setting names none of them."""
    shifts: dict[str, dict[str, Any]] = settings.SAFEGUARD_DETECTION_SHIFTS
    for key in [f"queue:{q}" for q in queues] + [f"role:{r}" for r in sorted(roles)] + ["*"]:
        if key in shifts:
            return dict(shifts[key])
    return None


class Enricher:
    """Looks facts up once per actor, token and (user, customer) pair per batch: a batch of 500
    events by one agent costs a handful of queries, not 500."""

    def __init__(self) -> None:
        self._users: dict[str, tuple[UserView | None, dict[str, Any]]] = {}
        self._token_owner: dict[str, bool | None] = {}
        self._scope: dict[tuple[int, str], bool] = {}
        self._flags: dict[str, list[str]] = {
            str(k): sorted(str(f) for f in v)
            for k, v in settings.SAFEGUARD_DETECTION_FLAGGED_CUSTOMERS.items()}
        self._change_windows: list[Mapping[str, Any]] = list(
            settings.SAFEGUARD_DETECTION_CHANGE_WINDOWS)

    def _user(self, kind: str, ident: str, label: str) -> tuple[UserView | None, dict[str, Any]]:
        key = f"{kind}:{ident}:{label}"
        if key in self._users:
            return self._users[key]
        user: UserView | None = None
        try:
            if kind == "user" and ident.isdigit():
                user = accounts.user_get(user_id=int(ident))
            elif kind == "token" and label:
                user = accounts.user_get_by_email(email=label)
        except UserNotFound:
            user = None
        facts: dict[str, Any] = {}
        if user is not None:
            principal = Principal(user_id=user.id, email=user.email, permissions=frozenset(),
                                  via="session")
            queues = sorted(q.slug for q in cases.queue_list_for(principal=principal))
            roles = sorted(user.roles)
            facts = {"actor_user_id": user.id, "actor_roles": roles, "actor_queues": queues,
                     "actor_is_service_account": user.is_service_account}
            if roles:
                facts["role"] = roles[0]
            if queues:
                facts["queue"] = queues[0]
            shift = shift_for(roles=roles, queues=queues)
            if shift is not None:
                facts["actor_shift"] = shift
        self._users[key] = (user, facts)
        return user, facts

    def _token_human(self, token_id: str, owner_id: object) -> bool | None:
        if token_id not in self._token_owner:
            owner = None
            if isinstance(owner_id, int):
                try:
                    owner = not accounts.user_get(user_id=owner_id).is_service_account
                except UserNotFound:
                    owner = None
            elif token_id.isdigit():
                token = next((t for t in accounts.token_list() if t.id == int(token_id)), None)
                if token is not None:
                    try:
                        owner = not accounts.user_get_by_email(
                            email=token.user_email).is_service_account
                    except UserNotFound:
                        owner = None
            self._token_owner[token_id] = owner
        return self._token_owner[token_id]

    def _in_scope(self, user: UserView, customer_id: str) -> bool:
        key = (user.id, customer_id)
        if key not in self._scope:
            viewer = Principal(user_id=user.id, email=user.email,
                               permissions=accounts.user_permissions(user_id=user.id),
                               via="session")
            self._scope[key] = customers.customer_in_scope(viewer=viewer, customer_id=customer_id)
        return self._scope[key]

    def enrich(self, e: EventView) -> dict[str, Any]:
        """One event dict with its ``context``."""
        event = event_dict(e)
        user, facts = self._user(e.actor.kind, e.actor.id, e.actor.label)
        context = dict(facts)
        if "actor_shift" in context:
            context["on_shift"] = in_window(context["actor_shift"], e.at)
        if self._change_windows:
            context["in_change_window"] = any(in_window(w, e.at) for w in self._change_windows)
        if e.subject_type == "customer" and e.subject_id in self._flags:
            context["subject_flags"] = self._flags[e.subject_id]
            if user is not None:
                context["assigned"] = self._in_scope(user, e.subject_id)
        if e.action.startswith("api_token.") and e.subject_type == "api_token":
            human = self._token_human(e.subject_id, e.data.get("user"))
            if human is not None:
                context["token_owner_human"] = human
        event["context"] = context
        return event

    def enrich_all(self, events: Iterable[EventView]) -> list[dict[str, Any]]:
        return [self.enrich(e) for e in events]
