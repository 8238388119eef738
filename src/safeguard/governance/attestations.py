"""Manual controls: controls with no automated check, attested by their owner with evidence on a
cadence (R-REG-1, decision 0246; docs/governance.md "Manual controls and attestations").

A control of the library whose check is ``manual`` has an owner (a staff user, assigned here), a
cadence in days (``cadence_days`` in ``controls.yaml``, else
SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS) and attestations: who, when, a statement and an
evidence file sealed on disk (``governance.evidence``). Its status, computed at every evaluation
run like any automated check and kept in the same history:

* ``pass`` while the latest attestation is younger than the cadence and its evidence file
  still passes its integrity check;
* ``fail`` once it is older (overdue), or when its evidence file was altered or lost;
* ``unavailable`` when the control was never attested: never ``pass`` without an attestation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import UserNotFound
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance import evidence, selectors
from safeguard.governance.contracts import CheckResult, GovernanceError, UnknownControl
from safeguard.governance.enums import ControlStatus
from safeguard.governance.library import Control
from safeguard.governance.models import Attestation, ControlOwner
from safeguard.protection import services as protection

logger = logging.getLogger(__name__)
STATEMENT_MAX = 2000


class AttestationRefused(GovernanceError):
    status = 400
    code = "attestation-refused"
    title = "Attestation refused"


@dataclass(frozen=True)
class AttestationView:
    id: int
    control_id: str
    attested_by: str
    attested_at: datetime
    valid_until: datetime
    statement: str
    evidence: evidence.EvidenceView


@dataclass(frozen=True)
class ManualControlView:
    """A manual control with its owner, cadence and where its latest attestation leaves it."""

    id: str
    title: str
    description: str
    cadence_days: int
    owner_id: int | None
    owner: str
    latest: AttestationView | None
    due_on: date | None  # None: never attested (due now)
    status: str
    evidence: str


def cadence_of(control: Control) -> int:
    """The control's cadence in days: its own, else the setting."""
    return control.cadence_days or int(settings.SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS)


def manual_controls() -> list[Control]:
    return [c for c in selectors.library().controls if c.manual]


def _control(control_id: str) -> Control:
    control = selectors.library().control(control_id)
    if control is None or not control.manual:
        raise UnknownControl(f"No manual control {control_id!r} in the library.")
    return control


def _view(row: Attestation, cadence: int) -> AttestationView:
    return AttestationView(id=row.id, control_id=row.control_id,
                           attested_by=row.attested_by.email, attested_at=row.attested_at,
                           valid_until=row.attested_at + timedelta(days=cadence),
                           statement=row.statement,
                           evidence=evidence.evidence_view(row.evidence))


def attestation_list(*, control_id: str, limit: int = 100) -> list[AttestationView]:
    """A manual control's attestations, newest first."""
    cadence = cadence_of(_control(control_id))
    rows = (Attestation.objects.filter(control_id=control_id).select_related(
        "attested_by", "evidence").order_by("-attested_at", "-id")[:limit])
    return [_view(r, cadence) for r in rows]


def _status(control: Control, latest: AttestationView | None, now: datetime,
            *, intact: bool | None) -> tuple[str, str]:
    cadence = cadence_of(control)
    if latest is None:
        return (ControlStatus.UNAVAILABLE.value,
                (f"Never attested: a manual control needs an attestation with evidence by its "
                f"owner every {cadence} days."))
    said = (f"Attested by {latest.attested_by} on {latest.attested_at:%Y-%m-%d %H:%M} UTC "
            f"(evidence {latest.evidence.name}, SHA-256 {latest.evidence.sha256[:12]}…); "
            f"cadence {cadence} days, valid until {latest.valid_until:%Y-%m-%d %H:%M} UTC")
    if intact is False or latest.evidence.tampered_at is not None:
        return ControlStatus.FAIL.value, f"{said}. Its evidence file failed its integrity check."
    if now >= latest.valid_until:
        days = (now - latest.valid_until).days
        return ControlStatus.FAIL.value, f"{said}: OVERDUE by {days} day(s)."
    return ControlStatus.PASS.value, f"{said}."


def _owners() -> dict[str, ControlOwner]:
    return {o.control_id: o for o in ControlOwner.objects.select_related("owner")}


def manual_control_list(*, now: datetime | None = None) -> list[ManualControlView]:
    """Every manual control with owner, cadence, latest attestation, due date and live status
    (computed now; the framework view shows the status stored by the last evaluation run)."""
    now = now or timezone.now()
    owners = _owners()
    return [_manual_view(c, owners.get(c.id), now) for c in manual_controls()]


def _manual_view(c: Control, owner: ControlOwner | None, now: datetime) -> ManualControlView:
    cadence = cadence_of(c)
    row = (Attestation.objects.filter(control_id=c.id).select_related("attested_by", "evidence")
           .order_by("-attested_at", "-id").first())
    latest = _view(row, cadence) if row else None
    status, text = _status(c, latest, now, intact=None)
    return ManualControlView(
        id=c.id, title=c.title, description=c.description, cadence_days=cadence,
        owner_id=owner.owner_id if owner else None,
        owner=owner.owner.email if owner else "",
        latest=latest, due_on=latest.valid_until.date() if latest else None,
        status=status, evidence=text)


def manual_control_get(*, control_id: str, now: datetime | None = None) -> ManualControlView:
    c = _control(control_id)
    return _manual_view(c, ControlOwner.objects.select_related("owner")
                        .filter(control_id=c.id).first(), now or timezone.now())


def evaluate(control: Control) -> CheckResult:
    """The status of a manual control for an evaluation run: the latest attestation against the
    cadence, with its evidence file checked on disk (an altered file fails the control). A crash
    is ``unavailable`` with the reason, never ``pass``."""
    try:
        with transaction.atomic():
            return _evaluate(control)
    except Exception as exc:  # one broken control must not stop the run
        logger.exception("governance.attestation_check_failed", extra={"control": control.id})
        return CheckResult(ControlStatus.UNAVAILABLE.value,
                           f"The attestation check raised {type(exc).__name__}.")


def _evaluate(control: Control) -> CheckResult:
    now = timezone.now()
    cadence = cadence_of(control)
    row = (Attestation.objects.filter(control_id=control.id)
           .select_related("attested_by", "evidence").order_by("-attested_at", "-id").first())
    if row is None:
        status, text = _status(control, None, now, intact=None)
        return CheckResult(status, text)
    intact = evidence.verify(file_id=str(row.evidence_id),
                             actor=Actor.system("governance.evaluate_controls"))
    row.evidence.refresh_from_db()
    status, text = _status(control, _view(row, cadence), now, intact=intact)
    owner = ControlOwner.objects.select_related("owner").filter(control_id=control.id).first()
    if owner is None:
        text += " No owner is assigned."
    return CheckResult(status, text)


# --- writes ------------------------------------------------------------------------------------

@transaction.atomic
def owner_assign(*, control_id: str, owner_id: int, actor: Actor) -> ManualControlView:
    """Make ``owner_id`` (an active staff member, not a service account) the control's owner,
    who alone may attest it."""
    c = _control(control_id)
    try:
        user = accounts.user_get(user_id=owner_id)
    except UserNotFound:
        raise AttestationRefused("No such staff member.") from None
    if not user.is_active or user.is_service_account:
        raise AttestationRefused("The owner must be an active staff member, not a service "
                                 "account.")
    previous = ControlOwner.objects.select_for_update().filter(control_id=c.id).first()
    before = previous.owner_id if previous else None
    if previous is None:
        ControlOwner.objects.create(control_id=c.id, owner_id=user.id,
                                    assigned_by=actor.label[:254], assigned_at=timezone.now())
    else:
        previous.owner_id = user.id
        previous.assigned_by = actor.label[:254]
        previous.assigned_at = timezone.now()
        previous.save(update_fields=["owner", "assigned_by", "assigned_at"])
    audit.record(action="governance.control_owner_assigned", actor=actor,
                 subject=("control", c.id), data={"from": before, "to": user.id})
    return manual_control_get(control_id=c.id)


@transaction.atomic
def attest(*, control_id: str, statement: str, content: bytes, file_name: str,
           actor: Actor, user_id: int) -> AttestationView:
    """Record the owner's attestation of a manual control with its evidence file. Only the
    control's owner may attest; the statement is required; the file must pass the evidence
    rules. Nothing is stored when anything is refused."""
    c = _control(control_id)
    owner = ControlOwner.objects.filter(control_id=c.id).first()
    if owner is None:
        raise AttestationRefused("This control has no owner yet; assign one first.")
    if owner.owner_id != user_id:
        raise AttestationRefused("Only the control's owner may attest it.")
    text = " ".join((statement or "").split())
    if not text:
        raise AttestationRefused("Write what you checked and found (the statement).")
    if len(text) > STATEMENT_MAX:
        raise AttestationRefused(f"The statement is longer than {STATEMENT_MAX} characters.")
    clean = protection.screen(text, field="governance.attestation.statement").text
    stored = evidence.store(content=content, name=file_name, actor=actor)
    row = Attestation.objects.create(control_id=c.id, attested_by_id=user_id,
                                     attested_at=timezone.now(), statement=clean,
                                     evidence=stored)
    audit.record(action="governance.control_attested", actor=actor, subject=("control", c.id),
                 data={"attestation": row.id, "evidence": str(stored.id),
                       "sha256": stored.sha256, "cadence_days": cadence_of(c)})
    row = Attestation.objects.select_related("attested_by", "evidence").get(id=row.id)
    return _view(row, cadence_of(c))


def due_dates() -> list[tuple[ManualControlView, date]]:
    """For the calendar: each manual control and the date its next attestation is due (today
    when it was never attested)."""
    today = timezone.localdate()
    return [(m, m.due_on or today) for m in manual_control_list()]
