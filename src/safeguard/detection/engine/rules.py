"""Loading and validating a Sigma rule pack: pySigma parses, this module compiles and locates.

A pack is a set of YAML files (one or more documents each). Every document is parsed by pySigma
(``SigmaRule`` / ``SigmaCorrelationRule``), then checked for what this engine needs: log source
``product: safeguard``, an ``id`` (alerts are keyed on it), fields from the catalogue
(``fields.FIELDS`` or ``data.*`` / ``context.*``), correlation features the streaming evaluator
supports. Any error refuses the whole pack with the file, the line and the reason, and the caller
keeps the pack it had (R-OPS-6; decision 0201).

Safeguard's own rule attributes (plain Sigma custom attributes, ignored by other tools):
``entity`` (list of fields naming what a single-event finding is about; default the actor) and
``dedup-window`` (a Sigma timespan such as ``1h``: one finding per entity and window instead of
one per event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationTimespan,
)
from sigma.exceptions import (
    SigmaConditionError,
    SigmaCorrelationConditionError,
    SigmaCorrelationTypeError,
    SigmaDateError,
    SigmaDescriptionError,
    SigmaError,
    SigmaIdentifierError,
    SigmaLevelError,
    SigmaLogsourceError,
    SigmaRuleNotFoundError,
    SigmaStatusError,
    SigmaTagError,
    SigmaTimespanError,
    SigmaTitleError,
)
from sigma.rule import SigmaDetectionItem, SigmaRule
from sigma.rule.base import SigmaYAMLLoader

from safeguard.detection.engine.contracts import SEVERITIES
from safeguard.detection.engine.fields import field_known
from safeguard.detection.engine.matcher import (
    Predicate,
    UnsupportedSigma,
    compile_condition,
    fields_named,
    required_actions,
)

LOGSOURCE_PRODUCT = "safeguard"
COUNT_TYPES = ("event_count", "value_count")
TEMPORAL_TYPES = ("temporal", "temporal_ordered")
SUPPORTED_CORRELATIONS = COUNT_TYPES + TEMPORAL_TYPES


@dataclass(frozen=True)
class RuleError:
    """Why a rule file is refused, where: ``path:line: reason``."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class RulePackError(ValueError):
    """A pack with at least one refused rule; nothing of it is used."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass(frozen=True)
class EventRule:
    """A single-event Sigma rule, compiled."""

    id: str
    name: str | None
    title: str
    level: str
    tags: tuple[str, ...]
    description: str
    predicate: Predicate = field(repr=False, compare=False)
    actions: frozenset[str] | None  # the actions it can match; None = any
    output: bool  # False when only a correlation uses it (Sigma ``generate: false``)
    entity_fields: tuple[str, ...]
    dedup_window: int | None  # seconds
    explain: str | None  # the rule's ``explain`` template, if any
    path: str
    line: int


@dataclass(frozen=True)
class CorrelationRule:
    """A Sigma correlation rule, compiled for the streaming evaluator."""

    id: str
    name: str | None
    title: str
    level: str
    tags: tuple[str, ...]
    description: str
    type: str  # one of SUPPORTED_CORRELATIONS
    rules: tuple[str, ...]  # ids of the event rules it counts, in the rule's order
    group_by: tuple[str, ...]
    aliases: Mapping[str, Mapping[str, str]]  # alias -> event rule id -> field
    timespan: int  # seconds
    threshold: float  # count (event_count/value_count) or number of rules (temporal)
    strict: bool  # True for ``gt`` (count must exceed), False for ``gte``
    value_field: str | None  # value_count's field
    explain: str | None  # the rule's ``explain`` template, if any
    path: str
    line: int


@dataclass(frozen=True)
class RulePack:
    """A validated, compiled pack; ``digest`` names its exact content (checkpoints carry it)."""

    event_rules: tuple[EventRule, ...]
    correlations: tuple[CorrelationRule, ...]
    files: tuple[str, ...]
    digest: str

    def rule(self, rule_id: str) -> EventRule | CorrelationRule:
        for event_rule in self.event_rules:
            if event_rule.id == rule_id:
                return event_rule
        for correlation in self.correlations:
            if correlation.id == rule_id:
                return correlation
        raise KeyError(rule_id)


# --- line numbers -----------------------------------------------------------------------------

Lines = dict[tuple[Any, ...], int]


def _node_lines(node: yaml.Node, path: tuple[Any, ...], out: Lines) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            out[sub] = key.start_mark.line + 1
            _node_lines(value, sub, out)
            out[sub] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, (*path, i), out)


def _line(lines: Lines, *path: Any) -> int:
    """The line of the deepest known prefix of ``path``."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return 1


# --- validation -------------------------------------------------------------------------------

_LOCATION_BY_ERROR: tuple[tuple[type[SigmaError], tuple[str, ...]], ...] = (
    (SigmaLogsourceError, ("logsource",)),
    (SigmaIdentifierError, ("id",)),
    (SigmaLevelError, ("level",)),
    (SigmaStatusError, ("status",)),
    (SigmaTitleError, ("title",)),
    (SigmaDateError, ("date",)),
    (SigmaTagError, ("tags",)),
    (SigmaDescriptionError, ("description",)),
    (SigmaTimespanError, ("correlation", "timespan")),
    (SigmaCorrelationTypeError, ("correlation", "type")),
    (SigmaCorrelationConditionError, ("correlation", "condition")),
    (SigmaRuleNotFoundError, ("correlation", "rules")),
    (SigmaConditionError, ("detection", "condition")),
)


def _locate_detection_error(  # noqa: PLR0912 - the three shapes of a Sigma detection
        doc: Mapping[str, Any], lines: Lines) -> tuple[Any, ...] | None:
    """Probe each detection item alone to find the one pySigma refuses."""
    detection = doc.get("detection")
    if not isinstance(detection, Mapping):
        return ("detection",)
    for name, definition in detection.items():
        if name == "condition":
            continue
        items: list[tuple[tuple[Any, ...], Any]] = []
        if isinstance(definition, Mapping):
            items = [((name, k), {k: v}) for k, v in definition.items()]
        elif isinstance(definition, list):
            for i, item in enumerate(definition):
                if isinstance(item, Mapping):
                    items += [((name, i, k), {k: v}) for k, v in item.items()]
                else:
                    items.append(((name, i), item))
        else:
            items = [((name,), definition)]
        for path, item in items:
            try:
                if isinstance(item, Mapping):
                    ((key, value),) = item.items()
                    SigmaDetectionItem.from_mapping(key, value)
                else:
                    SigmaDetectionItem.from_value(item)
            except (SigmaError, ValueError, TypeError):
                return ("detection", *path)
    return None


def _error_path(exc: Exception, doc: Mapping[str, Any], lines: Lines) -> tuple[Any, ...]:
    for cls, path in _LOCATION_BY_ERROR:
        if isinstance(exc, cls):
            return path
    found = _locate_detection_error(doc, lines) if "detection" in doc else None
    if found is not None:
        return found
    text = str(exc).lower()
    if "correlation" in doc:
        for key in ("group-by", "timespan", "condition", "rules", "type", "aliases"):
            if key in text:
                return ("correlation", key)
        return ("correlation",)
    return ()


def _detection_keys(detection: Mapping[str, Any]) -> Iterable[tuple[tuple[Any, ...], str]]:
    """(path below ``detection``, field name) for every field-bound detection item."""
    for name, definition in detection.items():
        if name == "condition":
            continue
        maps: list[tuple[tuple[Any, ...], Mapping[str, Any]]] = []
        if isinstance(definition, Mapping):
            maps = [((name,), definition)]
        elif isinstance(definition, list):
            maps = [((name, i), d) for i, d in enumerate(definition) if isinstance(d, Mapping)]
        for prefix, mapping in maps:
            for key in mapping:
                fieldname = str(key).split("|", 1)[0]
                if fieldname:
                    yield (*prefix, key), fieldname


def _level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    level = str(rule.level) if rule.level is not None else "medium"
    return level if level in SEVERITIES else "medium"


def _common(rule: SigmaRule | SigmaCorrelationRule) -> dict[str, Any]:
    return {
        "id": str(rule.id),
        "name": rule.name,
        "title": rule.title,
        "level": _level(rule),
        "tags": tuple(str(t) for t in rule.tags),
        "description": rule.description or "",
    }


@dataclass
class _Parsed:
    rule: SigmaRule | SigmaCorrelationRule
    doc: Mapping[str, Any]
    lines: Lines
    path: str


def _check_event_rule(  # noqa: PLR0912 - one check per rule part, each with its line
        p: _Parsed, errors: list[RuleError]) -> EventRule | None:
    rule = p.rule
    if not isinstance(rule, SigmaRule):
        raise TypeError(rule)
    doc, lines, path = p.doc, p.lines, p.path
    before = len(errors)
    if (rule.logsource.product or "") != LOGSOURCE_PRODUCT:
        errors.append(RuleError(path, _line(lines, "logsource"),
                                f"log source must be product: {LOGSOURCE_PRODUCT} "
                                f"(got {rule.logsource.product!r})"))
    detection = doc.get("detection")
    flagged: set[str] = set()  # unknown fields already reported at their own line
    if isinstance(detection, Mapping):
        for key_path, fieldname in _detection_keys(detection):
            if not field_known(fieldname):
                flagged.add(fieldname)
                errors.append(RuleError(path, _line(lines, "detection", *key_path),
                                        f"unknown field {fieldname!r}: use a field of "
                                        "docs/detection.md (Fields), data.* or context.*"))
    entity = doc.get("entity", ["actor"])
    if isinstance(entity, str):
        entity = [entity]
    if not isinstance(entity, list) or not all(
            isinstance(e, str) and (e == "actor" or field_known(e)) for e in entity):
        errors.append(RuleError(path, _line(lines, "entity"),
                                "entity must be 'actor' or a list of known fields"))
        entity = ["actor"]
    window = _timespan(doc, "dedup-window", lines, path, errors)
    predicates = []
    try:
        for condition in rule.detection.parsed_condition:
            tree = condition.parse()
            errors.extend(RuleError(path, _line(lines, "detection", "condition"),
                                    f"unknown field {fieldname!r}")
                          for fieldname in fields_named(tree)
                          if not field_known(fieldname) and fieldname not in flagged)
            predicates.append((compile_condition(tree), required_actions(tree)))
    except UnsupportedSigma as exc:
        errors.append(RuleError(path, _line(lines, "detection"), str(exc)))
    except SigmaError as exc:
        errors.append(RuleError(path, _line(lines, *_error_path(exc, doc, lines)), _reason(exc)))
    if len(errors) > before or not predicates:
        return None
    if len(predicates) == 1:
        predicate, actions = predicates[0]
    else:  # several conditions are OR-linked (Sigma 1.0)
        preds = tuple(pr for pr, _ in predicates)
        action_sets = [a for _, a in predicates]

        def predicate(event: Mapping[str, Any]) -> bool:
            return any(pr(event) for pr in preds)
        actions = None if any(a is None for a in action_sets) else frozenset().union(
            *(a for a in action_sets if a is not None))
    return EventRule(**_common(rule), predicate=predicate, actions=actions,
                     output=rule._output,
                     entity_fields=tuple(entity), dedup_window=window,
                     explain=_explain(doc, lines, path, errors), path=path,
                     line=_line(lines))


def _timespan(doc: Mapping[str, Any], key: str, lines: Lines, path: str,
              errors: list[RuleError]) -> int | None:
    if key not in doc:
        return None
    try:
        return SigmaCorrelationTimespan(str(doc[key])).seconds
    except SigmaTimespanError as exc:
        errors.append(RuleError(path, _line(lines, key), _reason(exc)))
        return None


def _check_correlation(  # noqa: PLR0912 - one check per correlation part, each with its line
        p: _Parsed, by_ref: Mapping[str, EventRule | str],
                       errors: list[RuleError]) -> CorrelationRule | None:
    rule = p.rule
    if not isinstance(rule, SigmaCorrelationRule):
        raise TypeError(rule)
    lines, path = p.lines, p.path
    before = len(errors)
    kind = rule.type.name.lower()
    if kind not in SUPPORTED_CORRELATIONS:
        errors.append(RuleError(path, _line(lines, "correlation", "type"),
                                f"correlation type {kind!r} is not supported; use one of "
                                + ", ".join(SUPPORTED_CORRELATIONS)))
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        errors.append(RuleError(path, _line(lines, "correlation", "condition"),
                                "extended (boolean) correlation conditions are not supported"))
        return None
    if condition.op not in (SigmaCorrelationConditionOperator.GTE,
                            SigmaCorrelationConditionOperator.GT):
        errors.append(RuleError(path, _line(lines, "correlation", "condition"),
                                f"condition operator {condition.op.name.lower()!r} is not "
                                "supported by the streaming evaluator; use gte or gt"))
    refs: list[str] = []
    for i, ref in enumerate(rule.rules or []):
        target = by_ref.get(ref.reference)
        if target is None:
            errors.append(RuleError(path, _line(lines, "correlation", "rules", i),
                                    f"rule {ref.reference!r} is not in the pack"))
        elif isinstance(target, str):
            errors.append(RuleError(path, _line(lines, "correlation", "rules", i),
                                    f"rule {ref.reference!r} is a correlation; nesting "
                                    "correlations is not supported"))
        else:
            refs.append(target.id)
    aliases: dict[str, dict[str, str]] = {}
    for alias in rule.aliases:
        mapping: dict[str, str] = {}
        for ref, fieldname in alias.mapping.items():
            target = by_ref.get(ref.reference)
            if not isinstance(target, EventRule) or not field_known(fieldname):
                errors.append(RuleError(path, _line(lines, "correlation", "aliases", alias.alias),
                                        f"alias {alias.alias!r}: {ref.reference!r} must be a "
                                        f"rule of this correlation and {fieldname!r} a known "
                                        "field"))
                continue
            mapping[target.id] = fieldname
        aliases[alias.alias] = mapping
    group_by = tuple(rule.group_by or ())
    errors.extend(RuleError(path, _line(lines, "correlation", "group-by"),
                            f"group-by field {name!r} is neither a known field nor an alias")
                  for name in group_by if name not in aliases and not field_known(name))
    value_field = condition.fieldref if isinstance(condition.fieldref, str) else None
    if kind == "value_count" and (value_field is None or not field_known(value_field)):
        errors.append(RuleError(path, _line(lines, "correlation", "condition"),
                                "value_count needs condition.field naming a known field"))
    explain = _explain(p.doc, lines, path, errors)
    if len(errors) > before:
        return None
    # temporal: how many of the rules must be seen (pySigma's default: all of them);
    # temporal_ordered always needs all of them, in order
    threshold = float(condition.count)
    return CorrelationRule(**_common(rule), type=kind, rules=tuple(refs), group_by=group_by,
                           aliases=aliases, timespan=rule.timespan.seconds, threshold=threshold,
                           strict=condition.op is SigmaCorrelationConditionOperator.GT,
                           value_field=value_field, explain=explain, path=path,
                           line=_line(lines))


_EXPLAIN_KEYS = {"count": 1, "distinct": 1, "entity": "e", "timespan": "1 h", "threshold": 1,
                 "action": "a", "outcome": "o", "subject": "s", "source_ip": "i"}


def _explain(doc: Mapping[str, Any], lines: Lines, path: str,
             errors: list[RuleError]) -> str | None:
    """The ``explain`` template, checked: only the documented placeholders may appear."""
    text = doc.get("explain")
    if text is None:
        return None
    try:
        str(text).format(**_EXPLAIN_KEYS)
    except (KeyError, IndexError, ValueError) as exc:
        errors.append(RuleError(path, _line(lines, "explain"),
                                f"explain template: unknown or malformed placeholder {exc}"))
        return None
    return str(text)


def _reason(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return str(text)


def _parse_text(text: str, path: str, errors: list[RuleError]) -> list[_Parsed]:
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        docs = list(yaml.load_all(text, Loader=SigmaYAMLLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        errors.append(RuleError(path, line, f"not valid YAML: {exc.problem or exc}"))
        return []
    except yaml.YAMLError as exc:
        errors.append(RuleError(path, 1, f"not valid YAML: {exc}"))
        return []
    out: list[_Parsed] = []
    for node, doc in zip(nodes, docs, strict=True):
        if doc is None:
            continue
        lines: Lines = {}
        if node is not None:
            _node_lines(node, (), lines)
        if not isinstance(doc, dict):
            errors.append(RuleError(path, _line(lines), "a rule must be a YAML mapping"))
            continue
        if "filter" in doc and "detection" not in doc:
            errors.append(RuleError(path, _line(lines, "filter"),
                                    "Sigma filter documents are not supported; put the exclusion "
                                    "in the rule's condition (decision 0208)"))
            continue
        try:
            rule: SigmaRule | SigmaCorrelationRule
            if "correlation" in doc:
                rule = SigmaCorrelationRule.from_dict(doc)
            else:
                rule = SigmaRule.from_dict(doc)
        except SigmaError as exc:
            errors.append(RuleError(path, _line(lines, *_error_path(exc, doc, lines)),
                                    _reason(exc)))
            continue
        if rule.id is None:
            errors.append(RuleError(path, _line(lines),
                                    "a rule needs an id (a UUID): alerts are keyed on it"))
            continue
        out.append(_Parsed(rule=rule, doc=doc, lines=lines, path=path))
    return out


def compile_pack(  # noqa: PLR0912 - parse, cross-check ids and references, compile
        sources: Iterable[tuple[str, str]]) -> RulePack:
    """Validate and compile (path, YAML text) pairs; raise RulePackError naming every problem."""
    errors: list[RuleError] = []
    parsed: list[_Parsed] = []
    digest = hashlib.sha256()
    files: list[str] = []
    for path, text in sources:
        files.append(path)
        digest.update(path.encode() + b"\0" + text.encode() + b"\0")
        parsed += _parse_text(text, path, errors)
    seen: dict[str, _Parsed] = {}
    for p in parsed:
        rid = str(p.rule.id)
        if rid in seen:
            errors.append(RuleError(p.path, _line(p.lines, "id"),
                                    f"duplicate rule id {rid} (also in {seen[rid].path})"))
        seen[rid] = p
    # Let pySigma resolve references (it also marks rules with generate: false).
    try:
        SigmaCollection([p.rule for p in parsed])
    except SigmaRuleNotFoundError:
        pass  # _check_correlation names the missing reference at its own line
    except SigmaError as exc:
        for p in parsed:
            if isinstance(p.rule, SigmaCorrelationRule):
                names = {r.reference for r in (p.rule.rules or [])}
                if any(n in str(exc) for n in names):
                    errors.append(RuleError(p.path, _line(p.lines, "correlation", "rules"),
                                            _reason(exc)))
                    break
        else:
            errors.append(RuleError(parsed[0].path if parsed else "?", 1, _reason(exc)))
    event_rules: list[EventRule] = []
    by_ref: dict[str, EventRule | str] = {}
    for p in parsed:
        if isinstance(p.rule, SigmaRule):
            compiled = _check_event_rule(p, errors)
            if compiled is not None:
                event_rules.append(compiled)
                by_ref[compiled.id] = compiled
                if compiled.name:
                    by_ref[compiled.name] = compiled
        else:
            by_ref[str(p.rule.id)] = str(p.rule.id)
            if p.rule.name:
                by_ref[p.rule.name] = str(p.rule.id)
    correlations: list[CorrelationRule] = []
    for p in parsed:
        if isinstance(p.rule, SigmaCorrelationRule):
            corr = _check_correlation(p, by_ref, errors)
            if corr is not None:
                correlations.append(corr)
    if errors:
        raise RulePackError(sorted(errors, key=lambda e: (e.path, e.line)))
    return RulePack(event_rules=tuple(event_rules), correlations=tuple(correlations),
                    files=tuple(files), digest=digest.hexdigest()[:16])


def rule_files(paths: Iterable[Path | str]) -> list[Path]:
    """The ``.yml``/``.yaml`` files named, directories searched recursively, sorted."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.suffix in (".yml", ".yaml"))
        else:
            out.append(p)
    return out


def load_pack(paths: Iterable[Path | str]) -> RulePack:
    """Load and compile the rule files at ``paths``; RulePackError if any file is refused."""
    sources: list[tuple[str, str]] = []
    errors: list[RuleError] = []
    for p in rule_files(paths):
        try:
            sources.append((str(p), p.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(RuleError(str(p), 1, f"cannot be read: {exc}"))
    if errors:
        raise RulePackError(errors)
    return compile_pack(sources)


SHIPPED_RULES = Path(__file__).resolve().parent.parent / "rules"


def shipped_pack() -> RulePack:
    """The rule pack shipped beside the code (src/safeguard/detection/rules/)."""
    return load_pack([SHIPPED_RULES])
