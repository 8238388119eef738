"""The Records Retention Matrix as data (R-DATA-3, R-REG-4): ``retention.yaml`` beside this
module, or the file named by ``SAFEGUARD_RETENTION_MATRIX``, is the seed (version 1); edits in
the UI store new versions in the database (:class:`~safeguard.privacy.models.MatrixVersion`,
written by :mod:`safeguard.privacy.matrix_edit`). Loaded and validated here; the sweep, the
pages and the erasure plan read the version in force through :func:`matrix`; the inventory and
the system check read the file through :func:`file_matrix` (the set of classes is the file's:
the UI edits rows, it neither adds nor removes classes).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from safeguard.privacy.contracts import MatrixError, RetentionClass
from safeguard.privacy.periods import ACTIONS, parse_period

DEFAULT_PATH = Path(__file__).with_name("retention.yaml")

#: Trigger events the matrix may name; the sweep computes the ones its targets use.
TRIGGERS: frozenset[str] = frozenset({
    "call_ended", "case_closed", "customer_closed", "created", "last_used", "staff_left",
    "session_expired", "expired", "superseded",
})
#: Sweep targets that exist (privacy/sweep.py) and the actions each can carry out: a call
#: recording is deleted; a case is anonymised (its KPI fields stay); either may be flagged for
#: review. A row asking a target for another action is refused.
#: ``archive`` (archive-then-delete) first writes an encrypted copy (privacy/archive.py).
TARGET_ACTIONS: dict[str, frozenset[str]] = {
    "call_recording": frozenset({"delete", "archive", "review"}),
    "case": frozenset({"anonymise", "archive", "review"}),
}
#: The trigger event each target measures periods from.
TARGET_TRIGGERS: dict[str, str] = {"call_recording": "call_ended", "case": "case_closed"}
SWEEP_TARGETS: frozenset[str] = frozenset(TARGET_ACTIONS)


def matrix_path() -> Path:
    """The configured matrix file (the shipped default when the setting is empty)."""
    configured = str(getattr(settings, "SAFEGUARD_RETENTION_MATRIX", "") or "")
    return Path(configured) if configured else DEFAULT_PATH


def parse_matrix(text: str, *, source: str = "retention matrix") -> dict[str, RetentionClass]:
    """Validate a matrix document; every problem is a :class:`MatrixError` naming the row."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MatrixError(f"{source}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("classes"), dict) or not doc["classes"]:
        raise MatrixError(f"{source}: expected a mapping with a non-empty 'classes' mapping")
    out: dict[str, RetentionClass] = {}
    for key, row in doc["classes"].items():
        out[str(key)] = _row(str(key), row, source)
    return out


def _row(key: str, row: Any, source: str) -> RetentionClass:  # noqa: PLR0912 - one check per rule
    where = f"{source}: class {key!r}"
    if not isinstance(row, dict):
        raise MatrixError(f"{where}: expected a mapping")
    missing = {"description", "trigger", "period", "action", "citation", "owner"} - set(row)
    if missing:
        raise MatrixError(f"{where}: missing {', '.join(sorted(missing))}")
    try:
        period = parse_period(str(row["period"]))
    except ValueError as exc:
        raise MatrixError(f"{where}: {exc}") from None
    if row["action"] not in ACTIONS:
        raise MatrixError(f"{where}: action must be one of {', '.join(ACTIONS)}")
    if row["trigger"] not in TRIGGERS:
        raise MatrixError(f"{where}: unknown trigger {row['trigger']!r}")
    if not str(row["citation"]).strip():
        raise MatrixError(f"{where}: a legal citation is required (R-REG-4)")
    enforced = row.get("enforced_by") or []
    if not isinstance(enforced, list) or not set(enforced) <= SWEEP_TARGETS:
        raise MatrixError(f"{where}: enforced_by must list sweep targets out of "
                          f"{', '.join(sorted(SWEEP_TARGETS))}")
    for target in enforced:
        if row["action"] not in TARGET_ACTIONS[target]:
            raise MatrixError(f"{where}: the {target} sweep can "
                              f"{' or '.join(sorted(TARGET_ACTIONS[target]))}, not {row['action']}")
        if row["trigger"] != TARGET_TRIGGERS[target]:
            raise MatrixError(f"{where}: the {target} sweep measures from "
                              f"{TARGET_TRIGGERS[target]}, not {row['trigger']}")
    archive_for = None
    if row["action"] == "archive":
        try:
            archive_for = parse_period(str(row.get("archive_for", "")))
        except ValueError as exc:
            raise MatrixError(f"{where}: archive_for (how long the encrypted archive is kept) "
                              f"is required with action archive: {exc}") from None
    elif row.get("archive_for"):
        raise MatrixError(f"{where}: archive_for applies only to action archive")
    if not isinstance(row.get("statutory", False), bool):
        raise MatrixError(f"{where}: statutory must be true or false")
    return RetentionClass(key=key, description=str(row["description"]), trigger=row["trigger"],
                          period=period, action=row["action"], citation=str(row["citation"]),
                          owner=str(row["owner"]), enforced_by=tuple(enforced),
                          statutory=bool(row.get("statutory", False)), archive_for=archive_for)


def row_document(row: RetentionClass) -> dict[str, Any]:
    """A row as the matrix document spells it (the inverse of the parser)."""
    out: dict[str, Any] = {"description": row.description, "trigger": row.trigger,
                           "period": str(row.period), "action": row.action,
                           "citation": row.citation, "owner": row.owner,
                           "enforced_by": list(row.enforced_by)}
    if row.statutory:
        out["statutory"] = True
    if row.archive_for is not None:
        out["archive_for"] = str(row.archive_for)
    return out


def dump_matrix(classes: dict[str, RetentionClass]) -> str:
    """The matrix document (YAML) of ``classes``; :func:`parse_matrix` reads it back equal."""
    return yaml.safe_dump({"classes": {k: row_document(r) for k, r in classes.items()}},
                          sort_keys=False, allow_unicode=True, width=100)


@cache
def _load(path: str, mtime: float) -> dict[str, RetentionClass]:
    return parse_matrix(Path(path).read_text(encoding="utf-8"), source=path)


def file_matrix() -> dict[str, RetentionClass]:
    """The configured matrix file, by record class (re-read when the file changes): the seed
    of version 1 and the set of classes every version has."""
    path = matrix_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise MatrixError(f"retention matrix {path} cannot be read") from None
    return _load(str(path), mtime)


@cache
def _version(number: int, document: str) -> dict[str, RetentionClass]:
    return parse_matrix(document, source=f"retention matrix version {number}")


def current_version() -> tuple[int, str] | None:
    """(number, document) of the newest stored version; None while only the file exists."""
    from safeguard.privacy.models import MatrixVersion

    return (MatrixVersion.objects.order_by("-number").values_list("number", "document")
            .first())


def matrix() -> dict[str, RetentionClass]:
    """The matrix in force, by record class: the newest version edited in the UI over the
    file's classes (version 1 = the file, while nobody has edited it)."""
    base = file_matrix()
    stored = current_version()
    if stored is None:
        return base
    edited = _version(*stored)
    return {key: edited.get(key, row) for key, row in base.items()}


def matrix_version_number() -> int:
    """The number of the version in force (1 = the shipped or operator file, unedited)."""
    stored = current_version()
    return stored[0] if stored else 1
