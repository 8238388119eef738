"""The compliance calendar: upcoming dated obligations computed from live state, with an
iCalendar (RFC 5545) export (R-REG-2, R-OPS-7, R-OPS-11; decision 0248; docs/governance.md
"Compliance calendar").

Nothing on it is typed in: every entry is read, at the moment the page or feed is asked for,
from the state that decides it —

* external validations' next due dates and open findings' remediation dates (registers);
* vendor reviews due and vendor contracts ending (registers);
* certifications' expiry dates (the certification register, decision 0249; withdrawn ones are
  left out);
* manual controls' next attestation (latest attestation + cadence; today when never attested);
* open vulnerabilities' fix deadlines (the vulnerability register);
* the next restore drill (last verified drill + SAFEGUARD_BACKUP_DRILL_MAX_DAYS);
* key rotations (each primary key's creation + SAFEGUARD_KEY_ROTATION_DAYS; absent while the
  keys are sealed or not initialised — said in ``notes``);
* the SIEM client certificate's expiry, when SAFEGUARD_SIEM_TLS_CERT names a readable
  certificate;
* every provider registered under a name starting with ``calendar.`` (apps beside or above
  governance, e.g. ``calendar.incident_exercises``): a callable taking no argument and returning
  a list of mappings ``{"title": str, "due": datetime.date, "kind": str, "url": str}``. A missing
  provider contributes nothing; a failing one, or an item of another shape, is left out and
  named in ``notes`` (never silently).

Entries overdue (due before today) are all shown; future ones up to
SAFEGUARD_CALENDAR_HORIZON_DAYS ahead. UIDs are stable: derived from the source and the thing's
identity, not from the date, so a calendar client updates an event when its date moves.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from safeguard.governance import attestations, certifications, registers, vulns
from safeguard.governance.models import RestoreDrill
from safeguard.protection import selectors as protection
from safeguard.web import providers

logger = logging.getLogger(__name__)
PROVIDER_PREFIX = "calendar."
UID_DOMAIN = "safeguard.calendar"


@dataclass(frozen=True)
class CalendarEvent:
    """One dated obligation. ``uid`` is stable for the same obligation across requests."""

    uid: str
    title: str
    due: date
    kind: str
    source: str
    url: str
    overdue: bool


@dataclass(frozen=True)
class Calendar:
    events: tuple[CalendarEvent, ...]
    notes: tuple[str, ...]  # sources that could not contribute, and why
    today: date
    horizon: date


def _uid(source: str, key: str) -> str:
    return f"{source}-{key}@{UID_DOMAIN}"


def _hashed(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def _register_events(today: date) -> list[CalendarEvent]:
    out = []
    for v, due in registers.validation_dates():
        out.append(CalendarEvent(
            uid=_uid("validation", str(v.id)), title=f"{v.kind_label} due: {v.title}",
            due=due, kind="external_validation", source="governance.validations",
            url=reverse("governance:validation", args=[v.id]), overdue=due < today))
    for v, f in registers.open_finding_dates():
        if f.due_on is None:  # open_finding_dates() yields dated findings only
            continue
        out.append(CalendarEvent(
            uid=_uid("finding", str(f.id)),
            title=f"Remediate {f.severity} finding: {f.title} ({v.title})", due=f.due_on,
            kind="finding_remediation", source="governance.validations",
            url=reverse("governance:validation", args=[v.id]), overdue=f.due_on < today))
    for vendor, what, due in registers.review_and_contract_dates():
        title = (f"Vendor review: {vendor.name}" if what == "review"
                 else f"Vendor contract ends: {vendor.name}")
        out.append(CalendarEvent(
            uid=_uid(f"vendor-{what.replace('_', '-')}", str(vendor.id)), title=title, due=due,
            kind=f"vendor_{what}", source="governance.vendors",
            url=reverse("governance:vendor", args=[vendor.id]), overdue=due < today))
    out.extend(CalendarEvent(
        uid=_uid("certification-expiry", str(c.id)),
        title=f"Certification expires: {c.name} ({c.issuer})", due=c.expires_on,
        kind="certification_expiry", source="governance.certifications",
        url=reverse("governance:certification", args=[c.id]), overdue=c.expires_on < today)
        for c in certifications.expiry_dates())
    for m, due in attestations.due_dates():
        title = (f"Attest {m.id}: {m.title}" if m.latest else
                 f"Attest {m.id} (never attested): {m.title}")
        out.append(CalendarEvent(
            uid=_uid("attestation", m.id), title=title, due=due, kind="attestation",
            source="governance.attestations",
            url=reverse("governance:attestation", args=[m.id]), overdue=due < today))
    return out


def _vulnerability_events(today: date) -> list[CalendarEvent]:
    out = []
    for row in vulns.register(status="open"):
        if row.due_at is None:
            continue
        due = timezone.localdate(row.due_at)
        out.append(CalendarEvent(
            uid=_uid("vulnerability", str(row.id)),
            title=f"Fix {row.severity} {row.vuln_id} in {row.package}", due=due,
            kind="vulnerability_deadline", source="governance.vulnerabilities",
            url=reverse("governance:vulnerabilities"), overdue=due < today))
    return out


def _drill_event(today: date) -> CalendarEvent:
    days = int(settings.SAFEGUARD_BACKUP_DRILL_MAX_DAYS)
    last = (RestoreDrill.objects.filter(outcome="verified").order_by("-finished_at")
            .values_list("finished_at", flat=True).first())
    due = timezone.localdate(last) + timedelta(days=days) if last else today
    title = "Restore drill due" + ("" if last else " (no verified drill yet)")
    return CalendarEvent(uid=_uid("restore-drill", "next"), title=title, due=due,
                         kind="restore_drill", source="governance.backups",
                         url=reverse("governance:backups"), overdue=due < today)


def _key_events(today: date, notes: list[str]) -> list[CalendarEvent]:
    status = protection.keys_status(jobs=0)
    if not status.initialised:
        notes.append("Key rotations: the keys are not initialised.")
        return []
    if status.sealed:
        notes.append("Key rotations: the keys are sealed, so key ages cannot be read.")
        return []
    out = []
    for k in status.keys:
        if not k.primary:
            continue
        if k.created_at is None:
            notes.append(f"Key rotations: the {k.keyset} key's creation date is unknown.")
            continue
        due = timezone.localdate(k.created_at) + timedelta(days=status.rotation_days)
        out.append(CalendarEvent(
            uid=_uid("key-rotation", f"{k.keyset}-{k.key_id}"),
            title=f"Rotate the {k.keyset} key (policy {status.rotation_days} days)", due=due,
            kind="key_rotation", source="protection.keys", url="", overdue=due < today))
    return out


def _certificate_events(today: date, notes: list[str]) -> list[CalendarEvent]:
    """The SIEM client certificate (mutual TLS), the one certificate the project configures."""
    path = str(settings.SAFEGUARD_SIEM_TLS_CERT or "")
    if not path:
        return []
    from cryptography import x509

    try:
        with open(path, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
    except (OSError, ValueError) as exc:
        notes.append(f"SIEM client certificate: cannot read {path} ({type(exc).__name__}).")
        return []
    due = cert.not_valid_after_utc.date()
    return [CalendarEvent(
        uid=_uid("certificate", _hashed("siem-client", cert.serial_number.to_bytes(20, "big")
                                        .hex())),
        title=f"SIEM client certificate expires ({cert.subject.rfc4514_string()[:80]})",
        due=due, kind="certificate_expiry", source="settings.SAFEGUARD_SIEM_TLS_CERT", url="",
        overdue=due < today)]


def _provider_events(today: date, notes: list[str]) -> list[CalendarEvent]:
    out = []
    for name in providers.names(PROVIDER_PREFIX):
        provider = providers.get(name)
        if provider is None:
            continue
        try:
            with transaction.atomic():  # a provider's database error stays in its savepoint
                items = provider()
        except Exception as exc:  # noqa: BLE001 - a broken source is named, never a crash
            logger.warning("governance.calendar_provider_failed", extra={"provider": name})
            notes.append(f"{name}: unavailable ({type(exc).__name__}).")
            continue
        if not isinstance(items, list):
            notes.append(f"{name}: returned no list.")
            continue
        bad = 0
        for item in items:
            event = _from_item(name, item, today)
            if event is None:
                bad += 1
            else:
                out.append(event)
        if bad:
            notes.append(f"{name}: {bad} item(s) left out (need title, due date, kind, url).")
    return out


def _from_item(name: str, item: Any, today: date) -> CalendarEvent | None:
    if not isinstance(item, Mapping):
        return None
    title, due, kind, url = (item.get(k) for k in ("title", "due", "kind", "url"))
    if isinstance(due, datetime):
        due = timezone.localdate(due) if timezone.is_aware(due) else due.date()
    if (not isinstance(title, str) or not title.strip() or not isinstance(due, date)
            or not isinstance(kind, str) or not kind or not isinstance(url, str)):
        return None
    return CalendarEvent(uid=_uid(name.removeprefix(PROVIDER_PREFIX).replace("_", "-"),
                                  _hashed(kind, title, url)),
                         title=title.strip()[:200], due=due, kind=kind[:40], source=name,
                         url=url if url.startswith("/") else "", overdue=due < today)


def calendar(*, today: date | None = None) -> Calendar:
    """Every dated obligation overdue or due within SAFEGUARD_CALENDAR_HORIZON_DAYS, soonest
    first, computed from live state now."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=int(settings.SAFEGUARD_CALENDAR_HORIZON_DAYS))
    notes: list[str] = []
    events = (_register_events(today) + _vulnerability_events(today) + [_drill_event(today)]
              + _key_events(today, notes) + _certificate_events(today, notes)
              + _provider_events(today, notes))
    shown = sorted((e for e in events if e.due <= horizon),
                   key=lambda e: (e.due, e.kind, e.title))
    return Calendar(events=tuple(shown), notes=tuple(notes), today=today, horizon=horizon)


def ics(cal: Calendar, *, base_url: str) -> bytes:
    """The calendar as an RFC 5545 VCALENDAR: one all-day VEVENT per entry (DTSTART as a DATE,
    DTEND the next day), a stable UID, DTSTAMP the moment of export, the URL absolute."""
    from icalendar import Calendar as ICalendar
    from icalendar import Event

    stamp = timezone.now()
    doc = ICalendar()
    doc.add("prodid", "-//Safeguard//Compliance calendar//EN")
    doc.add("version", "2.0")
    doc.add("calscale", "GREGORIAN")
    doc.add("x-wr-calname", "Safeguard compliance calendar")
    for e in cal.events:
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.due)
        ev.add("dtend", e.due + timedelta(days=1))
        ev.add("summary", ("OVERDUE: " if e.overdue else "") + e.title)
        ev.add("categories", [e.kind])
        ev.add("description", f"Source: {e.source}. Computed from live state on "
                              f"{cal.today.isoformat()}.")
        ev.add("transp", "TRANSPARENT")
        if e.url:
            ev.add("url", base_url.rstrip("/") + e.url)
        doc.add_component(ev)
    return bytes(doc.to_ical())
