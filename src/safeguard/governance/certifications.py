"""The certification register (decision 0249; docs/governance.md "Certifications"; R-REG-1,
R-MEAS-3, R-MEAS-5).

A certification is a certificate or attestation of compliance the organisation holds (ISO/IEC
27001, a PCI DSS attestation of compliance, a SOC 2 report): its name, the framework of the
library it concerns (optional), the certifying body or assessor, the certificate reference, the
scope, the dates issued and expiring, whether the operator shows it publicly, its evidence (a
link to an external-validation record, a link, a sealed file) and, once withdrawn, the date and
reason.

The provider ``governance.certifications`` (registered in the app config) feeds the public
trust page and the customer summary: it returns only certifications that are published, not
withdrawn, already issued and not expired (``expires_on`` is the last day of validity). An
expired certificate is left out rather than listed as expired, because the trust page renders
every item it receives as held; the page never claims a certificate the register does not hold.

Every write is audited; bad input raises :class:`RegisterRefused` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance import evidence, selectors
from safeguard.governance.models import Certification, ExternalValidation
from safeguard.governance.registers import (
    _LONG_MAX,
    RegisterNotFound,
    RegisterRefused,
    _date,
    _text,
    _url,
    create_or_update,
)

FIELDS = ("name", "framework_id", "issuer", "reference", "scope", "issued_on", "expires_on",
          "published", "validation_id", "evidence_url")


@dataclass(frozen=True)
class CertificationView:
    id: int
    name: str
    framework_id: str
    framework_name: str
    issuer: str
    reference: str
    scope: str
    issued_on: date
    expires_on: date
    published: bool
    validation_id: int | None
    validation_title: str
    evidence_url: str
    evidence_file: evidence.EvidenceView | None
    withdrawn_on: date | None
    withdrawn_reason: str
    state: str  # "current", "expired", "withdrawn" or "not yet issued"
    shown_publicly: bool  # what the provider returns: published and current


def frameworks() -> dict[str, str]:
    """The framework ids a certification may name: the library's frameworks, id -> name."""
    return {f.id: f.name for f in selectors.library().frameworks}


def _state(row: Certification, today: date) -> str:
    if row.withdrawn_on is not None:
        return "withdrawn"
    if row.issued_on > today:
        return "not yet issued"
    if row.expires_on < today:
        return "expired"
    return "current"


def _view(row: Certification, today: date) -> CertificationView:
    state = _state(row, today)
    names = frameworks()
    return CertificationView(
        id=row.id, name=row.name, framework_id=row.framework_id,
        framework_name=names.get(row.framework_id, row.framework_id), issuer=row.issuer,
        reference=row.reference, scope=row.scope, issued_on=row.issued_on,
        expires_on=row.expires_on, published=row.published, validation_id=row.validation_id,
        validation_title=row.validation.title if row.validation else "",
        evidence_url=row.evidence_url,
        evidence_file=evidence.evidence_view(row.evidence_file) if row.evidence_file else None,
        withdrawn_on=row.withdrawn_on, withdrawn_reason=row.withdrawn_reason, state=state,
        shown_publicly=row.published and state == "current")


def certification_list(*, today: date | None = None) -> list[CertificationView]:
    """Every certification, the one expiring soonest first."""
    today = today or timezone.localdate()
    return [_view(r, today) for r in Certification.objects.select_related(
        "validation", "evidence_file").order_by("expires_on", "name", "id")]


def certification_get(*, certification_id: int, today: date | None = None
                      ) -> CertificationView:
    row = (Certification.objects.select_related("validation", "evidence_file")
           .filter(id=certification_id).first())
    if row is None:
        raise RegisterNotFound(f"No certification {certification_id}.")
    return _view(row, today or timezone.localdate())


def public_certifications(*, today: date | None = None) -> list[dict[str, Any]]:
    """Provider ``governance.certifications``: ``{"name", "issued_on", "expires_on"}`` (dates)
    for each certification that is published, not withdrawn, issued and not expired, by name.
    Exactly what ``safeguard.metrics.trust`` and ``safeguard.metrics.summary`` read."""
    today = today or timezone.localdate()
    rows = (Certification.objects.filter(published=True, withdrawn_on__isnull=True,
                                         issued_on__lte=today, expires_on__gte=today)
            .order_by("name", "issued_on", "id"))
    return [{"name": r.name, "issued_on": r.issued_on, "expires_on": r.expires_on}
            for r in rows]


def expiry_dates() -> list[CertificationView]:
    """For the calendar: every certification not withdrawn (its expiry is an obligation)."""
    return [c for c in certification_list() if c.withdrawn_on is None]


# --- writes ------------------------------------------------------------------------------------

def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raw = str(value or "").strip().lower()
    if raw in ("", "0", "false", "off", "no"):
        return False
    if raw in ("1", "true", "on", "yes"):
        return True
    raise RegisterRefused("Published must be yes or no.")


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    issued = _date(data.get("issued_on"), name="Issued on", required=True)
    expires = _date(data.get("expires_on"), name="Expires on", required=True)
    if issued is None or expires is None:  # required=True raised already; for the type checker
        raise RegisterRefused("Issued on and expires on are required (YYYY-MM-DD).")
    if issued > timezone.localdate():
        raise RegisterRefused("Issued on cannot be in the future.")
    if expires <= issued:
        raise RegisterRefused("Expires on must be after issued on.")
    framework = str(data.get("framework_id") or "").strip()
    if framework and framework not in frameworks():
        raise RegisterRefused("Framework must be one of the library's frameworks: "
                              f"{', '.join(sorted(frameworks()))}.")
    raw_validation = str(data.get("validation_id") or "").strip()
    validation = None
    if raw_validation:
        try:
            validation = ExternalValidation.objects.filter(id=int(raw_validation)).first()
        except ValueError:
            validation = None
        if validation is None:
            raise RegisterRefused("The linked external validation does not exist.")
    raw_url = str(data.get("evidence_url") or "").strip()
    return {
        "name": _text(data.get("name"), name="Name", field="governance.certification.name"),
        "framework_id": framework,
        "issuer": _text(data.get("issuer"), name="Certifying body or assessor",
                        field="governance.certification.issuer"),
        "reference": _text(data.get("reference"), name="Certificate reference",
                           field="governance.certification.reference", required=False),
        "scope": _text(data.get("scope"), name="Scope", field="governance.certification.scope",
                       limit=_LONG_MAX),
        "issued_on": issued, "expires_on": expires,
        "published": _bool(data.get("published")),
        "validation": validation,
        "evidence_url": _url(raw_url) if raw_url else "",
    }


def _audit_data(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if k == "scope":
            continue
        if k == "validation":
            out["validation"] = v.id if v is not None else None
        elif isinstance(v, date):
            out[k] = v.isoformat()
        else:
            out[k] = v
    return out


def _editable(row: Certification) -> None:
    if row.withdrawn_on is not None:
        raise RegisterRefused("A withdrawn certification cannot be edited; record the new "
                              "certificate as a new entry.")


@transaction.atomic
def certification_save(*, data: dict[str, Any], actor: Actor,
                       certification_id: int | None = None) -> CertificationView:
    """Create (no id) or update a certification from form data; every field is checked before
    anything is written. A withdrawn certification cannot be edited."""
    fields = _fields(data)
    row, created = create_or_update(Certification, certification_id, fields, actor=actor,
                                    label="certification", check=_editable)
    action = ("governance.certification_added" if created
              else "governance.certification_updated")
    audit.record(action=action, actor=actor, subject=("certification", row.id),
                 data=_audit_data(fields))
    return certification_get(certification_id=row.id)


@transaction.atomic
def certification_withdraw(*, certification_id: int, withdrawn_on: Any, reason: Any,
                           actor: Actor) -> CertificationView:
    """Mark a certification withdrawn (suspended, surrendered, revoked) from a date with a
    reason; from then on it is never shown publicly. The row stays for the record."""
    row = Certification.objects.select_for_update().filter(id=certification_id).first()
    if row is None:
        raise RegisterNotFound(f"No certification {certification_id}.")
    if row.withdrawn_on is not None:
        raise RegisterRefused(f"Already withdrawn on {row.withdrawn_on.isoformat()}.")
    when = _date(withdrawn_on, name="Withdrawn on", required=True)
    if when is None:
        raise RegisterRefused("Withdrawn on is required (YYYY-MM-DD).")
    if when > timezone.localdate():
        raise RegisterRefused("Withdrawn on cannot be in the future.")
    if when < row.issued_on:
        raise RegisterRefused("Withdrawn on cannot precede the date it was issued.")
    why = _text(reason, name="Reason", field="governance.certification.withdrawn_reason",
                limit=_LONG_MAX)
    row.withdrawn_on, row.withdrawn_reason, row.updated_at = when, why, timezone.now()
    row.save(update_fields=["withdrawn_on", "withdrawn_reason", "updated_at"])
    audit.record(action="governance.certification_withdrawn", actor=actor,
                 subject=("certification", row.id),
                 data={"withdrawn_on": when.isoformat(), "name": row.name})
    return certification_get(certification_id=row.id)


@transaction.atomic
def certification_evidence_file(*, certification_id: int, content: bytes, file_name: str,
                                actor: Actor) -> CertificationView:
    """Attach (or replace) the certificate file, sealed like attestation evidence."""
    row = Certification.objects.select_for_update().filter(id=certification_id).first()
    if row is None:
        raise RegisterNotFound(f"No certification {certification_id}.")
    if not content:
        raise RegisterRefused("Attach the certificate file.")
    stored = evidence.store(content=content, name=file_name, actor=actor)
    previous = str(row.evidence_file_id) if row.evidence_file_id else ""
    row.evidence_file, row.updated_at = stored, timezone.now()
    row.save(update_fields=["evidence_file", "updated_at"])
    audit.record(action="governance.certification_evidence_added", actor=actor,
                 subject=("certification", row.id),
                 data={"file": str(stored.id), "sha256": stored.sha256, "replaced": previous})
    return certification_get(certification_id=row.id)

