"""Known-value matching: find a customer's own profile values in a text without an NLP model.

Given values by category (``{"name": ["John Smith"], "account": ["12345678"]}``), every
occurrence is found in one Aho-Corasick pass (pyahocorasick), ignoring case and differences
in whitespace, so "John  SMITH" matches "john smith". Values made of digits (account and
phone numbers) also match when the text groups the digits differently ("1234 5678",
"12-345-678"), and a phone number given in international form also matches its national
form. Values are folded as texts are (``normalise.fold``): the engine matches them in the
folded view of a text and maps spans back, so a value written in full-width or other scripts'
digits is found. Offsets always point into the text given (R-DATA-2).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, cast

import ahocorasick
import phonenumbers

from .contracts import KNOWN_PREFIX, Finding, ScannerError
from .normalise import fold_text
from .overlap import resolve_overlaps

_CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# Whitespace other than one space: a run of non-space whitespace, or two or more of any. The
# lookahead (both alternatives start with whitespace) lets the engine skip other characters.
_ODD_SPACE = re.compile(r"(?=\s)(?:[^\S ]+|\s{2,})")
_NUMERIC_VALUE = re.compile(r"[0-9\s+().\-/]+")
_DIGIT_RUN = re.compile(r"[0-9](?:[ \-./()]{0,3}[0-9])*")
_MIN_DIGITS = 6
KNOWN_SCORE = 1.0


class _Automaton(Protocol):
    def add_word(self, key: str, value: object) -> bool: ...
    def make_automaton(self) -> None: ...
    def iter(self, text: str) -> Iterator[tuple[int, object]]: ...


def _new_automaton() -> _Automaton:
    return cast(_Automaton, ahocorasick.Automaton())


def _lower_preserving(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered


def normalise(value: str) -> str:
    """Lower-case and collapse whitespace: the form values and texts are compared in."""
    return " ".join(_lower_preserving(value).split())


class _Normalised:
    """A text lower-cased with whitespace runs collapsed, and the way back to its offsets.

    The collapsed text is made at C speed (one substitution); the table back to the text's
    offsets is built only when a value is found in it, which most texts never need."""

    __slots__ = ("_lowered", "_norm_starts", "_orig_starts", "text")

    def __init__(self, lowered: str) -> None:
        self._lowered = lowered  # _lower_preserving of the text: same length, same offsets
        self.text = _ODD_SPACE.sub(" ", lowered)
        self._norm_starts: list[int] = []
        self._orig_starts: list[int] = []

    def _table(self) -> None:
        norm_starts, orig_starts = [0], [0]
        size = 0
        last = 0
        for match in _ODD_SPACE.finditer(self._lowered):
            size += match.start() - last + 1
            last = match.end()
            norm_starts.append(size)
            orig_starts.append(last)
        self._norm_starts, self._orig_starts = norm_starts, orig_starts

    def original(self, index: int) -> int:
        """Offset in the original text of the character at ``index`` of the normalised one."""
        if not self._norm_starts:
            self._table()
        segment = bisect_right(self._norm_starts, index) - 1
        return self._orig_starts[segment] + index - self._norm_starts[segment]


def _type_for(category: str) -> str:
    if not _CATEGORY.fullmatch(category):
        raise ScannerError(f"known-value category {category!r} must be a word such as 'name'")
    upper = category.upper()
    return upper if upper.startswith(KNOWN_PREFIX) else KNOWN_PREFIX + upper


def _phone_variants(value: str) -> list[str]:
    if not value.lstrip().startswith("+"):
        return []
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return []
    national = phonenumbers.national_significant_number(number)
    region = phonenumbers.region_code_for_number(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region) if region else None
    prefix = metadata.national_prefix if metadata is not None else None
    return [national] + ([prefix + national] if prefix else [])


class KnownValues:
    """A reusable matcher for one set of known values (build once per customer profile)."""

    __slots__ = ("_anchors", "_numeric", "_textual", "types")

    def __init__(self, values: Mapping[str, Iterable[str]], *, min_length: int = 2) -> None:
        self._textual: _Automaton | None = None
        self._anchors: _Automaton | None = None
        self._numeric: _Automaton | None = None
        textual: dict[str, str] = {}
        numeric: dict[str, str] = {}
        types: set[str] = set()
        for category, items in values.items():
            kind = _type_for(category)
            types.add(kind)
            for given in [items] if isinstance(items, str) else items:
                raw = fold_text(given)  # as the text is folded (full-width, other scripts)
                value = normalise(raw)
                if len(value) < min_length:
                    continue
                digits = re.sub(r"[^0-9]", "", value)
                if len(digits) >= _MIN_DIGITS and _NUMERIC_VALUE.fullmatch(value):
                    for variant in [digits, *_phone_variants(raw)]:
                        numeric.setdefault(variant, kind)
                else:
                    textual.setdefault(value, kind)
        self.types = frozenset(types)
        if textual:
            self._textual = _new_automaton()
            for key, kind in textual.items():
                self._textual.add_word(key, (kind, len(key)))
            self._textual.make_automaton()
            # Each textual value's longest word: a value is found in the collapsed text only
            # where its words are, and a word (no whitespace in it) stands in the text's
            # lower-cased form as it stands in the collapsed one. Without any of them there is
            # nothing to collapse the text for.
            self._anchors = _new_automaton()
            for key in textual:
                anchor = max(key.split(" "), key=len)
                self._anchors.add_word(anchor, len(anchor))
            self._anchors.make_automaton()
        if numeric:
            self._numeric = _new_automaton()
            for key, kind in numeric.items():
                self._numeric.add_word(key, (kind, len(key)))
            self._numeric.make_automaton()

    def find(self, text: str) -> list[Finding]:
        """Every occurrence of a known value in ``text``, ordered and non-overlapping."""
        found: list[Finding] = []
        if self._textual is not None and self._anchors is not None:
            lowered = _lower_preserving(text)
            if next(iter(self._anchors.iter(lowered)), None) is not None:
                found.extend(self._find_textual(lowered, self._textual))
        if self._numeric is not None:
            found.extend(self._find_numeric(text, self._numeric))
        return resolve_overlaps(found)

    @staticmethod
    def _find_textual(lowered: str, automaton: _Automaton) -> Iterator[Finding]:
        norm = _Normalised(lowered)
        haystack = norm.text
        size = len(haystack)
        for last, payload in automaton.iter(haystack):
            kind, length = cast(tuple[str, int], payload)
            first = last - length + 1
            if (haystack[first].isalnum() and first and haystack[first - 1].isalnum()) or (
                haystack[last].isalnum() and last + 1 < size and haystack[last + 1].isalnum()
            ):
                continue  # inside a longer word: "Ann" in "Annual"
            start, end = norm.original(first), norm.original(last) + 1
            yield Finding(kind, start, end, KNOWN_SCORE, f"known value ({kind})", "known")

    @staticmethod
    def _find_numeric(text: str, automaton: _Automaton) -> Iterator[Finding]:
        for run in _DIGIT_RUN.finditer(text):
            if run.end() - run.start() < _MIN_DIGITS:
                continue
            positions = [i for i in range(run.start(), run.end()) if "0" <= text[i] <= "9"]
            if len(positions) < _MIN_DIGITS:
                continue
            digits = "".join(text[i] for i in positions)
            for last, payload in automaton.iter(digits):
                kind, length = cast(tuple[str, int], payload)
                first = last - length + 1
                # Whole digit groups only: "12345678" does not match inside "9912345678".
                if first and positions[first] - positions[first - 1] == 1:
                    continue
                if last + 1 < len(positions) and positions[last + 1] - positions[last] == 1:
                    continue
                start, end = positions[first], positions[last] + 1
                if start and text[start - 1] == "+":
                    start -= 1
                yield Finding(kind, start, end, KNOWN_SCORE, f"known value ({kind})", "known")


def find_known(text: str, values: Mapping[str, Iterable[str]] | KnownValues) -> list[Finding]:
    """Find known values (by category) in ``text``; types are ``KNOWN_<CATEGORY>``."""
    matcher = values if isinstance(values, KnownValues) else KnownValues(values)
    return matcher.find(text)
