"""Single-event Sigma matching: pySigma's parsed condition tree compiled into Python closures.

pySigma parses the rule (modifiers applied, ``1 of``/``all of``/``them`` expanded, ``not``/``and``/
``or`` as a tree); this module turns each leaf into a predicate over one plain event dict, once,
at load time. Semantics (docs/detection.md, "Matching"):

- strings compare case-insensitively (Sigma's default; ``|cased`` makes them exact), ``*`` and
  ``?`` are wildcards, ``contains``/``startswith``/``endswith`` are wildcards pySigma adds;
- ``|re`` searches (unanchored; ``|re|i``, ``|re|m``, ``|re|s`` set flags), ``|cidr`` tests an
  address, ``|lt``/``|gt``... compare numbers, ``|exists`` tests presence, ``|fieldref`` compares
  two fields; ``null`` matches a missing or null field;
- a list value in the event matches when any element matches;
- a value list in the rule is OR-linked, or AND-linked with ``|all``.

It also works out which ``action`` values a rule can match at all, so the engine looks at a rule
only for events with one of those actions (the rule index; decision 0202).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
)

from safeguard.detection.engine.fields import MISSING, getter

Event = Mapping[str, Any]
Predicate = Callable[[Event], bool]
ValueTest = Callable[[Any], bool]


class UnsupportedSigma(ValueError):
    """A construct the engine cannot evaluate; the rule is refused at load with this reason."""


def compile_condition(node: Any) -> Predicate:  # noqa: PLR0911 - one return per node shape
    """One predicate for a postprocessed pySigma condition tree."""
    if isinstance(node, ConditionAND):
        parts = tuple(compile_condition(arg) for arg in node.args)
        if len(parts) == 2:  # the common shapes get no generator per event (hot path)
            a, b = parts
            return lambda event: a(event) and b(event)
        if len(parts) == 3:
            a, b, c = parts
            return lambda event: a(event) and b(event) and c(event)
        return lambda event: all(p(event) for p in parts)
    if isinstance(node, ConditionOR):
        parts = tuple(compile_condition(arg) for arg in node.args)
        if len(parts) == 2:
            a, b = parts
            return lambda event: a(event) or b(event)
        return lambda event: any(p(event) for p in parts)
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0])
        return lambda event: not inner(event)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_predicate(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        test = _value_test(node.value)
        return lambda event: any(test(v) for v in _leaves(event))
    raise UnsupportedSigma(f"condition element {type(node).__name__} is not supported")


def _leaves(value: Any) -> Iterator[Any]:
    """Every scalar in an event (keyword search looks at all of them)."""
    if isinstance(value, Mapping):
        for inner in value.values():
            yield from _leaves(inner)
    elif isinstance(value, (list, tuple)):
        for inner in value:
            yield from _leaves(inner)
    elif value is not None:
        yield value


def _field_predicate(name: str, value: SigmaType) -> Predicate:
    get = getter(name)
    if isinstance(value, SigmaNull):
        return lambda event: get(event) in (MISSING, None)
    if isinstance(value, SigmaExists):
        wanted = bool(value)
        return lambda event: (get(event) not in (MISSING, None)) is wanted
    if isinstance(value, SigmaFieldReference):
        other = getter(value.field)

        def same(event: Event) -> bool:
            mine, theirs = get(event), other(event)
            if mine in (MISSING, None) or theirs in (MISSING, None):
                return False
            return str(mine).lower() == str(theirs).lower()
        return same
    if isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString) \
            and not value.contains_special():
        lowered = value.to_plain().lower()

        def equals(event: Event) -> bool:  # plain string equality: the hot path
            found = get(event)
            if isinstance(found, str):
                return found == lowered or found.lower() == lowered
            if found is MISSING or found is None:
                return False
            if isinstance(found, (list, tuple)):
                return any(_as_text(v).lower() == lowered for v in found if v is not None)
            return _as_text(found).lower() == lowered
        return equals
    test = _value_test(value)

    def check(event: Event) -> bool:
        found = get(event)
        if found is MISSING or found is None:
            return False
        if isinstance(found, (list, tuple)):
            return any(test(v) for v in found if v is not None)
        return test(found)
    return check


def _as_text(found: Any) -> str:
    if isinstance(found, bool):
        return "true" if found else "false"
    return str(found)


def _value_test(value: SigmaType) -> ValueTest:  # noqa: PLR0911 - one return per Sigma type
    if isinstance(value, SigmaExpansion):
        tests = tuple(_value_test(v) for v in value.values)
        return lambda found: any(t(found) for t in tests)
    if isinstance(value, SigmaString):
        cased = isinstance(value, SigmaCasedString)
        if value.contains_special():
            pattern = value.to_regex().regexp.to_plain()
            rx = re.compile(pattern, 0 if cased else re.IGNORECASE | re.DOTALL)
            return lambda found: rx.fullmatch(_as_text(found)) is not None
        plain = value.to_plain()
        if cased:
            return lambda found: _as_text(found) == plain
        lowered = plain.lower()
        return lambda found: _as_text(found).lower() == lowered
    if isinstance(value, SigmaBool):
        wanted_bool = bool(value.boolean)
        return lambda found: (found is wanted_bool) or (
            isinstance(found, str) and found.lower() == ("true" if wanted_bool else "false"))
    if isinstance(value, SigmaNumber):
        number = value.number
        text = str(number)

        def num_equal(found: Any) -> bool:
            if isinstance(found, bool):
                return False
            if isinstance(found, (int, float)):
                return found == number
            return str(found) == text
        return num_equal
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
        if SigmaRegularExpressionFlag.IGNORECASE in value.flags:
            flags |= re.IGNORECASE
        rx = re.compile(str(value.regexp), flags)
        return lambda found: rx.search(_as_text(found)) is not None
    if isinstance(value, SigmaCIDRExpression):
        network = value.network

        def in_network(found: Any) -> bool:
            try:
                return ipaddress.ip_address(str(found)) in network
            except ValueError:
                return False
        return in_network
    if isinstance(value, SigmaCompareExpression):
        bound = value.number.number
        op = value.op
        compare: Callable[[float], bool] = {
            CompareOperators.LT: lambda x: x < bound,
            CompareOperators.LTE: lambda x: x <= bound,
            CompareOperators.GT: lambda x: x > bound,
            CompareOperators.GTE: lambda x: x >= bound,
            CompareOperators.NEQ: lambda x: x != bound,
        }[op]

        def numeric(found: Any) -> bool:
            if isinstance(found, bool):
                return False
            try:
                return compare(float(found))
            except (TypeError, ValueError):
                return False
        return numeric
    raise UnsupportedSigma(f"value type {type(value).__name__} is not supported")


def required_actions(node: Any) -> frozenset[str] | None:  # noqa: PLR0911 - per node type
    """The lower-cased ``action`` values an event must have to match, or None (any action)."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        value = node.value
        if node.field == "action" and isinstance(value, SigmaString) \
                and not value.contains_special() and not isinstance(value, SigmaCasedString):
            return frozenset({value.to_plain().lower()})
        return None
    if isinstance(node, ConditionAND):
        sets = [s for s in (required_actions(a) for a in node.args) if s is not None]
        if not sets:
            return None
        out = sets[0]
        for other in sets[1:]:
            out = out & other
        return out
    if isinstance(node, ConditionOR):
        union: set[str] = set()
        for arg in node.args:
            found = required_actions(arg)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    return None


def fields_named(node: Any) -> Iterator[str]:
    """Every field a condition tree names (to check them against the catalogue)."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        yield node.field
        if isinstance(node.value, SigmaFieldReference):
            yield node.value.field
    elif isinstance(node, ConditionItem):
        for arg in node.args:
            yield from fields_named(arg)
