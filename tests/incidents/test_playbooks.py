"""Playbooks (R-IR-1, R-IR-7; decision 0225): versioned YAML per category validated at load
(a bad file is check E526 naming file and field), a checklist pinned to the incident at
opening with due times from awareness, owners, overdue items, check-off audited; a new
playbook version never rewrites an open incident's checklist."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
import yaml

from safeguard.audit import selectors as audit
from safeguard.audit.contracts import Actor
from safeguard.incidents import checklists, checks, playbooks, services
from safeguard.incidents.contracts import IncidentError, IncidentNotFound
from safeguard.incidents.enums import Category, IncidentRole
from safeguard.incidents.models import ChecklistItem, PlaybookPin
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ANALYST = Actor(kind="user", id="7", label="analyst@example.test")


@pytest.fixture
def book_dir(tmp_path, settings) -> Path:
    """A writable copy of the shipped playbooks, in use for the test."""
    target = tmp_path / "playbooks"
    shutil.copytree(playbooks.DEFAULT_DIR, target)
    settings.SAFEGUARD_INCIDENTS_PLAYBOOK_DIR = str(target)
    return target


def _open(category: str = "data_breach", aware: datetime | None = None) -> int:
    return services.incident_open(actor=ANALYST, title="Export of profiles", severity="sev2",
                                  category=category, aware_at=aware or NOW - timedelta(hours=1)).id


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_every_category_ships_a_valid_playbook_with_the_five_stages() -> None:
    books = playbooks.load_dir()
    assert sorted(books) == sorted(Category.values)
    for book in books.values():
        assert book.version >= 1
        assert {i.stage for i in book.items} == {s for s, _ in playbooks.STAGES}
        assert {i.owner for i in book.items} <= set(IncidentRole.values)
    assert checks.playbooks_load() == []


@pytest.mark.parametrize(("change", "field", "problem"), [
    (lambda d: d["stages"]["containment"][0].update(owner="ceo"),
     "stages.containment[0].owner", "unknown role 'ceo'"),
    (lambda d: d.pop("version"), "version", "whole number"),
    (lambda d: d.update(version=0), "version", "at least 1"),
    (lambda d: d["stages"].pop("notification"), "stages.notification", "at least one item"),
    (lambda d: d["stages"].update(celebration=[]), "stages.celebration", "unknown stage"),
    (lambda d: d["stages"]["review"][0].update(due_hours=-3), "stages.review[0].due_hours",
     "above 0"),
    (lambda d: d["stages"]["review"][0].update(due_hours="soon"),
     "stages.review[0].due_hours", "number of hours"),
    (lambda d: d["stages"]["review"][1].update(id=d["stages"]["review"][0]["id"]),
     "stages.review", "used twice"),
    (lambda d: d["stages"]["remediation"][0].pop("text"), "stages.remediation[0].text",
     "required"),
    (lambda d: d.update(category="vendor"), "category", "named vendor.yaml"),
    (lambda d: d.update(owner="x"), "owner", "unknown field"),
])
def test_a_bad_playbook_is_a_system_check_error_naming_file_and_field(
        book_dir, change, field, problem) -> None:
    _edit(book_dir / "phishing.yaml", change)
    errors = checks.playbooks_load()
    assert [e.id for e in errors] == ["safeguard.E526"]
    assert f"phishing.yaml: {field}: " in errors[0].msg
    assert problem in errors[0].msg


def test_a_missing_playbook_and_broken_yaml_are_named(book_dir) -> None:
    (book_dir / "vendor.yaml").unlink()
    assert "no playbook for vendor.yaml" in checks.playbooks_load()[0].msg
    (book_dir / "vendor.yaml").write_text("category: [unclosed\n")
    msg = checks.playbooks_load()[0].msg
    assert "vendor.yaml: (file): not valid YAML" in msg


def test_opening_pins_the_playbook_and_items_fall_due_from_awareness() -> None:
    aware = NOW - timedelta(hours=3)
    with time_machine.travel(NOW, tick=False):
        iid = _open("account_takeover", aware=aware)
    book = playbooks.load_dir()["account_takeover"]
    pin = PlaybookPin.objects.get(incident_id=iid)
    assert (pin.category, pin.version, pin.file, pin.sha256) == (
        "account_takeover", book.version, "account_takeover.yaml", book.sha256)
    rows = list(ChecklistItem.objects.filter(incident_id=iid).order_by("position"))
    assert [(r.stage, r.key, r.owner_role, r.due_at) for r in rows] == [
        (i.stage, i.key, i.owner, aware + timedelta(hours=i.due_hours)) for i in book.items]
    # the first containment item (disable the account) is due 1 h after awareness: overdue now
    view = checklists.checklist_get(incident_id=iid, now=NOW)
    first = view.stages[0].items[0]
    assert (first.key, first.due_at, first.overdue) == ("disable-account",
                                                       aware + timedelta(hours=1), True)
    assert view.overdue == sum(1 for i in book.items if aware + timedelta(hours=i.due_hours) < NOW)
    pinned = audit.event_list(action="incident.playbook_pinned")[0]
    assert pinned.data == {"playbook": "account_takeover.yaml", "version": book.version,
                           "sha256": book.sha256, "items": len(book.items)}


def test_a_new_playbook_version_does_not_rewrite_an_open_incidents_checklist(book_dir) -> None:
    with time_machine.travel(NOW, tick=False):
        first = _open()
    before = list(ChecklistItem.objects.filter(incident_id=first).values_list(
        "key", "text", "due_at"))

    def v2(d):  # type: ignore[no-untyped-def]
        d["version"] = 2
        d["stages"]["containment"][0]["text"] = "Scope the access (v2 wording)"
        d["stages"]["containment"][0]["due_hours"] = 1

    _edit(book_dir / "data_breach.yaml", v2)
    with time_machine.travel(NOW, tick=False):
        second = _open()
    assert list(ChecklistItem.objects.filter(incident_id=first).values_list(
        "key", "text", "due_at")) == before
    assert PlaybookPin.objects.get(incident_id=first).version == 1
    assert PlaybookPin.objects.get(incident_id=second).version == 2
    new = ChecklistItem.objects.get(incident_id=second, key="scope-access")
    assert (new.text, new.due_at) == ("Scope the access (v2 wording)",
                                      NOW - timedelta(hours=1) + timedelta(hours=1))
    view = checklists.checklist_get(incident_id=first, now=NOW)
    assert (view.pin.version, view.current_version) == (1, 2)  # type: ignore[union-attr]


def test_checking_off_records_who_when_and_note_once() -> None:
    with time_machine.travel(NOW, tick=False):
        iid = _open()
    item = ChecklistItem.objects.get(incident_id=iid, key="scope-access")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        done = checklists.checklist_item_check(actor=ANALYST, incident_id=iid, item_id=item.id,
                                               note="Two tokens, one address")
    assert (done.done_at, done.done_by, done.note, done.late) == (
        NOW + timedelta(minutes=5), "analyst@example.test", "Two tokens, one address", False)
    event = audit.event_list(action="incident.checklist_checked")[0]
    assert event.data == {"item": item.id, "key": "scope-access", "stage": "containment",
                          "late": False}
    # checking it again, a note too long, an item of another incident: refused, nothing changes
    with pytest.raises(IncidentError, match="already checked off"):
        checklists.checklist_item_check(actor=ANALYST, incident_id=iid, item_id=item.id)
    other = ChecklistItem.objects.get(incident_id=iid, key="revoke-credentials")
    with pytest.raises(IncidentError, match="longer than 500"):
        checklists.checklist_item_check(actor=ANALYST, incident_id=iid, item_id=other.id,
                                        note="x" * 501)
    with time_machine.travel(NOW, tick=False):
        second = _open()
    with pytest.raises(IncidentNotFound):
        checklists.checklist_item_check(actor=ANALYST, incident_id=second, item_id=other.id)
    assert ChecklistItem.objects.filter(done_at__isnull=False).count() == 1
    assert len(audit.event_list(action="incident.checklist_checked")) == 1


def test_a_broken_playbook_never_stops_an_incident_from_opening(book_dir) -> None:
    _edit(book_dir / "phishing.yaml", lambda d: d.update(version="two"))
    with time_machine.travel(NOW, tick=False):
        iid = _open("phishing")
    assert not PlaybookPin.objects.filter(incident_id=iid).exists()
    event = audit.event_list(action="incident.playbook_unavailable")[0]
    assert "phishing.yaml: version" in event.data["problem"]
    view = checklists.checklist_get(incident_id=iid)
    assert view.pin is None
    assert "phishing.yaml: version" in view.problem
    # once fixed, the checklist is made on request, and only once
    _edit(book_dir / "phishing.yaml", lambda d: d.update(version=3))
    pin = checklists.checklist_instantiate(actor=ANALYST, incident_id=iid)
    assert pin.reference == "phishing.yaml v3"
    with pytest.raises(IncidentError, match="already follows"):
        checklists.checklist_instantiate(actor=ANALYST, incident_id=iid)


def test_incident_page_shows_stages_owners_due_and_overdue_and_checks_off() -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    aware = datetime.now(tz=UTC) - timedelta(hours=5)
    iid = services.incident_open(actor=ANALYST, title="Stolen laptop", severity="sev2",
                                 category="data_breach", aware_at=aware).id
    staff.post(f"/incidents/{iid}/roles/", {"role": "forensics", "user": analyst.id})
    page = staff.get(f"/incidents/{iid}/").content.decode()
    assert "Following <strong>data_breach.yaml v1</strong>" in page
    for label in ("Containment", "Forensic preservation", "Notification", "Remediation",
                  "Post-incident review"):
        assert f"{label} <span" in page
    assert f"Forensics Lead: {analyst.email}" in page  # the owner is the role's holder
    assert "Incident Commander: <span class=\"muted\">unassigned</span>" in page
    # scope-access was due 2 h after awareness (5 h ago): overdue
    row = page[page.index('id="item-scope-access"'):]
    assert "overdue" in row[:row.index("</tr>")]
    item = ChecklistItem.objects.get(incident_id=iid, key="scope-access")
    response = staff.post(f"/incidents/{iid}/checklist/{item.id}/check/", {"note": "done"},
                          follow=True)
    assert "Item checked off." in response.content.decode()
    item.refresh_from_db()
    assert (item.done_by, item.note) == (analyst.email, "done")
    row = response.content.decode()
    row = row[row.index('id="item-scope-access"'):]
    assert "done late" in row[:row.index("</tr>")]
    # read-only holders may look, not check off; a bad item id changes nothing
    auditor = signed_in_client(make_user(roles=("auditor",)))
    other = ChecklistItem.objects.get(incident_id=iid, key="freeze-exports")
    assert auditor.post(f"/incidents/{iid}/checklist/{other.id}/check/").status_code == 403
    bad = staff.post(f"/incidents/{iid}/checklist/999999/check/", follow=True)
    assert "Nothing changed" in bad.content.decode()
    assert ChecklistItem.objects.filter(done_at__isnull=False).count() == 1


def test_review_page_names_the_pinned_playbook_version() -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = services.incident_open(actor=ANALYST, title="Phish", severity="sev3",
                                 category="phishing",
                                 aware_at=datetime.now(tz=UTC) - timedelta(hours=1)).id
    page = staff.get(f"/incidents/{iid}/review/").content.decode()
    assert "phishing.yaml v1" in page


def test_changing_the_category_follows_the_new_playbook_and_keeps_what_was_done() -> None:
    with time_machine.travel(NOW, tick=False):
        iid = _open("data_breach")
    done = ChecklistItem.objects.get(incident_id=iid, key="scope-access")
    checklists.checklist_item_check(actor=ANALYST, incident_id=iid, item_id=done.id, note="ok")
    pin = checklists.incident_category_set(actor=ANALYST, incident_id=iid,
                                           category="account_takeover")
    assert pin is not None
    assert pin.reference == "account_takeover.yaml v1"
    book = playbooks.load_dir()["account_takeover"]
    keys = set(ChecklistItem.objects.filter(incident_id=iid).values_list("key", flat=True))
    assert keys == {"scope-access"} | {i.key for i in book.items}
    assert ChecklistItem.objects.get(incident_id=iid, key="scope-access").note == "ok"
    assert audit.event_list(action="incident.category_changed")[0].data == {
        "from": "data_breach", "to": "account_takeover"}
    # bad input changes nothing
    for bad in ("nope", "account_takeover"):
        with pytest.raises(IncidentError):
            checklists.incident_category_set(actor=ANALYST, incident_id=iid, category=bad)
    assert ChecklistItem.objects.filter(incident_id=iid).count() == len(book.items) + 1


def test_category_change_through_the_page_needs_manage() -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = services.incident_open(actor=ANALYST, title="Alert 9", severity="sev3",
                                 category="data_breach",
                                 aware_at=datetime.now(tz=UTC) - timedelta(hours=1)).id
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.post(f"/incidents/{iid}/category/", {"category": "phishing"}).status_code == 403
    bad = staff.post(f"/incidents/{iid}/category/", {"category": "weather"}, follow=True)
    assert "Nothing changed" in bad.content.decode()
    response = staff.post(f"/incidents/{iid}/category/", {"category": "phishing"}, follow=True)
    assert "the checklist follows phishing.yaml v1" in response.content.decode()
    assert PlaybookPin.objects.get(incident_id=iid).category == "phishing"
