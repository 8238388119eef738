"""What the privacy app publishes (R-DATA-5, R-DATA-6, R-ORG-1): the versioned privacy notice and
the subprocessor register. Writes by the privacy officer, each audited; reads for the public
pages hand out frozen views.

A notice version is never edited: publishing writes a new one with its effective date (today or
later), a summary of what changed and who published it. The public page shows the version in
force (the newest whose effective date has come) and lists every earlier one, each viewable.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.privacy.contracts import PrivacyError
from safeguard.privacy.enums import TransferMechanism
from safeguard.privacy.models import NoticeVersion, Subprocessor
from safeguard.protection import services as protection
from safeguard.web.errors import NotFound

SUMMARY_MAX = 2000


class PublicationError(PrivacyError):
    """A notice version or a subprocessor entry was refused as given."""

    code = "publication-refused"
    title = "Publication refused"


# --- the privacy notice ------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeView:
    """One published version of the privacy notice."""

    number: int
    effective_on: date
    summary: str
    body: str
    published_by: str  # staff id
    published_at: datetime

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _notice_view(row: NoticeVersion) -> NoticeView:
    return NoticeView(number=row.number, effective_on=row.effective_on, summary=row.summary,
                      body=row.body, published_by=str(row.published_by_id),
                      published_at=row.published_at)


def notice_versions() -> list[NoticeView]:
    """Every version, newest first (scheduled ones included: the officer's view)."""
    return [_notice_view(r) for r in NoticeVersion.objects.order_by("-number")]


def notice_current(*, today: date | None = None) -> NoticeView | None:
    """The version in force: the highest number whose effective date has come."""
    today = today or timezone.localdate()
    row = (NoticeVersion.objects.filter(effective_on__lte=today).order_by("-number").first())
    return _notice_view(row) if row else None


def notice_published(*, today: date | None = None) -> list[NoticeView]:
    """Versions the public may see (in force or earlier), newest first."""
    today = today or timezone.localdate()
    return [_notice_view(r) for r in NoticeVersion.objects.filter(effective_on__lte=today)
            .order_by("-number")]


def notice_get(*, number: int, today: date | None = None) -> NoticeView:
    """A published version by number; a scheduled (not yet effective) one is not public."""
    today = today or timezone.localdate()
    row = NoticeVersion.objects.filter(number=number, effective_on__lte=today).first()
    if row is None:
        raise NotFound("No published privacy notice with that version number.")
    return _notice_view(row)


def _clean_text(value: str, *, what: str, limit: int, field: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise PublicationError(f"{what}: 1 to {limit} characters are required.")
    return protection.screen(value, field=field).text


@transaction.atomic
def notice_publish(*, principal: Principal, body: str, summary: str,
                   effective_on: date) -> NoticeView:
    """Publish a new version of the notice, in force from ``effective_on`` (today or later,
    at most SAFEGUARD_PRIVACY_NOTICE_MAX_SCHEDULE_DAYS ahead, and not before the version it
    follows). Nothing is stored when anything is refused."""
    today = timezone.localdate()
    if not isinstance(effective_on, date) or effective_on < today:
        raise PublicationError("The effective date cannot be in the past: a published notice "
                               "is not changed after the fact.")
    horizon = settings.SAFEGUARD_PRIVACY_NOTICE_MAX_SCHEDULE_DAYS
    if (effective_on - today).days > horizon:
        raise PublicationError(f"The effective date is more than {horizon} days ahead.")
    latest = NoticeVersion.objects.select_for_update().order_by("-number").first()
    if latest is not None and effective_on < latest.effective_on:
        raise PublicationError(f"Version {latest.number} takes effect on "
                               f"{latest.effective_on.isoformat()}; a newer version cannot "
                               "take effect before it.")
    clean_body = _clean_text(body, what="The notice text", field="privacy.notice_body",
                             limit=settings.SAFEGUARD_PRIVACY_NOTICE_MAX_CHARS)
    clean_summary = _clean_text(summary, what="The summary of changes", limit=SUMMARY_MAX,
                                field="privacy.notice_summary")
    number = (latest.number + 1) if latest else 1
    try:
        with transaction.atomic():
            row = NoticeVersion.objects.create(
                number=number, effective_on=effective_on, summary=clean_summary,
                body=clean_body, published_by_id=principal.user_id,
                published_at=timezone.now())
    except IntegrityError:
        raise PublicationError("Another version was published at the same moment; reload."
                               ) from None
    audit.record(action="privacy_notice.published", actor=principal.actor,
                 subject=("privacy_notice", str(number)),
                 data={"version": number, "effective_on": effective_on.isoformat()})
    return _notice_view(row)


# --- the subprocessor register -----------------------------------------------------------------


@dataclass(frozen=True)
class SubprocessorView:
    """One entry of the register, as the public page and the CSV show it."""

    id: str
    vendor: str
    service: str
    data_categories: tuple[str, ...]
    location: str
    dpa_signed_on: date
    transfer_mechanism: str
    transfer_label: str
    last_verified_on: date
    evidence_ref: str
    added_on: date
    removed_on: date | None

    @property
    def current(self) -> bool:
        return self.removed_on is None


def _sub_view(row: Subprocessor) -> SubprocessorView:
    return SubprocessorView(
        id=str(row.id), vendor=row.vendor, service=row.service,
        data_categories=tuple(row.data_categories), location=row.location,
        dpa_signed_on=row.dpa_signed_on, transfer_mechanism=row.transfer_mechanism,
        transfer_label=str(TransferMechanism(row.transfer_mechanism).label),
        last_verified_on=row.last_verified_on, evidence_ref=row.evidence_ref,
        added_on=row.added_on, removed_on=row.removed_on)


def subprocessor_list(*, current_only: bool = True) -> list[SubprocessorView]:
    """The register by vendor; current entries only unless asked for the removed ones too."""
    qs = Subprocessor.objects.order_by("vendor", "service", "id")
    if current_only:
        qs = qs.filter(removed_on__isnull=True)
    return [_sub_view(r) for r in qs]


def subprocessor_get(*, subprocessor_id: str) -> SubprocessorView:
    return _sub_view(_sub_row(subprocessor_id))


def _sub_row(subprocessor_id: str, *, lock: bool = False) -> Subprocessor:
    qs = Subprocessor.objects.select_for_update() if lock else Subprocessor.objects
    try:
        row = qs.filter(id=subprocessor_id).first()
    except (ValueError, ValidationError):
        row = None
    if row is None:
        raise NotFound("No such subprocessor.")
    return row


#: Fields of an entry, in the CSV's column order.
SUB_FIELDS: tuple[str, ...] = ("vendor", "service", "data_categories", "location",
                               "dpa_signed_on", "transfer_mechanism", "last_verified_on",
                               "evidence_ref")
_LIMITS = {"vendor": 200, "service": 300, "location": 200, "evidence_ref": 300}


def _sub_clean(values: dict[str, Any]) -> dict[str, Any]:
    from safeguard.privacy.inventory import taxonomy

    missing = [f for f in SUB_FIELDS if values.get(f) in (None, "", [], ())]
    if missing:
        raise PublicationError(f"Required: {', '.join(missing)}.")
    out: dict[str, Any] = {}
    for name, limit in _LIMITS.items():
        text = str(values[name]).strip()
        if not text or len(text) > limit:
            raise PublicationError(f"{name}: 1 to {limit} characters are required.")
        out[name] = protection.screen(text, field=f"privacy.subprocessor_{name}").text
    categories = values["data_categories"]
    if isinstance(categories, str):
        categories = [c.strip() for c in categories.replace(";", ",").split(",") if c.strip()]
    known = taxonomy()
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise PublicationError(f"Unknown data categories: {', '.join(unknown)} (use the keys "
                               "of the data inventory's taxonomy).")
    out["data_categories"] = sorted(set(categories))
    if values["transfer_mechanism"] not in TransferMechanism.values:
        raise PublicationError("Transfer mechanism must be one of "
                               f"{', '.join(TransferMechanism.values)}.")
    out["transfer_mechanism"] = values["transfer_mechanism"]
    today = timezone.localdate()
    for name in ("dpa_signed_on", "last_verified_on"):
        day = values[name]
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                raise PublicationError(f"{name}: write the date as YYYY-MM-DD.") from None
        if not isinstance(day, date) or day > today:
            raise PublicationError(f"{name} cannot be in the future.")
        out[name] = day
    if out["last_verified_on"] < out["dpa_signed_on"]:
        raise PublicationError("The last verification cannot predate the signed DPA.")
    return out


@transaction.atomic
def subprocessor_add(*, principal: Principal, values: dict[str, Any]) -> SubprocessorView:
    """Add an entry to the register (published at once)."""
    clean = _sub_clean(values)
    row = Subprocessor.objects.create(**clean, added_on=timezone.localdate(),
                                      updated_by_id=principal.user_id, updated_at=timezone.now())
    audit.record(action="subprocessor.added", actor=principal.actor,
                 subject=("subprocessor", str(row.id)),
                 data={"vendor": row.vendor, "service": row.service})
    return _sub_view(row)


@transaction.atomic
def subprocessor_update(*, principal: Principal, subprocessor_id: str,
                        values: dict[str, Any]) -> SubprocessorView:
    """Change a current entry (e.g. record a new verification and its evidence); the audit
    event lists the fields changed with their old and new values."""
    row = _sub_row(subprocessor_id, lock=True)
    if row.removed_on is not None:
        raise PublicationError("That subprocessor was removed from the register.")
    clean = _sub_clean(values)
    changes = {k: [_plain(getattr(row, k)), _plain(v)] for k, v in clean.items()
               if getattr(row, k) != v}
    if not changes:
        raise PublicationError("Nothing changed.")
    for key, value in clean.items():
        setattr(row, key, value)
    row.updated_by_id = principal.user_id
    row.updated_at = timezone.now()
    row.save()
    audit.record(action="subprocessor.updated", actor=principal.actor,
                 subject=("subprocessor", str(row.id)), data={"changes": changes})
    return _sub_view(row)


@transaction.atomic
def subprocessor_remove(*, principal: Principal, subprocessor_id: str) -> SubprocessorView:
    """Take an entry off the public register (kept, dated, for the record)."""
    row = _sub_row(subprocessor_id, lock=True)
    if row.removed_on is not None:
        raise PublicationError("That subprocessor was already removed.")
    row.removed_on = timezone.localdate()
    row.updated_by_id = principal.user_id
    row.updated_at = timezone.now()
    row.save(update_fields=["removed_on", "updated_by", "updated_at"])
    audit.record(action="subprocessor.removed", actor=principal.actor,
                 subject=("subprocessor", str(row.id)), data={"vendor": row.vendor})
    return _sub_view(row)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is prefixed (as the inventory CSV does).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def subprocessors_csv() -> str:
    """The current register as CSV (one row per entry, the public page's columns)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["vendor", "service", "data_categories", "location", "dpa_signed_on",
                     "transfer_mechanism", "last_verified_on", "evidence_ref"])
    for s in subprocessor_list():
        writer.writerow([_cell(s.vendor), _cell(s.service), ";".join(s.data_categories),
                         _cell(s.location), s.dpa_signed_on.isoformat(), s.transfer_label,
                         s.last_verified_on.isoformat(), _cell(s.evidence_ref)])
    return buf.getvalue()
