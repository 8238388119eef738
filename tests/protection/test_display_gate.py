"""The display gate (scanner/gate.py ``may_hold_contact``) and the known-value matcher's
shortcuts change nothing a page masks (issue 10 item 6: every customer message of a case is
masked each time the case is shown; R-DATA-2: what the customer wrote shows masked like the
profile, whatever script or spacing it is written in).

The references below are the code before: ``findings_for_display`` as the full scan with no
gate (every display-type or known-value candidate covered, whatever won its span in the scan's
overlap resolution; computed another way), and the known-value matcher collapsing every text's
whitespace eagerly with the old expression, with no anchor words. The properties feed both with
generated text: the card gate test's material (every script's digits, enclosed numbers,
invisible characters, separators, number words), e-mail addresses and phone numbers in several
writings (full-width, other scripts' digits, invisible characters inside, no-break spaces and
dashes), and a demo customer's own values written in other cases, with other whitespace, in
full-width, glued to neighbours or cut short.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from dataclasses import replace
from functools import cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from safeguard.customers.demo import customer_values
from safeguard.customers.models import Customer
from safeguard.customers.selectors import _known_values
from safeguard.protection import screening
from safeguard.protection.scanner import (
    EMAIL,
    PHONE,
    KnownValues,
    fold,
    gate,
    known,
    numeric,
    phones,
    resolve_overlaps,
    textual,
)
from safeguard.protection.scanning import scanner
from tests.protection.test_pan_gate import (
    MATERIAL,
    digit_writers,
    non_separators,
    separator_writers,
)

PROPERTY = settings(deadline=None, max_examples=300)
DISPLAY = frozenset({EMAIL, PHONE})


def display_candidates(text: str, matcher: KnownValues | None) -> list:
    """Every finding of the display types and every known value the scan chose from, before
    its overlap resolution: what the page must cover (R-DATA-2)."""
    return [f for f in scanner().candidates(text, known=matcher)
            if f.type in DISPLAY or f.type.startswith("KNOWN_")]


def reference_findings_for_display(text: str, matcher: KnownValues | None) -> list:
    """``findings_for_display`` with no gate, computed another way: the candidates grouped
    by overlap (each group grown until nothing outside it overlaps it), each group one finding
    over its span, of the type of a member spanning it (a known value first), else of its
    longest detected member."""
    groups: list[list] = []
    for f in display_candidates(text, matcher):
        touching = [g for g in groups if any(f.start < o.end and o.start < f.end for o in g)]
        merged = [f] + [o for g in touching for o in g]
        groups = [g for g in groups if g not in touching] + [merged]
        # a merged group may now overlap another one: merge until stable
        changed = True
        while changed:
            changed = False
            lo, hi = min(o.start for o in merged), max(o.end for o in merged)
            for g in groups:
                if g is not merged and any(o.start < hi and lo < o.end for o in g):
                    merged.extend(g)
                    groups.remove(g)
                    changed = True
                    break
    out = []
    for g in groups:
        lo, hi = min(o.start for o in g), max(o.end for o in g)
        whole = [o for o in g if (o.start, o.end) == (lo, hi)]
        if whole:  # a member spanning the group: a known value first
            best = sorted(whole, key=lambda o: (not o.type.startswith("KNOWN_"), o.type))[0]
        else:  # the longest detected member
            best = sorted([o for o in g if not o.type.startswith("KNOWN_")],
                          key=lambda o: (o.start - o.end, o.start, o.type))[0]
        out.append(replace(best, start=lo, end=hi))
    return sorted(out, key=lambda o: o.start)


_OLD_ODD_SPACE = re.compile(r"[^\S ]+|\s{2,}")


class _EagerNormalised:
    """The matcher's collapsed text as it was built before: eagerly, offsets and all."""

    def __init__(self, text: str) -> None:
        lowered = known._lower_preserving(text)
        pieces: list[str] = []
        self.norm_starts, self.orig_starts = [0], [0]
        last = size = 0
        for match in _OLD_ODD_SPACE.finditer(lowered):
            pieces += [lowered[last:match.start()], " "]
            size += match.start() - last + 1
            last = match.end()
            self.norm_starts.append(size)
            self.orig_starts.append(last)
        pieces.append(lowered[last:])
        self.text = "".join(pieces)

    def original(self, index: int) -> int:
        segment = bisect_right(self.norm_starts, index) - 1
        return self.orig_starts[segment] + index - self.norm_starts[segment]


def reference_known_find(matcher: KnownValues, text: str) -> list:
    """``KnownValues.find`` before: every text collapsed, the automaton run on all of it."""
    found = []
    if matcher._textual is not None:
        norm = _EagerNormalised(text)
        haystack, size = norm.text, len(norm.text)
        for last, (kind, length) in matcher._textual.iter(haystack):
            first = last - length + 1
            if (haystack[first].isalnum() and first and haystack[first - 1].isalnum()) or (
                    haystack[last].isalnum() and last + 1 < size
                    and haystack[last + 1].isalnum()):
                continue
            found.append(known.Finding(kind, norm.original(first), norm.original(last) + 1,
                                       known.KNOWN_SCORE, f"known value ({kind})", "known"))
    if matcher._numeric is not None:
        found.extend(KnownValues._find_numeric(text, matcher._numeric))
    return resolve_overlaps(found)


@cache
def profile(seed: int) -> dict[str, list[str]]:
    """Demo customer ``seed``'s known values, as the case page's masker compiles them."""
    values = customer_values(seed)
    row = Customer(**{k: values[k] for k in ("name", "email", "phone", "address",
                                            "date_of_birth", "payout")})
    values = _known_values(row)
    # a bank account number of six digits: the shortest value matched as a number
    values["account"] = [*values.get("account", []), f"{100000 + seed * 7919 % 900000}"]
    return values


@cache
def matcher(seed: int) -> KnownValues:
    return KnownValues(profile(seed))


FULL_WIDTH = {c: chr(ord(c) - 0x21 + 0xFF01) for c in string.printable[:94]}
WHITESPACE = [" ", "  ", "\n", "\t", "\r\n", "\u00a0", "\u3000", " \n", "\n ", "\u2028"]


def _invisible(draw: st.DrawFn, value: str) -> str:
    i = draw(st.integers(0, len(value)))
    return value[:i] + draw(st.sampled_from(["\u200b", "\u00ad", "\u2060"])) + value[i:]


WRITINGS = {
    "plain": lambda draw, v: v,
    "upper": lambda draw, v: v.upper(),
    "lower": lambda draw, v: v.lower(),
    "full-width": lambda draw, v: "".join(FULL_WIDTH.get(c, c) for c in v),
    "spaced": lambda draw, v: re.sub(r"\s", lambda _: draw(st.sampled_from(WHITESPACE)), v),
    "invisible": _invisible,
    "cut": lambda draw, v: v[: draw(st.integers(0, len(v)))],
    "glued": lambda draw, v: (draw(st.sampled_from(["x", "9", "é", "_"])) + v
                              + draw(st.sampled_from(["s", "0", "", "."]))),
    # every digit in another script
    "digits": lambda draw, v: "".join(draw(st.sampled_from(digit_writers()[c]))
                                      if c in string.digits else c for c in v),
}


@st.composite
def written_value(draw: st.DrawFn, value: str) -> str:
    """One of the customer's values as someone may type it (or nearly)."""
    return WRITINGS[draw(st.sampled_from(sorted(WRITINGS)))](draw, value)


PHONES = ["+44 20 7946 0958", "020 7946 0958", "(415) 555-2671", "415.555.2671",
          "+1 415 555 2671", "+1\u00a0415\u2013555\u20132671", "+44 (0)20 7946 0958",
          "07700 900123", "+33 1 42 68 53 00", "555-0172",
          "+683 4002", "+290 22000"]  # Niue and St Helena: seven digits, the fewest
EMAILS = ["bob@example.org", "x.y+z@mail.example.co.uk", "a@b", "@example.com",
          "bob＠example.org", "bob @ example.org", "bob@exa mple.org"]


@st.composite
def display_text(draw: st.DrawFn, seed: int) -> str:
    """Text of the card gate's material, contacts in several writings and the customer's
    values, joined by text of any Unicode."""
    values = [v for vs in profile(seed).values() for v in vs]
    pieces = draw(st.lists(st.one_of(
        MATERIAL,
        st.sampled_from(PHONES).flatmap(written_value),
        st.sampled_from(EMAILS).flatmap(written_value),
        st.sampled_from(values).flatmap(written_value),
        st.text(alphabet=separator_writers(), max_size=4),
        st.sampled_from(WHITESPACE)), min_size=1, max_size=7))
    return "".join(pieces)


SEEDS = st.integers(min_value=1, max_value=60)


@PROPERTY
@given(SEEDS.flatmap(lambda s: st.tuples(st.just(s), display_text(s))))
@example((7, "Olivia  HADDAD\nwrote"))
@example((7, "call ＋４４ ２０ ７９４６ ０００７"))
@example((7, "Niue: +683 4002"))
@example((7, "born 08/08/1957"))
@example((7, "GB77 BARC 2000 0000 0554 33"))
@example((7, "iban gb77barc20000000055433."))  # her IBAN, also a generic IBAN: both cover it
@example((7, "account 1 5 5 4 3 3."))  # seed 7's six-digit account number, spaced
@example((7, "olivia.haddad7@example.net"))
@example((7, "8 oak\u00a0drive, cf10\t1ep"))
@example((7, "٤١٥ ٥٥٥ ٢٦٧١ and 2079460007"))
@example((7, "x\n \nOlivia\u3000Haddad"))
def test_display_findings_are_the_full_scans_for_any_text(case):
    seed, text = case
    # given a customer's compiled values and any text
    values = matcher(seed)
    for customer in (values, None):
        # when the page asks what to mask, then it gets exactly what the full scan gives
        expected = reference_findings_for_display(text, customer)
        shown = screening.findings_for_display(text, customer=customer)
        assert shown == expected
        # and every character the scan reads as a display type or a known value is covered,
        # whichever type won it in the scan (the customer's own IBAN is also an IBAN)
        covered = {i for f in shown for i in range(f.start, f.end)}
        for f in display_candidates(text, customer):
            assert set(range(f.start, f.end)) <= covered, f
        # and a known value labels only a span that is all its own
        for f in shown:
            if f.type.startswith("KNOWN_"):
                assert any((o.start, o.end, o.type) == (f.start, f.end, f.type)
                           for o in display_candidates(text, customer)), f
        # and where the gate says no contact can be there, the full scan found none either,
        # nor any of the customer's values where the matcher finds none in the view
        view = fold(text).text
        if not gate.may_hold_contact(view):
            assert [f for f in expected if not f.type.startswith("KNOWN_")] == []
            if customer is None or not customer.find(view):
                assert expected == []


@PROPERTY
@given(SEEDS.flatmap(lambda s: st.tuples(st.just(s), display_text(s))))
@example((7, "\n Olivia Haddad"))
@example((7, "8 Oak\n Drive"))  # the old expression makes "\n " two spaces: not "8 oak drive"
@example((7, " \u3000Olivia \n\tHaddad\u2028"))
@example((7, "OLİVİA HADDAD"))  # "İ" grows when lower-cased: offsets still one for one
def test_the_known_value_matcher_finds_what_it_found_before(case):
    seed, text = case
    values = matcher(seed)
    # the view the engine hands it, and the raw text (find_known's callers)
    for haystack in (fold(text).text, text):
        assert values.find(haystack) == reference_known_find(values, haystack)


DISPLAY_PATTERNS = {
    "digit pass: runs and dotted quads": (numeric._CANDIDATE, ("run", "ipv4")),
    "digit pass: glued runs": (numeric._RUN_AT, None),
}


def _joins(name: str, text: str, a: int, b: int) -> bool:
    """Whether a match of the pattern ``name`` holds digits on both sides of text[a:b]."""
    pattern, groups = DISPLAY_PATTERNS[name]
    return any(m.start() < a and m.end() > b for m in pattern.finditer(text)
               if groups is None or m.lastgroup in groups)


@pytest.mark.parametrize("name", DISPLAY_PATTERNS)
def test_no_display_pattern_joins_digits_across_a_character_outside_the_gate_separators(name):
    # given every character of the Basic Multilingual Plane that is neither a digit nor one of
    # the gate's separators, between two seven-digit groups
    # when the pattern reads each, then no match holds digits on both sides of it
    joined = [hex(ord(ch)) for ch in non_separators()
              if _joins(name, "1234567" + ch + "7654321", 7, 8)]
    assert joined == []


@PROPERTY
@given(st.text(alphabet=gate.SEPARATORS, min_size=1, max_size=8))
@example(" -- ")
@example("\u00a0\u2013\u2013\u00a0")
@example(" () ")
def test_no_display_pattern_joins_digits_across_a_longer_gap_than_the_gate_allows(sep):
    text = "1234567" + sep + "7654321"
    for name in DISPLAY_PATTERNS:
        # when a pattern reads both groups as one number, then the gate's chain does too
        if _joins(name, text, 7, 7 + len(sep)):
            assert len(sep) <= gate.MAX_GAP, (name, sep)
            assert gate._CONTACT_CHAIN.fullmatch("1234" + sep + "567"), (name, sep)


def test_the_display_gate_reads_the_pass_constants_it_is_built_from():
    # the e-mail pass looks for its anchor first, and the engine runs it only where it is
    assert textual._DOMAIN.pattern.startswith(re.escape(textual.EMAIL_ANCHOR))
    # a phone number holds 7 digits at least: chains of 7
    assert (phones.MIN_DIGITS, gate.CONTACT_MIN_DIGITS) == (7, 7)
    assert gate._CONTACT_CHAIN.search("12 34 5 -- 67") is not None
    assert gate._CONTACT_CHAIN.search("12 34 56") is None
    assert gate._CONTACT_CHAIN.search("1234 --- 567") is None
    assert gate.CONTACT_TYPES == DISPLAY


def test_texts_without_contacts_or_the_customers_values_skip_the_scan(monkeypatch):
    # given a text with no "@", no six digits in a chain and none of the customer's values
    values = matcher(7)
    clean = ("The card I paid with is [card visa •••• 1111], expiry 12/27. Order 88231, "
             "call after 5pm.\n\nKind regards.")

    def scan_called(*args, **kwargs):
        raise AssertionError("scanned")

    # when the page asks what to mask, then nothing is found and nothing is scanned
    with monkeypatch.context() as m:
        m.setattr(screening, "_display_findings", scan_called)
        assert screening.findings_for_display(clean, customer=values) == []
    # while an e-mail address, a phone number in full-width digits, the customer's name in
    # other case and spacing, or the date of birth in another layout are found
    for text, kind in [("write to bob@example.org", "EMAIL"),
                       ("call ０２０ ７９４６ ０９５８", "PHONE"),
                       ("OLIVIA\n\tHaddad wrote", "KNOWN_NAME"),
                       ("born 08.08.1957", "KNOWN_DOB"),
                       ("refund to gb77 barc 2000 0000 0554 33", "KNOWN_ACCOUNT")]:
        assert [f.type for f in screening.findings_for_display(text, customer=values)] == [kind]
