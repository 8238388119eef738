"""Operator-defined detectors from a YAML file: a pattern, an optional python-stdnum
validator and context words, without code (R-DATA-2).

```yaml
version: 1
detectors:
  - type: DE_TAX_ID                  # UPPER_SNAKE_CASE, not a built-in type
    pattern: '(?<![0-9])[1-9][0-9]{10}(?![0-9])'
    validator: stdnum.de.idnr        # optional: any python-stdnum module with is_valid()
    score: 0.6                       # optional base score, default 0.6
    context: [steuer-id, tax id, idnr]
    context_boost: 0.3               # optional, default 0.3
    negative_context: [order]        # optional
    negative_penalty: 0.3            # optional, default 0.3
```

Every field is checked when the file is loaded; a bad file raises `DetectorConfigError`
naming the entry and the field, so a broken configuration never silently scans nothing.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .context import ContextRule
from .contracts import BUILTIN_TYPES, KNOWN_PREFIX, DetectorConfigError, Finding
from .state import ScanState

_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
_VALIDATOR_NAME = re.compile(r"stdnum(?:\.[a-z_][a-z0-9_]*)+")
_FIELDS = frozenset(
    {
        "type",
        "name",
        "pattern",
        "validator",
        "score",
        "context",
        "context_boost",
        "negative_context",
        "negative_penalty",
        "context_window",
        "ignore_case",
        "group",
    }
)


@dataclass(frozen=True, slots=True)
class CustomDetector:
    """One operator-defined detector: every regex match the validator accepts is a finding."""

    type: str
    name: str
    pattern: re.Pattern[str]
    score: float
    context: ContextRule | None = None
    validator: Callable[[str], bool] | None = None
    validator_name: str | None = None
    group: int = 0

    def scan(self, state: ScanState) -> None:
        """Add this detector's candidates for ``state.text``."""
        for match in self.pattern.finditer(state.text):
            start, end = match.span(self.group)
            if start < 0 or start == end:
                continue
            value = match.group(self.group)
            if self.validator is not None and not self.validator(value):
                continue
            reason = f"pattern:{self.name}"
            if self.validator_name:
                reason += f"+{self.validator_name}"
            score = self.score
            if self.context is not None:
                score, why = self.context.score(state.lowered, start, end, score)
                reason += why
            state.add(Finding(self.type, start, end, score, reason, f"custom:{self.name}"))


def load_custom_detectors(path: str | Path) -> tuple[CustomDetector, ...]:
    """Read and check a detector file; raises DetectorConfigError on any problem."""
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DetectorConfigError(f"{source}: cannot read detector file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DetectorConfigError(f"{source}: not valid YAML: {exc}") from exc
    return parse_custom_detectors(document, source=str(source))


def parse_custom_detectors(
    document: Any, *, source: str = "<detectors>"
) -> tuple[CustomDetector, ...]:
    """Check an already-parsed detector document (a mapping with a ``detectors`` list)."""
    if not isinstance(document, Mapping):
        raise DetectorConfigError(f"{source}: expected a mapping with a 'detectors' list")
    unknown = set(document) - {"version", "detectors"}
    if unknown:
        raise DetectorConfigError(f"{source}: unknown top-level keys {sorted(unknown)}")
    if document.get("version", 1) != 1:
        raise DetectorConfigError(f"{source}: unsupported version {document.get('version')!r}")
    entries = document.get("detectors")
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        raise DetectorConfigError(f"{source}: 'detectors' must be a list")
    detectors = [
        _parse_entry(entry, f"{source}: detector #{i + 1}") for i, entry in enumerate(entries)
    ]
    names = [d.name for d in detectors]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DetectorConfigError(f"{source}: duplicate detector names {duplicates}")
    return tuple(detectors)


def _parse_entry(entry: Any, where: str) -> CustomDetector:
    if not isinstance(entry, Mapping):
        raise DetectorConfigError(f"{where}: expected a mapping")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise DetectorConfigError(f"{where}: unknown fields {sorted(unknown)}")
    type_name = entry.get("type")
    if not isinstance(type_name, str) or not _TYPE_NAME.fullmatch(type_name):
        raise DetectorConfigError(f"{where}: 'type' must be UPPER_SNAKE_CASE, got {type_name!r}")
    where = f"{where} ({type_name})"
    if type_name in BUILTIN_TYPES or type_name.startswith(KNOWN_PREFIX):
        raise DetectorConfigError(f"{where}: 'type' may not reuse a built-in or KNOWN_ type")
    name = entry.get("name", type_name.lower())
    if not isinstance(name, str) or not name.strip():
        raise DetectorConfigError(f"{where}: 'name' must be a non-empty string")
    pattern = _pattern(entry, where)
    group = entry.get("group", 0)
    if not isinstance(group, int) or isinstance(group, bool) or not 0 <= group <= pattern.groups:
        raise DetectorConfigError(f"{where}: 'group' must be 0..{pattern.groups}, got {group!r}")
    score = _fraction(entry, "score", 0.6, where)
    validator_name = entry.get("validator")
    validator = _validator(validator_name, where) if validator_name is not None else None
    context = None
    positive = _words(entry, "context", where)
    negative = _words(entry, "negative_context", where)
    if positive or negative:
        window = entry.get("context_window", 48)
        if not isinstance(window, int) or isinstance(window, bool) or not 0 < window <= 500:
            raise DetectorConfigError(f"{where}: 'context_window' must be 1..500 characters")
        context = ContextRule(
            positive=positive,
            negative=negative,
            boost=_fraction(entry, "context_boost", 0.3, where),
            penalty=_fraction(entry, "negative_penalty", 0.3, where),
            before=window,
            after=window // 2,
        )
    return CustomDetector(
        type=type_name,
        name=name.strip(),
        pattern=pattern,
        score=score,
        context=context,
        validator=validator,
        validator_name=validator_name,
        group=group,
    )


def _pattern(entry: Mapping[str, Any], where: str) -> re.Pattern[str]:
    raw = entry.get("pattern")
    if not isinstance(raw, str) or not raw:
        raise DetectorConfigError(f"{where}: 'pattern' must be a non-empty string")
    ignore_case = entry.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise DetectorConfigError(f"{where}: 'ignore_case' must be true or false")
    try:
        pattern = re.compile(raw, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise DetectorConfigError(
            f"{where}: 'pattern' is not a valid regular expression: {exc}"
        ) from exc
    if pattern.fullmatch("") is not None:
        raise DetectorConfigError(f"{where}: 'pattern' must not match the empty string")
    return pattern


def _fraction(entry: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise DetectorConfigError(f"{where}: '{key}' must be a number between 0 and 1")
    return float(value)


def _words(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(w, str) and w.strip() for w in value):
        raise DetectorConfigError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(w.strip() for w in value)


def _validator(name: Any, where: str) -> Callable[[str], bool]:
    if not isinstance(name, str) or not _VALIDATOR_NAME.fullmatch(name):
        raise DetectorConfigError(
            f"{where}: 'validator' must name a python-stdnum module such as 'stdnum.de.idnr'"
        )
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise DetectorConfigError(f"{where}: validator module {name!r} not found") from exc
    is_valid = getattr(module, "is_valid", None)
    if not callable(is_valid):
        raise DetectorConfigError(f"{where}: validator module {name!r} has no is_valid()")

    def validate(value: str) -> bool:
        try:
            return bool(is_valid(value))
        except Exception:  # noqa: BLE001 - a validator bug must not abort a scan
            return False

    return validate
