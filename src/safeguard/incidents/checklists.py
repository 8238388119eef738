"""An incident's playbook checklist (R-IR-1, R-IR-7; decision 0225): pinning the playbook
version of its category, copying its items with due times from awareness, checking items off.

Writes are audited with the incident as subject; reads return frozen views. The YAML is read
only when a checklist is made: the items are copied, so a new playbook version never rewrites
an open incident's checklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.accounts import selectors as account_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.incidents import playbooks
from safeguard.incidents.contracts import IncidentError, IncidentNotFound
from safeguard.incidents.enums import Category, IncidentRole, State
from safeguard.incidents.models import ChecklistItem, Incident, PlaybookPin, RoleAssignment
from safeguard.protection import services as protection


@dataclass(frozen=True)
class PinView:
    category: str
    version: int
    file: str
    sha256: str
    pinned_at: datetime
    pinned_by: str

    @property
    def reference(self) -> str:
        return f"{self.file} v{self.version}"


@dataclass(frozen=True)
class ChecklistItemView:
    id: int
    stage: str
    key: str
    text: str
    owner_role: str
    owner_role_label: str
    owner: str  # the current holder of the role, or "" when nobody holds it
    due_at: datetime
    done_at: datetime | None
    done_by: str
    note: str
    overdue: bool  # open and past due
    late: bool  # done after its due time


@dataclass(frozen=True)
class StageView:
    stage: str
    label: str
    items: tuple[ChecklistItemView, ...]
    done: int


@dataclass(frozen=True)
class ChecklistView:
    pin: PinView | None
    stages: tuple[StageView, ...]
    overdue: int
    problem: str  # why no checklist could be made (a playbook that does not load), or ""
    current_version: int | None  # the version the playbook directory holds now


def catalogue() -> dict[str, playbooks.Playbook]:
    """The playbooks in use (SAFEGUARD_INCIDENTS_PLAYBOOK_DIR or the shipped ones)."""
    return playbooks.catalogue(settings.SAFEGUARD_INCIDENTS_PLAYBOOK_DIR or None)


def _subject(incident_id: int) -> tuple[str, object]:
    return ("incident", incident_id)


def checklist_instantiate(*, actor: Actor, incident_id: int) -> PinView:
    """Pin the current playbook version of the incident's category and copy its items, each
    due ``due_hours`` after awareness. An incident pins once; a playbook that does not load is
    an error naming the file and field (nothing is written)."""
    with transaction.atomic():
        row = Incident.objects.select_for_update().filter(id=incident_id).first()
        if row is None:
            raise IncidentNotFound(f"No incident {incident_id}.")
        if row.state == State.CLOSED:
            raise IncidentError("The incident is closed.")
        if PlaybookPin.objects.filter(incident=row).exists():
            raise IncidentError("This incident already follows a playbook version.")
        try:
            book = catalogue()[row.category]
        except (OSError, playbooks.PlaybookError) as exc:
            raise IncidentError(f"The playbooks cannot be loaded: {exc}") from exc
        pin = PlaybookPin.objects.create(
            incident=row, category=book.category, version=book.version, file=book.file,
            sha256=book.sha256, pinned_at=timezone.now(), pinned_by=actor.label[:200])
        ChecklistItem.objects.bulk_create([
            ChecklistItem(incident=row, position=n, stage=item.stage, key=item.key,
                          text=item.text, owner_role=item.owner,
                          due_at=row.aware_at + timedelta(hours=item.due_hours))
            for n, item in enumerate(book.items)])
        audit.record(action="incident.playbook_pinned", actor=actor, subject=_subject(row.id),
                     data={"playbook": book.file, "version": book.version,
                           "sha256": book.sha256, "items": len(book.items)})
        return _pin_view(pin)


def checklist_instantiate_on_open(*, actor: Actor, incident_id: int) -> None:
    """At opening: make the checklist, or — when the playbooks do not load — record why and
    open the incident anyway (a broken file must never stop incident response; E526 says it)."""
    try:
        with transaction.atomic():
            checklist_instantiate(actor=actor, incident_id=incident_id)
    except IncidentError as exc:
        audit.record(action="incident.playbook_unavailable", actor=actor, outcome="failure",
                     subject=_subject(incident_id), data={"problem": exc.detail[:300]})


@transaction.atomic
def incident_category_set(*, actor: Actor, incident_id: int, category: str) -> PinView | None:
    """Change an open incident's category (triage often corrects it) and follow the new
    category's playbook: the pin moves to its current version, items not yet checked off are
    replaced by the new playbook's, items already checked off stay as the record of what was
    done. Returns the new pin, or None when the playbooks do not load (the category changes
    anyway, the checklist is left as it was, and the page says why)."""
    if category not in Category.values:
        raise IncidentError(f"Unknown category {category!r}.")
    row = Incident.objects.select_for_update().filter(id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No incident {incident_id}.")
    if row.state == State.CLOSED:
        raise IncidentError("The incident is closed.")
    if row.category == category:
        raise IncidentError(f"The incident is already in category {category}.")
    before = row.category
    row.category = category
    row.save(update_fields=["category", "updated_at"])
    audit.record(action="incident.category_changed", actor=actor, subject=_subject(row.id),
                 data={"from": before, "to": category})
    try:
        book = catalogue()[category]
    except (OSError, playbooks.PlaybookError) as exc:
        audit.record(action="incident.playbook_unavailable", actor=actor, outcome="failure",
                     subject=_subject(row.id), data={"problem": str(exc)[:300]})
        return None
    ChecklistItem.objects.filter(incident=row, done_at__isnull=True).delete()
    kept = set(ChecklistItem.objects.filter(incident=row).values_list("key", flat=True))
    start = len(kept)
    ChecklistItem.objects.bulk_create([
        ChecklistItem(incident=row, position=start + n, stage=item.stage, key=item.key,
                      text=item.text, owner_role=item.owner,
                      due_at=row.aware_at + timedelta(hours=item.due_hours))
        for n, item in enumerate(i for i in book.items if i.key not in kept)])
    pin, _ = PlaybookPin.objects.update_or_create(incident=row, defaults={
        "category": book.category, "version": book.version, "file": book.file,
        "sha256": book.sha256, "pinned_at": timezone.now(), "pinned_by": actor.label[:200]})
    audit.record(action="incident.playbook_pinned", actor=actor, subject=_subject(row.id),
                 data={"playbook": book.file, "version": book.version, "sha256": book.sha256,
                       "items": len(book.items), "kept_done": len(kept)})
    return _pin_view(pin)


@transaction.atomic
def checklist_item_check(*, actor: Actor, incident_id: int, item_id: int,
                         note: str = "") -> ChecklistItemView:
    """Check an item off: who, when and an optional note (screened), audited. An item is
    checked once; a closed incident's checklist is final."""
    row = Incident.objects.select_for_update().filter(id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No incident {incident_id}.")
    if row.state == State.CLOSED:
        raise IncidentError("The incident is closed: its checklist is final.")
    item = ChecklistItem.objects.select_for_update().filter(id=item_id, incident=row).first()
    if item is None:
        raise IncidentNotFound(f"No checklist item {item_id} on incident {incident_id}.")
    if item.done_at is not None:
        raise IncidentError(f"That item was already checked off by {item.done_by}.")
    cleaned = (note or "").strip()
    if len(cleaned) > 500:
        raise IncidentError("Note is longer than 500 characters.")
    item.note = protection.screen(cleaned, field="incidents.checklist_note").text
    item.done_at, item.done_by = timezone.now(), actor.label[:200]
    item.save(update_fields=["note", "done_at", "done_by"])
    audit.record(action="incident.checklist_checked", actor=actor, subject=_subject(row.id),
                 data={"item": item.id, "key": item.key, "stage": item.stage,
                       "late": item.done_at > item.due_at})
    return _item_views([item], _holders(row.id), item.done_at)[0]


# --- reads ---------------------------------------------------------------------------------

def _pin_view(pin: PlaybookPin) -> PinView:
    return PinView(category=pin.category, version=pin.version, file=pin.file, sha256=pin.sha256,
                   pinned_at=pin.pinned_at, pinned_by=pin.pinned_by)


def _holders(incident_id: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for a in RoleAssignment.objects.filter(incident_id=incident_id, ended_at__isnull=True):
        out[a.role] = account_selectors.user_get(user_id=a.user_id).email
    return out


def _item_views(rows: list[ChecklistItem], holders: dict[str, str],
                now: datetime) -> list[ChecklistItemView]:
    return [ChecklistItemView(
        id=r.id, stage=r.stage, key=r.key, text=r.text, owner_role=r.owner_role,
        owner_role_label=IncidentRole(r.owner_role).label, owner=holders.get(r.owner_role, ""),
        due_at=r.due_at, done_at=r.done_at, done_by=r.done_by, note=r.note,
        overdue=r.done_at is None and now > r.due_at,
        late=r.done_at is not None and r.done_at > r.due_at) for r in rows]


def pin_get(*, incident_id: int) -> PinView | None:
    """The playbook version an incident follows, or None."""
    pin = PlaybookPin.objects.filter(incident_id=incident_id).first()
    return _pin_view(pin) if pin else None


def checklist_get(*, incident_id: int, now: datetime | None = None) -> ChecklistView:
    """The incident's checklist by stage (R-IR-7 order), each item with the person holding its
    owner role, its due time and whether it is overdue."""
    now = now or timezone.now()
    pin = pin_get(incident_id=incident_id)
    problem, current = "", None
    category = Incident.objects.filter(id=incident_id).values_list("category", flat=True).first()
    try:
        book = catalogue().get(category or "")
        current = book.version if book else None
    except (OSError, playbooks.PlaybookError) as exc:
        problem = str(exc)
    rows = list(ChecklistItem.objects.filter(incident_id=incident_id).order_by("position", "id"))
    views = _item_views(rows, _holders(incident_id), now)
    stages = tuple(
        StageView(stage=s, label=label, items=tuple(v for v in views if v.stage == s),
                  done=sum(1 for v in views if v.stage == s and v.done_at is not None))
        for s, label in playbooks.STAGES)
    return ChecklistView(pin=pin, stages=stages, overdue=sum(1 for v in views if v.overdue),
                         problem=problem, current_version=current)
