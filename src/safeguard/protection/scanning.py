"""The configured scanner (operator detectors, phone regions) and the redactors built on it.

``redact_for_logs`` is the function the logging pipeline (``safeguard.ops.logging``) is meant
to call instead of its Luhn-only floor; it masks every type in ``SAFEGUARD_LOG_REDACT_TYPES``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from django.conf import settings

from safeguard.protection.scanner import (
    PAN,
    Finding,
    Scanner,
    load_custom_detectors,
    resolve_overlaps,
)
from safeguard.protection.scanner.checks import PAN_MIN_DIGITS
from safeguard.protection.scanner.gate import may_hold_card
from safeguard.protection.scanner.numeric import UUID_SHAPE

_lock = threading.Lock()
_scanners: dict[tuple[str, tuple[str, ...], float], Scanner] = {}

# A digest or key id is not a card number: digits inside a long hex run are ignored by the
# guard (a card number written inside 32+ hex characters is an encoding, not an accident).
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{32,}")


def scanner(*, min_score: float | None = None) -> Scanner:
    """The scanner configured by settings (custom detectors file, default phone regions)."""
    from safeguard.protection.scanner import DEFAULT_MIN_SCORE

    path = settings.SAFEGUARD_SCANNER_DETECTORS_FILE or ""
    regions = tuple(settings.SAFEGUARD_SCANNER_REGIONS)
    score = DEFAULT_MIN_SCORE if min_score is None else min_score
    key = (path, regions, score)
    with _lock:
        found = _scanners.get(key)
        if found is None:
            detectors = load_custom_detectors(path) if path else ()
            found = Scanner(detectors=detectors, regions=regions, min_score=score)
            _scanners[key] = found
    return found


def reset() -> None:
    with _lock:
        _scanners.clear()
    _is_card.cache_clear()


# The guard's floor: digit groups joined by single separators, tried window by window.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ .\-][0-9]+)*(?![0-9])")
_GROUP = re.compile(r"[0-9]+")


@lru_cache(maxsize=4096)
def _is_card(digits: str) -> str | None:
    """The brand when the scanner validates ``digits`` alone as one card number."""
    found = scanner(min_score=0.0).scan(digits, types=[PAN])
    if len(found) == 1 and (found[0].start, found[0].end) == (0, len(digits)):
        return found[0].value_hint or "card"
    return None


def _floor(text: str) -> Iterator[Finding]:
    """Card numbers among the group-aligned windows of every digit run (defence in depth)."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(run.start() + g.start(), run.start() + g.end())
                  for g in _GROUP.finditer(run.group())]
        if sum(b - a for a, b in groups) < 13:
            continue
        for i in range(len(groups)):
            digits = ""
            for j in range(i, len(groups)):
                digits += text[groups[j][0]:groups[j][1]]
                if len(digits) > 19:
                    break
                brand = _is_card(digits) if len(digits) >= 13 else None
                if brand is not None:
                    yield Finding(PAN, groups[i][0], groups[j][1], 0.5,
                                  f"luhn+iin:{brand} (guard floor)", "protection.floor", brand)


def find_pans(text: str) -> list[Finding]:
    """Every card number the scanner validates (Luhn + IIN), at any score, outside digests.

    The guard's test: context words may lower a score ("order number"), but a valid card number
    is refused wherever it appears. A floor tries every group-aligned window of each digit run,
    so a number glued to another ("qty 2 4111 1111 1111 1111") is still found.
    """
    if len(text) < PAN_MIN_DIGITS and text.isascii():
        # The shortest card number, in digits or in words. Only for ASCII: one character of
        # other scripts may fold to two digits ("41⑪⑪⑪⑪⑪⑪⑪" is a Visa in 9 characters).
        return []
    # Digests (32+ hex characters) and UUIDs are blanked before scanning, not after: a card
    # number is never part of one, and scanning a frontier of hashes costs more than the rest.
    # Line breaks as filler keep offsets and never join the digit groups around them.
    text = UUID_SHAPE.sub(_blank, _HEX_RUN.sub(_blank, text))
    if not may_hold_card(text):
        # Fewer than 13 digits once folded and no run of number words: no pass, the floor
        # included, can report a card (scanner/gate.py, issue 10).
        return []
    found = scanner(min_score=0.0).scan(text, types=[PAN])
    extra = [f for f in _floor(text)
             if not any(f.start < g.end and g.start < f.end for g in found)]
    if extra:
        found = resolve_overlaps([*found, *extra])
    return found


def _blank(match: re.Match[str]) -> str:
    return "\n" * len(match.group())


def redact(text: str, *, types: Iterable[str] | None = None, template: str = "[{type}]") -> str:
    """``text`` with every finding of ``types`` replaced by ``template`` (default ``[TYPE]``)."""
    findings = scanner().scan(text, types=types)
    if types is None or PAN in set(types):
        # Card numbers at any score, like the guard.
        pans = [f for f in find_pans(text)
                if not any(f.start < g.end and g.start < f.end for g in findings)]
        findings = sorted([*findings, *pans], key=lambda f: f.start)
    out: list[str] = []
    last = 0
    for f in findings:
        out.append(text[last:f.start])
        out.append(template.format(type=f.type))
        last = f.end
    out.append(text[last:])
    return "".join(out)


def redact_for_logs(text: str) -> str:
    """Redact a log line: every type in ``SAFEGUARD_LOG_REDACT_TYPES`` becomes ``[REDACTED-T]``."""
    if not text:
        return text
    return redact(text, types=settings.SAFEGUARD_LOG_REDACT_TYPES,
                  template="[REDACTED-{type}]")


def redact_for_siem(text: str) -> str:
    """Redact a free-text SIEM field: every type in ``SAFEGUARD_SIEM_MASK_TYPES`` becomes
    ``[REDACTED-T]``."""
    if not text:
        return text
    return redact(text, types=settings.SAFEGUARD_SIEM_MASK_TYPES, template="[REDACTED-{type}]")


def redact_log_value(value: Any) -> Any:
    """Redact strings inside a structlog event value (dicts and lists walked)."""
    if isinstance(value, str):
        return redact_for_logs(value)
    if isinstance(value, dict):
        return {k: redact_log_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_log_value(v) for v in value]
    return value


def log_redact_processor(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: drop-in for ``ops.logging.redact_processor``."""
    return {k: redact_log_value(v) for k, v in event_dict.items()}


def mask_pans(text: str) -> str:
    """Replace every card number the no-PAN guard would refuse with ``[REDACTED-PAN]``.

    For values nobody screened because they come from outside a conversation — a request's
    User-Agent, a label — so recording them can never trip the guard.
    """
    found = find_pans(text)
    for f in sorted(found, key=lambda x: x.start, reverse=True):
        text = text[: f.start] + "[REDACTED-PAN]" + text[f.end :]
    return text
