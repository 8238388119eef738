"""The external-validation register and the vendor register (decision 0247; docs/governance.md
"External validation" and "Vendors").

External validation (R-MEAS-3, R-OPS-7): penetration tests, approved-scanning-vendor (ASV)
scans, audits and other assessments, with provider, scope, the dates performed / report received
/ next due, cost, and findings (title, severity, remediation status, due and closed dates). A
remediation rollup per validation counts findings by status and the open ones past their date.

Vendors: name, services, the data categories shared with them (keys of the privacy data
inventory's taxonomy), risk tier, review due and last reviewed, contract and DPA dates, and
evidence (sealed files or links). A review due before today shows as overdue.

Both feed automated controls (``external_validation``, ``vendor_reviews``) and the compliance
calendar. Every write is audited; bad input raises :class:`RegisterRefused` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance import evaluators, evidence
from safeguard.governance.contracts import CheckResult, GovernanceError
from safeguard.governance.enums import ControlStatus
from safeguard.governance.models import (
    ExternalValidation,
    ValidationFinding,
    Vendor,
    VendorEvidence,
)
from safeguard.protection import services as protection

KINDS = {"pentest": "Penetration test", "asv_scan": "ASV scan", "audit": "Audit",
         "assessment": "Other assessment"}
SEVERITIES = ("critical", "high", "medium", "low", "info")
FINDING_STATUSES = {"open": "Open", "in_progress": "In progress", "remediated": "Remediated",
                    "accepted": "Risk accepted"}
CLOSED_STATUSES = frozenset({"remediated", "accepted"})
TIERS = ("critical", "high", "medium", "low")
_TEXT_MAX = 200
_LONG_MAX = 4000


class RegisterRefused(GovernanceError):
    status = 400
    code = "register-refused"
    title = "Register entry refused"


class RegisterNotFound(GovernanceError):
    status = 404
    code = "register-not-found"
    title = "No such register entry"


# --- input parsing (shared by the pages and any future API/CLI) --------------------------------

def _text(value: Any, *, name: str, field: str, required: bool = True,
          limit: int = _TEXT_MAX) -> str:
    cleaned = " ".join(str(value or "").split()) if limit <= _TEXT_MAX else str(value or "").strip()
    if required and not cleaned:
        raise RegisterRefused(f"{name} is required.")
    if len(cleaned) > limit:
        raise RegisterRefused(f"{name} is longer than {limit} characters.")
    return protection.screen(cleaned, field=field).text if cleaned else ""


def _date(value: Any, *, name: str, required: bool = False) -> date | None:
    if isinstance(value, date):
        return value
    raw = str(value or "").strip()
    if not raw:
        if required:
            raise RegisterRefused(f"{name} is required (YYYY-MM-DD).")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RegisterRefused(f"{name} must be a date as YYYY-MM-DD, not {raw[:20]!r}.") from None


def _choice(value: Any, *, name: str, allowed: tuple[str, ...] | dict[str, str]) -> str:
    raw = str(value or "").strip()
    if raw not in allowed:
        raise RegisterRefused(f"{name} must be one of {', '.join(allowed)}.")
    return raw


def _cost(value: Any, currency: Any) -> tuple[Decimal | None, str]:
    raw = str(value or "").strip()
    cur = str(currency or "").strip().upper()
    if not raw:
        return None, ""
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise RegisterRefused("Cost must be a number such as 12500.00.") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise RegisterRefused("Cost must be zero or more and below 10,000,000,000.")
    if len(cur) != 3 or not cur.isalpha():
        raise RegisterRefused("Give the cost's currency as a three-letter code (ISO 4217).")
    return amount.quantize(Decimal("0.01")), cur


def _url(value: Any) -> str:
    raw = str(value or "").strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(raw) > 500:
        raise RegisterRefused("A link must be an http(s) URL of at most 500 characters.")
    return raw


# --- external validation: views ----------------------------------------------------------------

@dataclass(frozen=True)
class FindingView:
    id: int
    title: str
    severity: str
    status: str
    status_label: str
    due_on: date | None
    closed_on: date | None
    overdue: bool


@dataclass(frozen=True)
class ValidationView:
    id: int
    kind: str
    kind_label: str
    title: str
    provider: str
    scope: str
    performed_on: date
    report_received_on: date | None
    next_due_on: date | None
    next_due_overdue: bool
    cost: Decimal | None
    currency: str
    findings: tuple[FindingView, ...]
    rollup: dict[str, int]  # status -> count, plus "overdue" (open past due)
    remediation: str  # one line: "3 findings: 1 open (1 overdue), 2 remediated"


def _finding_view(f: ValidationFinding, today: date) -> FindingView:
    open_ = f.status not in CLOSED_STATUSES
    return FindingView(id=f.id, title=f.title, severity=f.severity, status=f.status,
                       status_label=FINDING_STATUSES.get(f.status, f.status), due_on=f.due_on,
                       closed_on=f.closed_on,
                       overdue=bool(open_ and f.due_on is not None and f.due_on < today))


def _rollup(findings: tuple[FindingView, ...]) -> tuple[dict[str, int], str]:
    counts = dict.fromkeys(FINDING_STATUSES, 0)
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    counts["overdue"] = sum(1 for f in findings if f.overdue)
    if not findings:
        return counts, "No findings recorded."
    open_n = counts["open"] + counts["in_progress"]
    parts = [f"{open_n} open" + (f" ({counts['overdue']} overdue)" if counts["overdue"] else "")]
    parts += [f"{counts[s]} {FINDING_STATUSES[s].lower()}" for s in ("remediated", "accepted")
              if counts[s]]
    state = "all closed" if not open_n else "remediation under way"
    return counts, f"{len(findings)} finding(s), {state}: " + ", ".join(parts) + "."


def _validation_view(v: ExternalValidation, today: date) -> ValidationView:
    findings = tuple(_finding_view(f, today) for f in v.findings.order_by("due_on", "id"))
    counts, line = _rollup(findings)
    return ValidationView(
        id=v.id, kind=v.kind, kind_label=KINDS.get(v.kind, v.kind), title=v.title,
        provider=v.provider, scope=v.scope, performed_on=v.performed_on,
        report_received_on=v.report_received_on, next_due_on=v.next_due_on,
        next_due_overdue=bool(v.next_due_on and v.next_due_on < today), cost=v.cost,
        currency=v.currency, findings=findings, rollup=counts, remediation=line)


def validation_list(*, today: date | None = None) -> list[ValidationView]:
    """Every external validation, newest performed first, with findings and rollup."""
    today = today or timezone.localdate()
    return [_validation_view(v, today) for v in
            ExternalValidation.objects.prefetch_related("findings")
            .order_by("-performed_on", "-id")]


def validation_get(*, validation_id: int, today: date | None = None) -> ValidationView:
    row = ExternalValidation.objects.filter(id=validation_id).first()
    if row is None:
        raise RegisterNotFound(f"No external validation {validation_id}.")
    return _validation_view(row, today or timezone.localdate())


# --- external validation: writes ---------------------------------------------------------------

def _validation_fields(data: dict[str, Any]) -> dict[str, Any]:
    performed = _date(data.get("performed_on"), name="Performed on", required=True)
    received = _date(data.get("report_received_on"), name="Report received on")
    next_due = _date(data.get("next_due_on"), name="Next due on")
    if performed is None:  # required=True raised already; for the type checker
        raise RegisterRefused("Performed on is required (YYYY-MM-DD).")
    if performed > timezone.localdate():
        raise RegisterRefused("Performed on cannot be in the future.")
    if received and received < performed:
        raise RegisterRefused("The report cannot be received before the test was performed.")
    if next_due and next_due <= performed:
        raise RegisterRefused("Next due must be after the date performed.")
    cost, currency = _cost(data.get("cost"), data.get("currency"))
    return {
        "kind": _choice(data.get("kind"), name="Kind", allowed=KINDS),
        "title": _text(data.get("title"), name="Title", field="governance.validation.title"),
        "provider": _text(data.get("provider"), name="Provider",
                          field="governance.validation.provider"),
        "scope": _text(data.get("scope"), name="Scope", field="governance.validation.scope",
                       limit=_LONG_MAX),
        "performed_on": performed, "report_received_on": received, "next_due_on": next_due,
        "cost": cost, "currency": currency,
    }


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Decimal)
                else v) for k, v in fields.items() if k not in ("scope",)}


def create_or_update(model: Any, row_id: int | None, fields: dict[str, Any], *, actor: Actor,
                     label: str, check: Any = None) -> tuple[Any, bool]:
    """A register row created from checked ``fields`` (no id) or updated in place under a row
    lock, with its created/updated stamps; ``check(row)`` may refuse an update. Returns the row
    and whether it was created. The caller audits."""
    now = timezone.now()
    if row_id is None:
        return model.objects.create(**fields, created_by=actor.label[:254], created_at=now,
                                    updated_at=now), True
    row = model.objects.select_for_update().filter(id=row_id).first()
    if row is None:
        raise RegisterNotFound(f"No {label} {row_id}.")
    if check is not None:
        check(row)
    for k, v in fields.items():
        setattr(row, k, v)
    row.updated_at = now
    row.save()
    return row, False


@transaction.atomic
def validation_save(*, data: dict[str, Any], actor: Actor,
                    validation_id: int | None = None) -> ValidationView:
    """Create (no id) or update an external validation from form data; every field is checked
    before anything is written."""
    fields = _validation_fields(data)
    row, created = create_or_update(ExternalValidation, validation_id, fields, actor=actor,
                                    label="external validation")
    action = "governance.validation_added" if created else "governance.validation_updated"
    audit.record(action=action, actor=actor, subject=("external_validation", row.id),
                 data=_jsonable(fields))
    return validation_get(validation_id=row.id)


@transaction.atomic
def finding_save(*, validation_id: int, data: dict[str, Any], actor: Actor,
                 finding_id: int | None = None) -> FindingView:
    """Add or update a finding of a validation. A closed status (remediated, accepted) needs a
    closed date, an open one has none; dates cannot precede the validation."""
    validation = ExternalValidation.objects.select_for_update().filter(id=validation_id).first()
    if validation is None:
        raise RegisterNotFound(f"No external validation {validation_id}.")
    status = _choice(data.get("status") or "open", name="Status", allowed=FINDING_STATUSES)
    due = _date(data.get("due_on"), name="Due on")
    closed = _date(data.get("closed_on"), name="Closed on")
    if status in CLOSED_STATUSES and closed is None:
        raise RegisterRefused("A remediated or accepted finding needs the date it was closed.")
    if status not in CLOSED_STATUSES and closed is not None:
        raise RegisterRefused("An open finding has no closed date; set the status too.")
    if closed and (closed < validation.performed_on or closed > timezone.localdate()):
        raise RegisterRefused("Closed on must be between the date performed and today.")
    if due and due < validation.performed_on:
        raise RegisterRefused("Due on cannot precede the date the validation was performed.")
    fields = {"title": _text(data.get("title"), name="Finding title",
                             field="governance.finding.title", limit=300),
              "severity": _choice(data.get("severity"), name="Severity", allowed=SEVERITIES),
              "status": status, "due_on": due, "closed_on": closed}
    if finding_id is None:
        row = ValidationFinding.objects.create(validation=validation, updated_at=timezone.now(),
                                               **fields)
        action = "governance.validation_finding_added"
    else:
        found = (ValidationFinding.objects.select_for_update()
                 .filter(id=finding_id, validation=validation).first())
        if found is None:
            raise RegisterNotFound(f"No finding {finding_id} in validation {validation_id}.")
        row = found
        for k, v in fields.items():
            setattr(row, k, v)
        row.updated_at = timezone.now()
        row.save()
        action = "governance.validation_finding_updated"
    audit.record(action=action, actor=actor, subject=("external_validation", validation.id),
                 data={"finding": row.id, **_jsonable(fields)})
    return _finding_view(row, timezone.localdate())


# --- vendors -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VendorEvidenceView:
    id: int
    url: str
    note: str
    file: evidence.EvidenceView | None
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class VendorView:
    id: int
    name: str
    services: str
    data_categories: tuple[str, ...]
    risk_tier: str
    review_due_on: date
    review_overdue: bool
    last_reviewed_on: date | None
    contract_start: date | None
    contract_end: date | None
    dpa_signed_on: date | None
    evidence: tuple[VendorEvidenceView, ...]


def data_categories() -> dict[str, str]:
    """The data categories vendors may receive: the privacy inventory's taxonomy (R-DATA-1)."""
    from safeguard.privacy import inventory

    return inventory.taxonomy()


def _evidence_view(e: VendorEvidence) -> VendorEvidenceView:
    return VendorEvidenceView(id=e.id, url=e.url, note=e.note,
                              file=evidence.evidence_view(e.file) if e.file else None,
                              added_by=e.added_by, added_at=e.added_at)


def _vendor_view(v: Vendor, today: date) -> VendorView:
    return VendorView(
        id=v.id, name=v.name, services=v.services, data_categories=tuple(v.data_categories),
        risk_tier=v.risk_tier, review_due_on=v.review_due_on,
        review_overdue=v.review_due_on < today, last_reviewed_on=v.last_reviewed_on,
        contract_start=v.contract_start, contract_end=v.contract_end,
        dpa_signed_on=v.dpa_signed_on,
        evidence=tuple(_evidence_view(e) for e in v.evidence.select_related("file")
                       .order_by("-added_at", "-id")))


def vendor_list(*, today: date | None = None) -> list[VendorView]:
    """Every vendor, the review due soonest first."""
    today = today or timezone.localdate()
    return [_vendor_view(v, today) for v in Vendor.objects.order_by("review_due_on", "name")]


def vendor_get(*, vendor_id: int, today: date | None = None) -> VendorView:
    row = Vendor.objects.filter(id=vendor_id).first()
    if row is None:
        raise RegisterNotFound(f"No vendor {vendor_id}.")
    return _vendor_view(row, today or timezone.localdate())


def _vendor_fields(data: dict[str, Any]) -> dict[str, Any]:
    raw_categories = data.get("data_categories") or []
    if isinstance(raw_categories, str):
        raw_categories = [raw_categories]
    known = data_categories()
    unknown = sorted({str(c) for c in raw_categories} - set(known))
    if unknown:
        raise RegisterRefused(f"Unknown data categories: {', '.join(unknown)[:200]}.")
    start = _date(data.get("contract_start"), name="Contract start")
    end = _date(data.get("contract_end"), name="Contract end")
    if start and end and end < start:
        raise RegisterRefused("The contract cannot end before it starts.")
    reviewed = _date(data.get("last_reviewed_on"), name="Last reviewed on")
    if reviewed and reviewed > timezone.localdate():
        raise RegisterRefused("Last reviewed on cannot be in the future.")
    dpa = _date(data.get("dpa_signed_on"), name="DPA signed on")
    if dpa and dpa > timezone.localdate():
        raise RegisterRefused("DPA signed on cannot be in the future.")
    return {
        "name": _text(data.get("name"), name="Vendor name", field="governance.vendor.name"),
        "services": _text(data.get("services"), name="Services",
                          field="governance.vendor.services", limit=_LONG_MAX),
        "data_categories": sorted({str(c) for c in raw_categories}),
        "risk_tier": _choice(data.get("risk_tier"), name="Risk tier", allowed=TIERS),
        "review_due_on": _date(data.get("review_due_on"), name="Review due on", required=True),
        "last_reviewed_on": reviewed, "contract_start": start, "contract_end": end,
        "dpa_signed_on": dpa,
    }


@transaction.atomic
def vendor_save(*, data: dict[str, Any], actor: Actor, vendor_id: int | None = None
                ) -> VendorView:
    """Create (no id) or update a vendor from form data; names are unique."""
    fields = _vendor_fields(data)
    try:
        with transaction.atomic():
            row, created = create_or_update(Vendor, vendor_id, fields, actor=actor,
                                            label="vendor")
    except IntegrityError:
        raise RegisterRefused(f"A vendor named {fields['name']!r} already exists.") from None
    action = "governance.vendor_added" if created else "governance.vendor_updated"
    audit.record(action=action, actor=actor, subject=("vendor", row.id),
                 data={k: v for k, v in _jsonable(fields).items() if k != "services"})
    return vendor_get(vendor_id=row.id)


@transaction.atomic
def vendor_evidence_add(*, vendor_id: int, actor: Actor, note: str = "", url: str = "",
                        content: bytes = b"", file_name: str = "") -> VendorEvidenceView:
    """Attach a link or a file (sealed like attestation evidence) to a vendor; exactly one."""
    vendor = Vendor.objects.select_for_update().filter(id=vendor_id).first()
    if vendor is None:
        raise RegisterNotFound(f"No vendor {vendor_id}.")
    if bool(url.strip()) == bool(content):
        raise RegisterRefused("Give either a link or a file (one of them).")
    clean_note = _text(note, name="Note", field="governance.vendor.note", required=False,
                       limit=300)
    link = _url(url) if url.strip() else ""
    stored = evidence.store(content=content, name=file_name, actor=actor) if content else None
    row = VendorEvidence.objects.create(vendor=vendor, file=stored, url=link, note=clean_note,
                                        added_by=actor.label[:254], added_at=timezone.now())
    audit.record(action="governance.vendor_evidence_added", actor=actor,
                 subject=("vendor", vendor.id),
                 data={"evidence": row.id, "url": link,
                       "file": str(stored.id) if stored else "",
                       "sha256": stored.sha256 if stored else ""})
    return _evidence_view(row)


# --- automated controls over the registers -----------------------------------------------------

PASS, FAIL = ControlStatus.PASS.value, ControlStatus.FAIL.value
NA = ControlStatus.NOT_APPLICABLE.value


@evaluators.check("external_validation")
def control_external_validation() -> CheckResult:
    """SG-EV-01: a penetration test within SAFEGUARD_PENTEST_MAX_DAYS, an ASV scan within
    SAFEGUARD_ASV_SCAN_MAX_DAYS, and no open critical/high finding past its date."""
    today = timezone.localdate()
    problems, parts = [], []
    for kind, setting in (("pentest", "SAFEGUARD_PENTEST_MAX_DAYS"),
                          ("asv_scan", "SAFEGUARD_ASV_SCAN_MAX_DAYS")):
        days = int(getattr(settings, setting))
        last = (ExternalValidation.objects.filter(kind=kind).order_by("-performed_on")
                .values_list("performed_on", flat=True).first())
        if last is None:
            problems.append(f"no {KINDS[kind].lower()} recorded")
            continue
        age = (today - last).days
        parts.append(f"last {KINDS[kind].lower()} {last.isoformat()} ({age} days ago, "
                     f"limit {days})")
        if age > days:
            problems.append(f"the last {KINDS[kind].lower()} is older than {days} days")
    late = list(ValidationFinding.objects.filter(
        severity__in=("critical", "high"), due_on__lt=today)
        .exclude(status__in=CLOSED_STATUSES).values_list("title", flat=True)[:6])
    if late:
        problems.append(f"{len(late)} critical/high finding(s) past their date: "
                        + "; ".join(t[:60] for t in late[:5]))
    text = ("; ".join(parts) + ". ") if parts else ""
    if problems:
        return CheckResult(FAIL, f"{text}Failing: {'; '.join(problems)}.")
    return CheckResult(PASS, f"{text}No critical or high finding is past its date.")


@evaluators.check("vendor_reviews")
def control_vendor_reviews() -> CheckResult:
    """SG-VN-01: no vendor review overdue; every vendor receiving personal data (any ``user.``
    category) has a DPA date on record."""
    vendors = vendor_list()
    if not vendors:
        return CheckResult(NA, "The vendor register holds no vendor.")
    overdue = [f"{v.name} (due {v.review_due_on.isoformat()})" for v in vendors
               if v.review_overdue]
    no_dpa = [v.name for v in vendors if v.dpa_signed_on is None
              and any(c.startswith("user.") for c in v.data_categories)]
    text = (f"{len(vendors)} vendor(s); {len(overdue)} review(s) overdue; {len(no_dpa)} "
            "receiving personal data without a DPA on record")
    if overdue or no_dpa:
        detail = "; ".join(x for x in (
            f"overdue: {', '.join(overdue[:5])}" if overdue else "",
            f"no DPA: {', '.join(no_dpa[:5])}" if no_dpa else "") if x)
        return CheckResult(FAIL, f"{text} ({detail}).")
    return CheckResult(PASS, text + ".")


def review_and_contract_dates() -> list[tuple[VendorView, str, date]]:
    """For the calendar: each vendor's review due date and its contract end (when set)."""
    out: list[tuple[VendorView, str, date]] = []
    for v in vendor_list():
        out.append((v, "review", v.review_due_on))
        if v.contract_end:
            out.append((v, "contract_end", v.contract_end))
    return out


def validation_dates() -> list[tuple[ValidationView, date]]:
    """For the calendar: each validation's next due date (when set)."""
    return [(v, v.next_due_on) for v in validation_list() if v.next_due_on]


def open_finding_dates() -> list[tuple[ValidationView, FindingView]]:
    """For the calendar: open findings with a remediation date."""
    return [(v, f) for v in validation_list() for f in v.findings
            if f.due_on and f.status not in CLOSED_STATUSES]

