"""Editing the Records Retention Matrix in the UI, version by version (R-DATA-3, R-REG-4).

Every edit stores the whole matrix as a new :class:`MatrixVersion` with what changed (class,
field, old, new), why (a required, screened reason) and who — the history Fides lacks (its
retention is a free-text field nothing enforces). Before the first edit the configured file is
stored as version 1 (no author: the shipped defaults or the operator's file). An edit is
validated by the same parser as the file: a bad period, an action the row's sweep target cannot
carry out, a missing citation... is refused with the message and changes nothing. An edit made
on a stale page (another version was saved since) is refused too, rather than silently undoing
the other person's change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.privacy.contracts import MatrixError
from safeguard.privacy.matrix import (
    _row,
    dump_matrix,
    file_matrix,
    matrix,
    matrix_path,
    matrix_version_number,
    parse_matrix,
    row_document,
)
from safeguard.privacy.models import MatrixVersion
from safeguard.protection import services as protection

#: The fields of a row the UI may change (the class key and its set are the file's).
EDITABLE: tuple[str, ...] = ("description", "trigger", "period", "action", "archive_for",
                             "citation", "owner", "statutory", "enforced_by")
REASON_MAX = 1000


@dataclass(frozen=True)
class MatrixVersionView:
    """One version of the matrix: its number, what changed, why, who, when."""

    number: int
    changes: tuple[dict[str, Any], ...]
    reason: str
    changed_by: str  # staff id; "" for the seed (the file)
    created_at: datetime | None


def _view(row: MatrixVersion) -> MatrixVersionView:
    return MatrixVersionView(number=row.number, changes=tuple(row.changes), reason=row.reason,
                             changed_by=str(row.changed_by_id or ""), created_at=row.created_at)


def matrix_versions() -> list[MatrixVersionView]:
    """The matrix's history, newest first; version 1 is the file while nobody edited it."""
    rows = [_view(r) for r in MatrixVersion.objects.order_by("-number")]
    if not rows:
        rows = [MatrixVersionView(number=1, changes=(), reason=_seed_reason(), changed_by="",
                                  created_at=None)]
    return rows


def _seed_reason() -> str:
    return f"Shipped defaults ({matrix_path().name}), with their citations"


def _normalise(field: str, value: Any) -> Any:
    if field == "enforced_by":
        return sorted(str(v) for v in (value or []))
    if field == "statutory":
        return bool(value)
    if field == "archive_for":
        return str(value or "").strip()
    return str(value if value is not None else "").strip()


@transaction.atomic
def matrix_row_update(*, principal: Principal, key: str, values: dict[str, Any], reason: str,
                      base_version: int) -> MatrixVersionView:
    """Change one row of the matrix; stores a new version in force from now on (the next sweep
    reads it). Refuses, changing nothing: an unknown class or field, a row the parser refuses,
    no change at all, a missing reason, or a page older than the version in force."""
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise MatrixError(f"Say why the row changes (1 to {REASON_MAX} characters).")
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise MatrixError(f"Not an editable field: {', '.join(sorted(unknown))}.")
    # Lock the history so two editors cannot both write version N + 1 from version N.
    list(MatrixVersion.objects.select_for_update().order_by("-number")[:1])
    in_force = matrix_version_number()
    if base_version != in_force:
        raise MatrixError(f"The matrix changed since this page was opened (version {in_force} "
                          f"is in force now); reload and make the change again.")
    current = matrix()
    if key not in current:
        raise MatrixError(f"No record class {key!r} in the matrix.")
    old = row_document(current[key])
    new = dict(old)
    for field, value in values.items():
        new[field] = _normalise(field, value)
    if not new.get("archive_for"):
        new.pop("archive_for", None)
    if not new.get("statutory"):
        new.pop("statutory", None)
    changed = _row(key, new, "your change")  # the same rules as the file: raises MatrixError
    changes = []
    after = row_document(changed)
    for field in EDITABLE:
        before_value = _normalise(field, old.get(field))
        after_value = _normalise(field, after.get(field))
        if before_value != after_value:
            changes.append({"class": key, "field": field, "old": before_value,
                            "new": after_value})
    if not changes:
        raise MatrixError("Nothing changed: the row already says that.")
    now = timezone.now()
    if not MatrixVersion.objects.exists():
        MatrixVersion.objects.create(number=1, document=dump_matrix(file_matrix()), changes=[],
                                     reason=_seed_reason(), changed_by=None, created_at=now)
    document = dump_matrix({**current, key: changed})
    parse_matrix(document, source="the new version")  # round trip: what is stored loads
    number = in_force + 1
    try:
        with transaction.atomic():
            version = MatrixVersion.objects.create(
                number=number, document=document, changes=changes,
                reason=protection.screen(reason, field="privacy.matrix_reason").text,
                changed_by_id=principal.user_id, created_at=now)
    except IntegrityError:
        raise MatrixError("Another change was saved at the same moment; reload and try again."
                          ) from None
    audit.record(action="retention.matrix_changed", actor=principal.actor,
                 subject=("retention_matrix", str(number)),
                 data={"version": number, "changes": changes})
    return _view(version)
