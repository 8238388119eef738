"""Normalisation before matching: what a number is written in must not hide it (R-OPS-2, R-DATA-2).

The detector passes read ASCII digits and a few separators. Text is folded first, one character
at a time, into a *view* the passes scan:

* NFKC compatibility mapping of each character (full-width ``４`` and ``Ｂ``, superscripts,
  the ideographic space, full-width punctuation ``－`` ``，`` ``／``);
* every Unicode decimal digit (``unicodedata.decimal``: Arabic-Indic, Devanagari, Thai,
  mathematical bold, ...) becomes its ASCII digit;
* every non-ASCII whitespace (no-break, thin, narrow no-break, line separator, ...) becomes a
  space, every dash (category Pd, the minus sign ``−`` and its look-alikes) a hyphen-minus;
* format characters (category Cf: zero-width space and joiners, soft hyphen, word joiner, BOM,
  bidirectional marks) and control characters that are not whitespace (C0 such as NUL and ESC,
  DEL, C1) are dropped, and so are combining marks (category Mn) written after a digit, so
  nothing invisible splits a number.

Most text needs none of it: `fold` looks for a character that folds with one regular
expression and returns the text itself when there is none (ASCII text never pays more than a
search for a control character). When every folding character maps to exactly one character
the view has the original's offsets; otherwise (a dropped format or control character, a
character whose NFKC form is longer) a table maps each view offset back to the original, and
`Folded.span` turns a span of the view into the span of the original text that covers the same
characters.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Dashes that are not in category Pd but are written as one between digit groups.
_EXTRA_DASHES = "\u2212\u2043\u02d7\u2796\ufe63\uff0d\u2e3a\u2e3b"


@dataclass(frozen=True, slots=True)
class _Tables:
    one: dict[int, str]  # code point -> its one-character folded form
    drop: frozenset[int]  # dropped wherever they are (Cf)
    wide: dict[int, str]  # code point -> a longer folded form holding a digit ("⑩" -> "10")
    folding: frozenset[str]  # every character of the three tables
    reshaping: frozenset[str]  # the characters of drop and wide: the view needs an offset map
    marks: frozenset[str]  # combining marks (Mn): dropped after a digit
    mark_on_digit: re.Pattern[str]  # a digit (any script) followed by a combining mark


# What `fold` looks at: anything but printable ASCII, tab and line breaks.
_NOT_PLAIN = re.compile(r"[^\t\n\r\x20-\x7e]+")
# Control characters that are not whitespace (C0 but tab, line breaks and the information
# separators Python counts as whitespace; DEL; C1 but NEL): invisible, so dropped like Cf.
_CONTROLS = frozenset(
    cp for cp in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if not chr(cp).isspace())
# The information separators U+001C-U+001F: whitespace to Python, a space to the scanner.
_SEPARATORS = dict.fromkeys(range(0x1C, 0x20), " ")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _fold_char(ch: str) -> str | None:
    """The folded form of one non-ASCII character, or None when it stays as it is."""
    try:
        return chr(48 + unicodedata.decimal(ch))
    except ValueError:
        pass
    if ch.isspace():
        return " "
    if ch in _EXTRA_DASHES or unicodedata.category(ch) == "Pd":
        return "-"
    nfkc = unicodedata.normalize("NFKC", ch)
    if nfkc == ch:
        return None
    return "".join((_fold_char(c) or c) if not c.isascii() else c for c in nfkc)


def _class(code_points: list[int]) -> str:
    """A regular-expression character class of ``code_points``, written as ranges."""
    parts: list[str] = []
    ranges: list[list[int]] = []
    for cp in sorted(code_points):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    for lo, hi in ranges:
        low = re.escape(chr(lo))
        parts.append(low if lo == hi else f"{low}-{re.escape(chr(hi))}")
    return "[" + "".join(parts) + "]"


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """Built once, on the first text that has a non-ASCII character (about a second)."""
    one: dict[int, str] = dict(_SEPARATORS)
    wide: dict[int, str] = {}
    drop: set[int] = set(_CONTROLS)
    marks: list[int] = []
    for cp in range(0x80, sys.maxunicode + 1):
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category in ("Cn", "Co", "Cs") or cp in _CONTROLS:
            continue
        if category == "Cf":
            drop.add(cp)
            continue
        if category == "Mn":
            marks.append(cp)
        folded = _fold_char(ch)
        if folded is None or folded == ch:
            continue
        if len(folded) == 1:
            one[cp] = folded
        elif any(c.isdigit() for c in folded):
            wide[cp] = folded
    digits = _class([*range(48, 58), *(cp for cp, c in one.items() if c.isdigit())])
    return _Tables(
        one=one,
        drop=frozenset(drop),
        wide=wide,
        folding=frozenset(chr(cp) for cp in (*one, *drop, *wide)),
        reshaping=frozenset(chr(cp) for cp in (*drop, *wide)),
        marks=frozenset(chr(cp) for cp in marks),
        mark_on_digit=re.compile(f"{digits}{_class(marks)}"),
    )


@dataclass(frozen=True, slots=True)
class Folded:
    """The scanning view of a text; ``offsets`` is None when the view keeps the text's offsets."""

    text: str
    offsets: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``view[start:end]`` came from."""
        if self.offsets is None:
            return start, end
        return self.offsets[start], self.offsets[end - 1] + 1


def fold(text: str) -> Folded:
    """The scanning view of ``text`` (see the module docstring); cheap when nothing folds."""
    if text.isascii() and _ASCII_CONTROL.search(text) is None:
        return Folded(text)
    tables = _tables()
    # The distinct characters that may fold, gathered at C speed: most text has a few ("£").
    present: set[str] = set()
    for run in _NOT_PLAIN.finditer(text):
        present.update(run.group())
    marked = not tables.marks.isdisjoint(present) and (
        tables.mark_on_digit.search(text) is not None)
    if tables.folding.isdisjoint(present) and not marked:
        return Folded(text)
    if tables.reshaping.isdisjoint(present) and not marked:
        # One character for one: replace the few distinct ones present (faster than
        # translate, which looks up every character of the text).
        for ch in present & tables.folding:
            text = text.replace(ch, tables.one[ord(ch)])
        return Folded(text)
    return _fold_slow(text, tables)


def _fold_slow(text: str, tables: _Tables) -> Folded:
    """Fold with an offset table: characters are dropped or widened."""
    out: list[str] = []
    offsets: list[int] = []
    after_digit = False
    for i, ch in enumerate(text):
        cp = ord(ch)
        if cp in tables.drop:
            continue
        if after_digit and unicodedata.category(ch) == "Mn":
            continue  # a combining mark on a digit ("4̲1̲1̲1̲")
        piece = tables.wide.get(cp) or tables.one.get(cp, ch)
        out.append(piece)
        offsets.extend([i] * len(piece))
        after_digit = piece[-1].isdigit() and piece[-1].isascii()
    return Folded("".join(out), tuple(offsets))


def fold_text(text: str) -> str:
    """Only the folded text (for callers that need digits, e.g. to tokenize a finding)."""
    return fold(text).text
