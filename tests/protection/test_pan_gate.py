"""The card gate (scanner/gate.py) skips only text no card pass can match, and the no-PAN guard
with it finds exactly what it found without it (issue 10: the guard's cost per audit append;
R-OPS-2: no card number at rest, whatever script or spelling it is written in).

The reference below is ``find_pans`` as it was before the gate: digests blanked, the scanner at
any score, the floor — with no shortcut on length and no gate. The properties feed both with
generated text built from the scanner's own tables: every character that folds to a digit
(other scripts' digits, full-width, mathematical, enclosed and parenthesised numbers that fold
to two digits), every character that folds to a separator or is dropped as invisible, the spoken
pass's own number words (also in full-width letters and upper case), and valid card numbers of
every brand written with those.
"""

from __future__ import annotations

import string
import unicodedata
from functools import cache

import pytest
from django.db import connection, transaction
from hypothesis import example, given, settings
from hypothesis import strategies as st

from safeguard.protection import guard, scanning
from safeguard.protection.contracts import PanRefused
from safeguard.protection.scanner import PAN, checks, fold, gate, numeric, resolve_overlaps, spoken
from safeguard.protection.scanner.normalise import _tables
from safeguard.protection.scanning import find_pans
from tests.protection.conftest import PAN_AMEX, PAN_VISA
from tests.protection.test_scanner_properties import card_numbers

PROPERTY = settings(deadline=None, max_examples=300)


def reference_find_pans(text: str) -> list:
    """``find_pans`` without the length shortcut and without the gate (the code before)."""
    text = numeric.UUID_SHAPE.sub(scanning._blank, scanning._HEX_RUN.sub(scanning._blank, text))
    found = scanning.scanner(min_score=0.0).scan(text, types=[PAN])
    extra = [f for f in scanning._floor(text)
             if not any(f.start < g.end and g.start < f.end for g in found)]
    return resolve_overlaps([*found, *extra]) if extra else found


@cache
def digit_writers() -> dict[str, list[str]]:
    """ASCII digit -> every character that folds to exactly that digit (the fold tables)."""
    table = _tables()
    out: dict[str, list[str]] = {d: [d] for d in string.digits}
    for cp, folded in table.one.items():
        if folded in out:
            out[folded].append(chr(cp))
    return out


@cache
def wide_digits() -> list[str]:
    """Characters that fold to more than one character holding digits ("⑪" -> "11")."""
    return sorted(chr(cp) for cp in _tables().wide)


@cache
def separator_writers() -> list[str]:
    """Characters that fold to a card separator, and the invisible ones folding drops."""
    table = _tables()
    seps = [chr(cp) for cp, folded in table.one.items() if folded in gate.SEPARATORS]
    dropped = sorted(chr(cp) for cp in table.drop)
    return sorted({*gate.SEPARATORS, *seps, *dropped[:400], "\u200b", "\u00ad", "\u2060"})


@cache
def non_separators() -> tuple[str, ...]:
    """Every character of the Basic Multilingual Plane that is neither an ASCII digit, nor one
    of the gate's separators, nor a surrogate: what no digit pattern may join digits across."""
    return tuple(chr(cp) for cp in range(0x10000)
                 if chr(cp) not in gate.SEPARATORS and chr(cp) not in string.digits
                 and unicodedata.category(chr(cp)) != "Cs")


NUMBER_WORDS = sorted({*spoken._DIGIT_WORDS, *spoken._REPEAT})
# The digit pass's widest separators: a space, one or two punctuation characters, a space.
WIDE_SEPARATORS = [" -- ", " - ", " / ", " ./ ", "( ", " )", " () ", "\u00a0\u2013\u2013\u00a0"]
# Digit -> every word the spoken pass decodes to it ("oh" and "o" for 0, "for" for 4, ...).
SAID = {d: sorted(w for w, v in spoken._DIGIT_WORDS.items() if v == d) for d in string.digits}
FULL_WIDTH = str.maketrans({c: chr(ord(c) - 0x61 + 0xFF41) for c in string.ascii_lowercase})


@st.composite
def written_digit(draw: st.DrawFn, digit: str) -> str:
    return draw(st.sampled_from(digit_writers()[digit]))


@st.composite
def word(draw: st.DrawFn) -> str:
    w = draw(st.sampled_from(NUMBER_WORDS))
    style = draw(st.sampled_from(["plain", "upper", "title", "full-width"]))
    return {"plain": w, "upper": w.upper(), "title": w.title(),
            "full-width": w.translate(FULL_WIDTH)}[style]


@st.composite
def written_card(draw: st.DrawFn) -> str:
    """A valid card number, each digit in any script, groups split by any separator."""
    digits = draw(card_numbers())
    if draw(st.booleans()):
        words = [draw(st.sampled_from(SAID[d])) for d in digits]
        sep = draw(st.sampled_from([" ", ", ", " - ", "\n", "\u3000"]))
        return " " + sep.join(words)
    out: list[str] = []
    size = draw(st.integers(min_value=1, max_value=6))
    for i, d in enumerate(digits):
        if i and i % size == 0:
            out.append(draw(st.text(alphabet=separator_writers(), min_size=1, max_size=3)
                            | st.sampled_from(WIDE_SEPARATORS)))
        out.append(draw(written_digit(d)))
    return "".join(out)


MATERIAL = st.one_of(
    st.text(max_size=40),  # any Unicode
    st.text(alphabet=string.digits + " -./,_()\n\t:", max_size=40),
    st.lists(st.sampled_from(wide_digits()), max_size=12).map("".join),
    st.lists(st.sampled_from(string.digits), min_size=1, max_size=6).flatmap(
        lambda ds: st.tuples(*[written_digit(d) for d in ds]).map("".join)),
    st.lists(word(), min_size=1, max_size=20).flatmap(
        lambda ws: st.sampled_from([" ", ", ", "-", " ", "\t", "\u00a0", "."]).map(
            lambda sep: " " + sep.join(ws))),
    st.text(alphabet=separator_writers(), max_size=6),
    st.binary(min_size=16, max_size=20).map(bytes.hex),  # a digest beside other text
)
TEXTS = st.lists(st.one_of(MATERIAL, written_card()), min_size=1, max_size=6).map("".join)


@PROPERTY
@given(TEXTS)
@example("41" + "⑪" * 7)  # a Visa in 9 characters: "⑪" folds to "11"
@example("⑪" * 3 + "4111111111")
@example("0" * 32 + "six,one,one,one,one,one,one")  # blanking the digest makes a word run
@example(" ｆｏｕｒ" + " ｏｎｅ" * 15)  # full-width letters fold to "four one one ..."
@example("٤١١١ ١١١١ ١١١١ ١١١١")
@example("4\u0332" + "1\u0332" * 15)  # combining marks on every digit
def test_the_gate_says_no_only_where_no_pass_finds_a_card(text):
    # given any text built from the scanner's own digit, separator and word tables
    blanked = numeric.UUID_SHAPE.sub(scanning._blank, scanning._HEX_RUN.sub(scanning._blank, text))
    # when the gate says it cannot hold a card number
    if not gate.may_hold_card(blanked):
        # then neither the scanner's card passes nor the guard's floor find one
        assert scanning.scanner(min_score=0.0).scan(blanked, types=[PAN]) == []
        assert list(scanning._floor(blanked)) == []
    # and the guard finds exactly what it found without the gate and the length shortcut
    assert find_pans(text) == reference_find_pans(text)


@PROPERTY
@given(written_card(), st.text(max_size=30), st.text(max_size=30))
def test_a_valid_card_in_any_script_or_spelling_passes_the_gate(card, before, after):
    # given a valid card number written with any script's digits, separators or words
    text = f"{before} {card} {after}"
    # when the scanner finds it (some writings, e.g. glued to a neighbour's digits, are not)
    if scanning.scanner(min_score=0.0).scan(text, types=[PAN]):
        # then the gate lets it through and the guard finds it too
        assert gate.may_hold_card(text)
        assert find_pans(text)


def test_the_examples_the_guard_used_to_miss_are_found():
    # "⑪" folds to two digits: the old shortcut on the text's length (13) skipped this Visa
    assert find_pans("41" + "⑪" * 7)
    assert fold("41" + "⑪" * 7).text == PAN_VISA


CARD_PATTERNS = {
    "digit pass (glued runs)": numeric._RUN_AT,
    "separated-cards pass": numeric._SEPARATED,
    "guard floor": scanning._DIGIT_RUN,
}


@pytest.mark.parametrize("name", CARD_PATTERNS)
def test_no_card_pattern_joins_digits_across_a_character_outside_the_gate_separators(name):
    # given every character of the Basic Multilingual Plane that is neither a digit nor one of
    # the gate's separators, between two seven-digit groups
    pattern = CARD_PATTERNS[name]
    # when the card pattern reads each, then no match goes past the character
    joined = [hex(ord(ch)) for ch in non_separators()
              if any(m.start() <= 7 < m.end() and m.end() > 8
                     for m in pattern.finditer("1234567" + ch + "7654321"))]
    assert joined == []


@PROPERTY
@given(st.text(alphabet=gate.SEPARATORS, min_size=1, max_size=8))
@example(" -- ")
@example("\u00a0\u2013\u2013\u00a0")
def test_no_card_pattern_joins_digits_across_a_longer_gap_than_the_gate_allows(sep):
    # given two digit groups with any string of separators between them
    text = "1234567" + sep + "7654321"
    for name, pattern in CARD_PATTERNS.items():
        # when a card pattern reads both groups as one number
        if any(m.start() < 7 and m.end() > 7 + len(sep) for m in pattern.finditer(text)):
            # then the gate's chain accepts that gap too
            assert len(sep) <= gate.MAX_GAP, (name, sep)
            assert gate._CHAIN.fullmatch("123456" + sep + "7654321"), (name, sep)


def test_the_digit_pass_candidate_run_stays_inside_the_gate_chain():
    # the digit pass's own candidate (runs and dotted quads) with the widest separator it takes
    assert numeric._CANDIDATE.search("1234567 -- 7654321").group("run") is not None
    for sep in ["  --  ", "-  -", "::", "+"]:
        m = numeric._CANDIDATE.search(f"1234567{sep}7654321")
        assert m is None or m.end() <= 7 or m.start() >= 7 + len(sep)


def test_text_of_any_script_without_digit_chains_or_number_words_skips_the_scan():
    # names, addresses, agents, timestamps and SQL with placeholders do not hold a card
    for text in ["agent6@example.test", ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                 "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
                 "2026-12-05 05:12:02.729821", "Zoë Ünal, 12 Rue de la Paix, 75002 Paris",
                 'INSERT INTO "t" ("a", "b") VALUES (%s, %s) RETURNING "id"']:
        assert not gate.may_hold_card(text), text
    for text in [PAN_VISA, "4111 1111 1111 1111", " four one one one one one",
                 "4111 -- 1111 -- 1111 -- 1111",
                 "\uff14\uff11\uff11\uff11" * 4]:
        assert gate.may_hold_card(text), text


@pytest.mark.django_db
def test_the_guard_remembers_clean_statement_texts_and_never_one_with_a_card():
    # given a statement text with a card number written into it (raw SQL)
    guard._CLEAN_SQL.clear()
    sql = f"UPDATE accounts_user SET full_name = '{PAN_AMEX}' WHERE id = %s"
    # when it is sent twice, then it is refused twice and its text is never remembered
    for _ in range(2):
        with pytest.raises(PanRefused), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [0])
        assert sql not in guard._CLEAN_SQL
    # and a clean text is remembered once checked, its values still checked on every call
    clean = "UPDATE accounts_user SET full_name = %s WHERE id = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(clean, ["Ann", 0])
    assert clean in guard._CLEAN_SQL
    with pytest.raises(PanRefused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(clean, [f"Ann {PAN_VISA}", 0])


@pytest.mark.django_db
def test_the_remembered_statements_are_bounded(monkeypatch):
    monkeypatch.setattr(guard, "_CLEAN_SQL_MAX", 3)
    guard._CLEAN_SQL.clear()
    for i in range(10):
        assert guard._sql_holds_pan(f"UPDATE t SET a = %s WHERE b = {i}") is False
        assert len(guard._CLEAN_SQL) <= 3
    long = "UPDATE t SET a = %s WHERE b IN (" + ", ".join(["%s"] * 2000) + ")"
    assert guard._sql_holds_pan(long) is False
    assert long not in guard._CLEAN_SQL


@pytest.mark.django_db
def test_a_card_number_in_a_json_column_is_refused_by_update_on_every_backend():
    # given a custom role, whose permissions column is JSON (on PostgreSQL the driver gets it
    # wrapped, not as text, and the SQL layer used to see no string in it)
    from safeguard.accounts.models import Role

    role = Role.objects.create(slug="gate-test", name="Gate test", permissions=["cases.view"])
    # when update() would write a card number into it, then it is refused before the database
    with pytest.raises(PanRefused, match="accounts_role"), transaction.atomic():
        Role.objects.filter(pk=role.pk).update(permissions=["cases.view", PAN_VISA])
    with pytest.raises(PanRefused), transaction.atomic():
        Role.objects.filter(pk=role.pk).update(permissions={"note": {"k": f"card {PAN_AMEX}"}})
    # and nothing changed
    role.refresh_from_db()
    assert role.permissions == ["cases.view"]


@pytest.mark.django_db
def test_a_card_number_written_with_enclosed_numbers_is_refused_on_save():
    from tests.factories import make_user

    user = make_user(full_name="Ann")
    user.full_name = "41" + "⑪" * 7
    with pytest.raises(PanRefused):
        user.save(update_fields=["full_name"])


def test_the_gate_reads_the_pass_constants_it_is_built_from():
    # 13 digits, and a gap of 4: the digit pass's widest separator, " -- " (space, two
    # punctuation characters, space)
    assert checks.PAN_MIN_DIGITS == 13
    assert numeric._RUN_AT.fullmatch("1" * 6 + " -- " + "1" * 7)
    assert not numeric._RUN_AT.fullmatch("1" * 6 + " --- " + "1" * 7)


@pytest.mark.django_db
def test_a_card_number_written_as_a_json_number_is_refused_by_save_and_by_update():
    # given a JSON column (a custom role's permissions)
    from safeguard.accounts.models import Role

    role = Role.objects.create(slug="gate-number", name="Gate number", permissions=["cases.view"])
    # when a card number is written into it as a JSON number, whole or as a float, through
    # save() or update(), then both layers refuse it on every backend
    for value in ({"n": int(PAN_VISA)}, [1, int(PAN_AMEX)], {"f": float(int(PAN_VISA))},
                  {"neg": -int(PAN_VISA)}):
        role.permissions = value
        with pytest.raises(PanRefused), transaction.atomic():
            role.save()
        with pytest.raises(PanRefused), transaction.atomic():
            Role.objects.filter(pk=role.pk).update(permissions=value)
    role.refresh_from_db()
    assert role.permissions == ["cases.view"]


def test_numbers_of_a_json_document_are_scanned_one_by_one_and_only_when_long_enough():
    # a list of small numbers never reads as one long number; booleans and short numbers give
    # no text; a long number gives its digits
    assert list(guard._strings([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])) == []
    assert list(guard._strings({"ok": True, "n": 999_999_999_999, "x": 1.5})) == ["ok", "n", "x"]
    assert list(guard._strings({"n": 10**12})) == ["n", "1000000000000"]
    assert list(guard._strings([-(10**12), 2e12])) == ["1000000000000", "2000000000000"]
