"""Normalisation before matching (issue 8, items 1 and 7; R-OPS-2, R-DATA-2): a card number in
another script, split by invisible characters or by any separator class, is found and its span
is exact in the original text; IBANs are found on mod-97; a spaced separator ends an SSN."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.accounts.models import User
from safeguard.protection.contracts import PanRefused
from safeguard.protection.scanner import IBAN, PAN, PHONE, US_SSN, checks, fold, scan
from tests.factories import make_user
from tests.protection.card_variants import VARIANTS, card, leaks

PROPERTY = settings(deadline=None, max_examples=300)


def _redacted(text: str) -> str:
    out = text
    for f in reversed(scan(text)):
        out = out[:f.start] + f"[{f.type}]" + out[f.end:]
    return out


# --- the fold -----------------------------------------------------------------------------------


def test_ascii_and_text_without_foldable_characters_are_scanned_as_they_are():
    # given texts with nothing to fold (ASCII; accents and currency signs)
    for text in ("card 4111 1111 1111 1111", "café à 5 €, naïve"):
        # when folded, then the very same string is the view, offsets unchanged
        view = fold(text)
        assert view.text is text
        assert view.offsets is None


def test_one_to_one_folds_keep_offsets_and_dropped_characters_get_a_map():
    assert fold("４５３２\u2009００１５\u2014").text == "4532 0015-"
    assert fold("４５３２\u2009００１５").offsets is None
    # a zero-width space and a soft hyphen are dropped; each view character knows its origin
    view = fold("a4\u200b5\u00ad6b")
    assert view.text == "a456b"
    assert view.offsets == (0, 1, 3, 5, 6)
    assert view.span(1, 4) == (1, 6)
    # a wide compatibility character holding digits expands, and maps back to itself
    assert fold("\u2469 x").text == "10 x"
    assert fold("\u2469 x").span(0, 2) == (0, 1)


def test_combining_marks_on_digits_are_dropped_but_not_elsewhere():
    assert fold("4\u03321\u0332").text == "41"
    assert fold("e\u0301 x").text == "e\u0301 x"


# --- every variant of the issue --------------------------------------------------------------


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_is_found_with_its_exact_span_and_redacted_whole(name):
    # given a card number written one of the ways that used to pass unseen
    number = card(list(VARIANTS).index(name) + 1)
    written = VARIANTS[name](number)
    text = f"Hello, my card is {written} and thanks."
    # when scanned
    findings = [f for f in scan(text) if f.type == PAN]
    # then one card is found, spanning exactly the written number
    assert [(f.start, f.end) for f in findings] == [(18, 18 + len(written))]
    assert findings[0].value_hint == "visa"
    # and the redacted text shows none of its digits, in any script
    assert _redacted(text) == "Hello, my card is [PAN] and thanks."
    assert not leaks(_redacted(text), number)


# --- the property: random cards, random scripts, random separators ----------------------------

CARD_SHAPES = [
    ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("34", 15),
    ("37", 15), ("6011", 16), ("65", 19), ("3528", 16), ("36", 14), ("62", 17), ("2200", 16),
]  # fmt: skip
# Unicode decimal digit zeros: ASCII, full-width, Arabic-Indic, Extended Arabic-Indic,
# Devanagari, Bengali, Thai, Tibetan, Myanmar, Mongolian, mathematical bold and monospace.
ZEROS = [0x30, 0xFF10, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0xF20, 0x1040, 0x1810, 0x1D7CE,
         0x1D7F6]
# Separator classes of the rule (docs/scanner.md): whitespace of every kind, dashes of every
# kind, "_", ",", ".", "/", up to three characters in a row.
SPACES = [" ", "\t", "\n", "\r\n", "  ", "\u00a0", "\u2009", "\u202f", "\u3000", "\u2007"]
DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\uff0d"]
OTHERS = ["_", ",", ".", "/", ", ", " - ", " \u2014 ", "\r\n", ",\n"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff"]


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix, length = draw(st.sampled_from(CARD_SHAPES))
    body = draw(st.text(alphabet="0123456789", min_size=length - len(prefix) - 1,
                        max_size=length - len(prefix) - 1))
    return prefix + body + checks.luhn_check_digit(prefix + body)


@st.composite
def written_cards(draw: st.DrawFn) -> tuple[str, str]:
    """(the card's digits, how it is written): groups of 1-6 digits, scripts, separators."""
    number = draw(card_numbers())
    uniform = draw(st.booleans())
    size = draw(st.integers(1, 6))
    if uniform:  # one separator throughout (a comma or a line break included)
        sizes = [size] * (len(number) // size) + ([len(number) % size] if len(number) % size
                                                   else [])
        sep = draw(st.sampled_from(SPACES + DASHES + OTHERS))
        seps = [sep] * (len(sizes) - 1)
    else:  # mixed separators on one line, groups of any size
        sizes = []
        while sum(sizes) < len(number):
            sizes.append(min(draw(st.integers(1, 6)), len(number) - sum(sizes)))
        line = [s for s in SPACES + DASHES + ["_", ".", "/"] if "\n" not in s]
        seps = [draw(st.sampled_from(line)) for _ in range(len(sizes) - 1)]
    per_digit = draw(st.booleans())
    zero = draw(st.sampled_from(ZEROS))
    out, i = [], 0
    for k, n in enumerate(sizes):
        for d in number[i:i + n]:
            base = draw(st.sampled_from(ZEROS)) if per_digit else zero
            out.append(chr(base + int(d)))
            if draw(st.integers(0, 7)) == 0:
                out.append(draw(st.sampled_from(INVISIBLE)))
        i += n
        if k < len(seps):
            out.append(seps[k])
    return number, "".join(out).rstrip("".join(INVISIBLE))


@PROPERTY
@given(written=written_cards(),
       before=st.sampled_from(["", "my card is ", "Card: ", "paid with ", "(", "number\n"]),
       after=st.sampled_from(["", " thanks", ".", ")", " please charge it\n"]))
def test_scan_finds_the_card_and_redaction_leaves_none_of_its_digits(written, before, after):
    # given a random card number in random scripts, separators and invisible characters
    number, shown = written
    text = f"{before}{shown}{after}"
    # when scanned
    cards = [f for f in scan(text) if f.type == PAN]
    # then the card is found, covering every character of it
    assert [(f.start, f.end) for f in cards] == [(len(before), len(before) + len(shown))]
    # and the redacted text holds none of its digits in order
    assert not leaks(_redacted(text), number)


# --- what stays out: lists of numbers are not cards ----------------------------------------------


@pytest.mark.parametrize("text", [
    "call 555-123-4567, 555-987-6543 or 555-222-3333",
    "phones:\n555-123-4567\n555-987-6543\n",
    "ids [412, 1345, 2231, 10, 99, 1234, 5678, 42]",
    "total 1,234,567.89 and 2,345,678.90",
    "build 2024.05.01_1234_5678",
    "id 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
])
def test_lists_and_identifiers_are_not_read_as_cards(text):
    assert [f for f in scan(text) if f.type == PAN] == []


# --- item 7: IBAN on mod-97, the SSN before a date ---------------------------------------------


def test_the_textbook_iban_is_found_although_its_national_check_is_unknown():
    # given the ISO 13616 example whose Belgian national check python-stdnum rejects
    text = "my iban is BE68 5390 0754 7034 thanks"
    assert not checks.iban_valid("BE68539007547034")
    # when scanned, then it is an IBAN: country, length and mod-97 decide
    [found] = scan(text, types=[IBAN])
    assert text[found.start:found.end] == "BE68 5390 0754 7034"
    assert found.reason.startswith("iban:mod97+length:BE")


def test_a_national_check_raises_confidence_and_a_bad_mod97_is_no_iban():
    [strict] = scan("GB82 WEST 1234 5698 7654 32", types=[IBAN])
    [loose] = scan("BE68 5390 0754 7034", types=[IBAN])
    assert strict.score > loose.score
    assert strict.reason.startswith("iban:mod97+length+national:GB")
    assert scan("BE69 5390 0754 7034", types=[IBAN]) == []  # mod-97 fails
    assert scan("XX68 5390 0754 7034", types=[IBAN]) == []  # no such country
    assert scan("BE68 5390 0754 70", types=[IBAN]) == []  # Belgian IBANs have 16 characters


def test_full_width_iban_is_found():
    text = "ＩＢＡＮ ＢＥ６８ ５３９０ ０７５４ ７０３４"
    [found] = scan(text, types=[IBAN])
    assert text[found.start:found.end] == "ＢＥ６８ ５３９０ ０７５４ ７０３４"


@pytest.mark.parametrize(("text", "ssn"), [
    ("my ssn is 809-61-1296 - 06.08.1990", "809-61-1296"),
    ("ssn 809 61 1296 / 06.08.1990", "809 61 1296"),
    ("ssn: 809611296 - 1990-08-06", "809611296"),
])
def test_a_separator_before_another_number_ends_the_ssn(text, ssn):
    found = [text[f.start:f.end] for f in scan(text) if f.type == US_SSN]
    assert found == [ssn]


def test_a_phone_after_a_spaced_dash_is_its_own_number():
    text = "call me on +44 20 7946 0958 - or 809-61-1296 is my ssn"
    found = {(f.type, text[f.start:f.end]) for f in scan(text)}
    assert (PHONE, "+44 20 7946 0958") in found
    assert (US_SSN, "809-61-1296") in found


# --- the no-PAN guard reads the same way ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["full-width digits", "zero-width space between groups",
                                  "newline", "comma space", "minus sign", "spoken with commas"])
def test_the_guard_refuses_every_variant_in_a_column(name):
    # given a staff user, and a card number written as the variant
    user = make_user(full_name="Ann Lee")
    written = VARIANTS[name](card(7))
    # when it would be saved in a text column, then the model layer refuses it
    user.full_name = f"Ann {written}"
    with pytest.raises(PanRefused), transaction.atomic():
        user.save(update_fields=["full_name"])
    # and so does the SQL layer for an update that bypasses save()
    with pytest.raises(PanRefused), transaction.atomic():
        User.objects.filter(pk=user.pk).update(full_name=f"Ann {written}")
    with pytest.raises(PanRefused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET full_name = %s WHERE id = %s",
                       [f"Ann {written}", user.pk])
    assert User.objects.get(pk=user.pk).full_name == "Ann Lee"
