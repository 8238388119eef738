"""Framework requirement libraries and our controls, loaded from YAML beside the code (R-REG-1).

A pure core: plain dataclasses over YAML, no Django. ``frameworks/*.yaml`` each hold one
framework (id, name, version, source, licence, coverage, requirements: id + title in our own
words); ``controls.yaml`` holds our controls, each naming its automated check and mapping to
framework requirements (many-to-many). A control without an automated check names the check
``manual``: its status comes from attestations by its owner, each valid for ``cadence_days``
(optional; the default is a setting, decision 0246). :func:`load` refuses a malformed file with
:class:`LibraryError` naming the file, the line and the reason; a control mapping to an unknown
framework or requirement, or two entries with one id, is malformed too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BUILTIN_DIR = Path(__file__).resolve().parent
_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
_CHECK = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
_FRAMEWORK_KEYS = frozenset({"id", "name", "version", "source", "licence", "coverage",
                             "requirements"})
_CONTROL_KEYS = frozenset({"id", "title", "description", "check", "maps", "cadence_days"})
MANUAL = "manual"  # the check name of a control attested by hand (decision 0246)


class LibraryError(ValueError):
    """A library file is malformed: ``file:line: reason``."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path.name}:{line}: {reason}")


@dataclass(frozen=True)
class Requirement:
    framework: str
    id: str
    title: str


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str
    source: str
    licence: str
    coverage: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    description: str
    check: str
    maps: tuple[tuple[str, str], ...]  # (framework id, requirement id)
    cadence_days: int | None = None  # manual controls: how long an attestation holds

    @property
    def manual(self) -> bool:
        return self.check == MANUAL


@dataclass(frozen=True)
class Library:
    frameworks: tuple[Framework, ...]
    controls: tuple[Control, ...]

    def framework(self, framework_id: str) -> Framework | None:
        return next((f for f in self.frameworks if f.id == framework_id), None)

    def control(self, control_id: str) -> Control | None:
        return next((c for c in self.controls if c.id == control_id), None)

    def controls_for(self, framework_id: str, requirement_id: str) -> list[Control]:
        key = (framework_id, requirement_id)
        return [c for c in self.controls if key in c.maps]


class _Map(dict[str, Any]):
    line = 0


class _List(list[Any]):
    line = 0


class _Loader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping and sequence (1-based)."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    out = _Map({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    out.line = node.start_mark.line + 1
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _List:
    out = _List(loader.construct_sequence(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(path, 0, f"cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise LibraryError(path, mark.line + 1 if mark else 0,
                           f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise LibraryError(path, 0, f"not valid YAML: {exc}") from None


def _line(node: Any, default: int) -> int:
    return getattr(node, "line", 0) or default


def _text(path: Path, node: _Map, key: str, *, max_len: int = 500) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LibraryError(path, node.line, f"'{key}' must be a non-empty string")
    if len(value) > max_len:
        raise LibraryError(path, node.line, f"'{key}' is longer than {max_len} characters")
    return " ".join(value.split())


def _mapping(path: Path, node: Any, what: str, line: int, keys: frozenset[str]) -> _Map:
    if not isinstance(node, _Map):
        raise LibraryError(path, _line(node, line), f"{what} must be a mapping")
    unknown = sorted(set(node) - keys)
    if unknown:
        raise LibraryError(path, node.line, f"{what} has unknown keys {unknown}")
    return node


def load_framework(path: Path) -> Framework:
    doc = _mapping(path, _read(path), "the file", 1, _FRAMEWORK_KEYS)
    fid = _text(path, doc, "id")
    if not _ID.match(fid):
        raise LibraryError(path, doc.line, f"framework id {fid!r} must be lower_snake_case")
    if fid != path.stem:
        raise LibraryError(path, doc.line, f"framework id {fid!r} must match the file name")
    reqs = doc.get("requirements")
    if not isinstance(reqs, _List) or not reqs:
        raise LibraryError(path, _line(reqs, doc.line), "'requirements' must be a non-empty list")
    seen: set[str] = set()
    out: list[Requirement] = []
    for item in reqs:
        node = _mapping(path, item, "a requirement", reqs.line, frozenset({"id", "title"}))
        rid = node.get("id")
        if not isinstance(rid, str) or not rid.strip():
            raise LibraryError(path, node.line, "a requirement's 'id' must be a non-empty "
                                                "string (quote numbers like \"3.5.1\")")
        if rid in seen:
            raise LibraryError(path, node.line, f"requirement {rid!r} appears twice")
        seen.add(rid)
        out.append(Requirement(framework=fid, id=rid, title=_text(path, node, "title",
                                                                  max_len=160)))
    return Framework(id=fid, name=_text(path, doc, "name", max_len=80),
                     version=_text(path, doc, "version", max_len=200),
                     source=_text(path, doc, "source"), licence=_text(path, doc, "licence"),
                     coverage=_text(path, doc, "coverage"), requirements=tuple(out))


def load_controls(path: Path, frameworks: dict[str, Framework]) -> tuple[Control, ...]:
    doc = _mapping(path, _read(path), "the file", 1, frozenset({"controls"}))
    items = doc.get("controls")
    if not isinstance(items, _List) or not items:
        raise LibraryError(path, _line(items, doc.line), "'controls' must be a non-empty list")
    known = {f.id: {r.id for r in f.requirements} for f in frameworks.values()}
    seen: set[str] = set()
    out: list[Control] = []
    for item in items:
        node = _mapping(path, item, "a control", items.line, _CONTROL_KEYS)
        cid = _text(path, node, "id", max_len=40)
        if not _CONTROL_ID.match(cid):
            raise LibraryError(path, node.line, f"control id {cid!r} must look like SG-AC-01")
        if cid in seen:
            raise LibraryError(path, node.line, f"control {cid!r} appears twice")
        seen.add(cid)
        check = _text(path, node, "check", max_len=60)
        if not _CHECK.match(check):
            raise LibraryError(path, node.line, f"check name {check!r} must be lower_snake_case")
        maps_node = _mapping(path, node.get("maps"), "'maps'", node.line, frozenset(known))
        pairs: list[tuple[str, str]] = []
        for fid, rids in maps_node.items():
            if not isinstance(rids, _List) or not rids:
                raise LibraryError(path, maps_node.line,
                                   f"maps.{fid} must be a non-empty list of requirement ids")
            for rid in rids:
                if not isinstance(rid, str) or rid not in known[fid]:
                    raise LibraryError(path, rids.line,
                                       f"control {cid}: {fid} has no requirement {rid!r}")
                if (fid, rid) not in pairs:
                    pairs.append((fid, rid))
        if not pairs:
            raise LibraryError(path, maps_node.line, f"control {cid} maps to no requirement")
        cadence = node.get("cadence_days")
        if cadence is not None and (check != MANUAL or isinstance(cadence, bool)
                                    or not isinstance(cadence, int) or not 1 <= cadence <= 3660):
            raise LibraryError(path, node.line, f"control {cid}: cadence_days must be a whole "
                                                "number of days from 1 to 3660, and only on a "
                                                "control whose check is 'manual'")
        out.append(Control(id=cid, title=_text(path, node, "title", max_len=120),
                           description=_text(path, node, "description"), check=check,
                           maps=tuple(pairs), cadence_days=cadence))
    return tuple(out)


def load(directory: Path | None = None) -> Library:
    """Every framework in ``directory/frameworks/*.yaml`` and the controls of
    ``directory/controls.yaml`` (default: the files beside this module)."""
    base = directory or BUILTIN_DIR
    files = sorted((base / "frameworks").glob("*.yaml"))
    if not files:
        raise LibraryError(base / "frameworks", 0, "no framework files (*.yaml)")
    frameworks = {f.id: f for f in (load_framework(p) for p in files)}
    controls = load_controls(base / "controls.yaml", frameworks)
    order = sorted(frameworks.values(), key=lambda f: f.name.lower())
    return Library(frameworks=tuple(order), controls=controls)
