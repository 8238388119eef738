"""Incident playbooks (R-IR-1, R-IR-7): one versioned YAML file per incident category, shipped
in ``incidents/playbooks/`` (or the directory named by SAFEGUARD_INCIDENTS_PLAYBOOK_DIR).

Each file names its category and version and lists checklist items under the five stages of
R-IR-7 (containment, forensic preservation, notification, remediation, review); every item has
an owner (an incident role) and a due time in hours after awareness. Loading validates the
whole directory: a bad file is refused with its name and the field at fault (system check
E526), never half-read. Plain data in, plain data out: no model, no database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from safeguard.incidents.enums import Category, IncidentRole

DEFAULT_DIR = Path(__file__).resolve().parent / "playbooks"

# The stages of R-IR-7, in the order responders work them.
STAGES: tuple[tuple[str, str], ...] = (
    ("containment", "Containment"),
    ("forensic_preservation", "Forensic preservation"),
    ("notification", "Notification"),
    ("remediation", "Remediation"),
    ("review", "Post-incident review"),
)
STAGE_LABELS = dict(STAGES)
# Longest due time an item may have: a year after awareness.
MAX_DUE_HOURS = 24 * 365
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_FILE_KEYS = {"category", "version", "title", "stages"}
_ITEM_KEYS = {"id", "text", "owner", "due_hours"}


class PlaybookError(ValueError):
    """A playbook file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class PlaybookItem:
    stage: str
    key: str
    text: str
    owner: str
    due_hours: float


@dataclass(frozen=True)
class Playbook:
    category: str
    version: int
    title: str
    items: tuple[PlaybookItem, ...]
    file: str
    sha256: str

    @property
    def reference(self) -> str:
        """How a review names this playbook version: ``data_breach.yaml v3``."""
        return f"{self.file} v{self.version}"


def _fail(file: str, field: str, problem: str) -> PlaybookError:
    return PlaybookError(f"{file}: {field}: {problem}")


def _item(file: str, stage: str, index: int, raw: object) -> PlaybookItem:
    where = f"stages.{stage}[{index}]"
    if not isinstance(raw, dict):
        raise _fail(file, where, "must be a mapping with id, text, owner, due_hours")
    unknown = sorted(set(raw) - _ITEM_KEYS)
    if unknown:
        raise _fail(file, f"{where}.{unknown[0]}", "unknown field")
    key = raw.get("id")
    if not isinstance(key, str) or not _ID.match(key):
        raise _fail(file, f"{where}.id", "required; lower-case letters, digits and '-', "
                                         "at most 40 characters")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 500:
        raise _fail(file, f"{where}.text", "required text of at most 500 characters")
    owner = raw.get("owner")
    if owner not in IncidentRole.values:
        raise _fail(file, f"{where}.owner", f"unknown role {owner!r} (known: "
                                            f"{', '.join(IncidentRole.values)})")
    due = raw.get("due_hours")
    if isinstance(due, bool) or not isinstance(due, int | float) or not 0 < due <= MAX_DUE_HOURS:
        raise _fail(file, f"{where}.due_hours", f"a number of hours after awareness, above 0 "
                                                f"and at most {MAX_DUE_HOURS}")
    return PlaybookItem(stage=stage, key=key, text=text.strip(), owner=str(owner),
                        due_hours=float(due))


def _stages(file: str, stages: object) -> list[PlaybookItem]:
    if not isinstance(stages, dict):
        raise _fail(file, "stages", "required mapping of the five stages")
    extra = sorted(set(stages) - set(STAGE_LABELS))
    if extra:
        raise _fail(file, f"stages.{extra[0]}", f"unknown stage (known: "
                                                 f"{', '.join(STAGE_LABELS)})")
    items: list[PlaybookItem] = []
    for stage, _label in STAGES:
        entries = stages.get(stage)
        if not isinstance(entries, list) or not entries:
            raise _fail(file, f"stages.{stage}", "required list of at least one item")
        items.extend(_item(file, stage, n, entry) for n, entry in enumerate(entries))
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            raise _fail(file, f"stages.{item.stage}", f"item id {item.key!r} used twice")
        seen.add(item.key)
    return items


def parse(text: str, *, file: str) -> Playbook:
    """Validate one playbook file's text; PlaybookError names ``file`` and the field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(file, "(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise _fail(file, "(file)", "must be a mapping")
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise _fail(file, unknown[0], "unknown field")
    category = raw.get("category")
    if category not in Category.values:
        raise _fail(file, "category", f"unknown category {category!r} (known: "
                                      f"{', '.join(Category.values)})")
    if Path(file).stem != category:
        raise _fail(file, "category", f"the file of category {category!r} is named "
                                      f"{category}.yaml")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(file, "version", "required whole number, at least 1")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise _fail(file, "title", "required text of at most 200 characters")
    items = _stages(file, raw.get("stages"))
    return Playbook(category=str(category), version=version, title=title.strip(),
                    items=tuple(items), file=file,
                    sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def load_dir(directory: Path | str | None = None) -> dict[str, Playbook]:
    """Every playbook of a directory by category; every category must have exactly one.
    Raises PlaybookError (file and field named) or OSError (directory unreadable)."""
    base = Path(directory or DEFAULT_DIR)
    if not base.is_dir():
        raise PlaybookError(f"{base}: (directory): not a directory")
    out: dict[str, Playbook] = {}
    for path in sorted(base.glob("*.yaml")):
        book = parse(path.read_text(encoding="utf-8"), file=path.name)
        out[book.category] = book
    missing = [c for c in Category.values if c not in out]
    if missing:
        raise PlaybookError(f"{base}: (directory): no playbook for "
                            f"{', '.join(f'{m}.yaml' for m in missing)}")
    return out


_cache: dict[tuple[object, ...], dict[str, Playbook]] = {}


def catalogue(directory: Path | str | None = None) -> dict[str, Playbook]:
    """The playbooks in use, re-read when a file changes (keyed by names, sizes and mtimes)."""
    base = Path(directory or DEFAULT_DIR)
    try:
        stamp: tuple[object, ...] = (str(base), *(
            (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(base.glob("*.yaml"))))
    except OSError:
        stamp = (str(base), "unreadable")
    if stamp not in _cache:
        loaded = load_dir(base)
        _cache.clear()
        _cache[stamp] = loaded
    return _cache[stamp]
