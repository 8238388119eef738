"""Property tests: offsets, order, Luhn, and our validators against python-stdnum and
libphonenumber's own matcher."""

from __future__ import annotations

import string
from itertools import pairwise

import phonenumbers
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.us import rtn as stdnum_rtn
from stdnum.us import ssn as stdnum_ssn

from safeguard.protection.scanner import Scanner, checks, find_known, scan, spoken

PROPERTY = settings(deadline=None, max_examples=200)

# (prefix, length) pairs inside real IIN ranges of every brand the scanner knows.
CARD_SHAPES = [
    ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
    ("34", 15), ("37", 15), ("6011", 16), ("65", 19), ("644", 16), ("3528", 16), ("3589", 19),
    ("36", 14), ("300", 16), ("62", 17), ("6759", 16), ("5018", 13), ("2200", 16),
]  # fmt: skip
PROSE = st.text(alphabet=string.ascii_letters + " ,.;:!?'\n", max_size=60)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix, length = draw(st.sampled_from(CARD_SHAPES))
    body = draw(st.text(alphabet=string.digits, min_size=length - len(prefix) - 1,
                        max_size=length - len(prefix) - 1))  # fmt: skip
    payload = prefix + body
    return payload + checks.luhn_check_digit(payload)


def _layout(digits: str, sep: str) -> str:
    sizes = {15: [4, 6, 5], 14: [4, 6, 4]}.get(len(digits), [4, 4, 4, 4, 4])
    parts, i = [], 0
    for size in sizes:
        if i < len(digits):
            parts.append(digits[i : i + size])
        i += size
    return sep.join(parts)


@PROPERTY
@given(card_numbers(), st.sampled_from([" ", "-", ".", ""]), PROSE, PROSE)
def test_any_valid_card_in_any_layout_is_found_at_its_exact_offsets(digits, sep, before, after):
    # given a valid card number embedded in random prose
    value = _layout(digits, sep)
    text = f"{before} {value} {after}"
    start = len(before) + 1

    # when scanned
    found = [(f.start, f.end) for f in scan(text) if f.type == "PAN"]

    # then it is found with exactly its offsets
    assert found == [(start, start + len(value))]


@PROPERTY
@given(st.text(alphabet=string.digits, min_size=13, max_size=19), PROSE, PROSE)
def test_a_number_failing_luhn_is_never_a_card(digits, before, after):
    assume(not checks.luhn_valid(digits))
    text = f"{before} {digits} {after}"
    assert [f for f in Scanner(min_score=0.0).scan(text) if f.type == "PAN"] == []


@PROPERTY
@given(st.text(alphabet=string.digits + "    --..//()+" + "abcXYZ", max_size=200))
def test_every_reported_card_passes_luhn_and_an_iin_range(text):
    for finding in Scanner(min_score=0.0).scan(text, types=["PAN"]):
        digits = "".join(c for c in text[finding.start : finding.end] if c.isdigit())
        assert checks.pan_brand(digits) == finding.value_hint


MIXED_ALPHABET = string.ascii_letters + string.digits + " \n\t.,;:-+()/@#$£€_'" + "éİß"


@PROPERTY
@given(st.text(alphabet=MIXED_ALPHABET, max_size=300) | st.text(max_size=120))
def test_findings_are_in_bounds_ordered_and_never_overlap(text):
    # when any text is scanned
    found = Scanner(min_score=0.0).scan(text)

    # then every finding is a non-empty slice, in order, with no overlap
    assert all(0 <= f.start < f.end <= len(text) for f in found)
    assert all(a.end <= b.start for a, b in pairwise(found))


@PROPERTY
@given(st.text(alphabet=string.digits, min_size=1, max_size=30))
def test_luhn_check_digit_completes_and_any_single_change_breaks(payload):
    full = payload + checks.luhn_check_digit(payload)
    assert checks.luhn_valid(full)
    changed = full[:-1] + str((int(full[-1]) + 1) % 10)
    assert not checks.luhn_valid(changed)


_BBAN_SHAPES = {
    "GB": "AAAA" + "9" * 14,
    "DE": "9" * 18,
    "FR": "9" * 10 + "C" * 11 + "99",
    "NL": "AAAA" + "9" * 10,
    "BE": "9" * 12,
    "ES": "9" * 20,
    "NO": "9" * 11,
    "CH": "9" * 5 + "C" * 12,
    "IT": "A" + "9" * 10 + "C" * 12,
}


@st.composite
def iban_like(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(_BBAN_SHAPES)))
    classes = {"A": string.ascii_uppercase, "9": string.digits,
               "C": string.ascii_uppercase + string.digits}  # fmt: skip
    bban = "".join(draw(st.sampled_from(classes[c])) for c in _BBAN_SHAPES[country])
    good = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
    mutation = draw(st.sampled_from(["none", "check", "char", "drop", "add"]))
    if mutation == "check":
        return good[:2] + f"{draw(st.integers(0, 99)):02d}" + good[4:]
    if mutation == "char":
        i = draw(st.integers(4, len(good) - 1))
        return good[:i] + draw(st.sampled_from(string.digits + "AZ")) + good[i + 1 :]
    if mutation == "drop":
        return good[:-1]
    if mutation == "add":
        return good + "7"
    return good


@PROPERTY
@given(iban_like())
def test_iban_check_agrees_with_python_stdnum(value):
    assert checks.iban_valid(value) == stdnum_iban.is_valid(value)


@PROPERTY
@given(iban_like(), st.booleans())
def test_every_valid_iban_is_found_spaced_or_compact(value, spaced):
    assume(stdnum_iban.is_valid(value))
    written = stdnum_iban.format(value) if spaced else value
    text = f"refund to {written} please"
    assert [(f.type, text[f.start : f.end]) for f in scan(text)] == [("IBAN", written)]


@PROPERTY
@given(st.text(alphabet=string.digits, min_size=9, max_size=9))
def test_ssn_rules_agree_with_python_stdnum(digits):
    assert checks.ssn_valid(digits) == stdnum_ssn.is_valid(digits)


@PROPERTY
@given(st.sampled_from(["01", "02", "09", "11", "12", "21", "26", "32", "61", "72", "80"]),
       st.text(alphabet=string.digits, min_size=7, max_size=7))  # fmt: skip
def test_aba_checksum_agrees_with_python_stdnum(prefix, rest):
    digits = prefix + rest
    assert checks.aba_valid(digits) == stdnum_rtn.is_valid(digits)


PHONE_REGIONS = ["US", "GB", "CA", "JE", "DE", "FR", "IE", "AU", "ES", "NL", "IN", "BR"]
PHONE_FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PHONE_REGIONS))
    kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.FIXED_LINE,
                                 phonenumbers.PhoneNumberType.MOBILE]))  # fmt: skip
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None)
    assert example is not None
    national = str(example.national_number)
    keep = draw(st.integers(1, len(national)))
    tail = draw(st.text(alphabet=string.digits, min_size=len(national) - keep,
                        max_size=len(national) - keep))  # fmt: skip
    number = phonenumbers.parse("+" + str(example.country_code) + national[:keep] + tail)
    return phonenumbers.format_number(number, draw(st.sampled_from(PHONE_FORMATS)))


@settings(deadline=None, max_examples=400)
@given(written_numbers())
def test_metadata_phone_validation_agrees_with_phonenumbermatcher(written):
    # given a number as libphonenumber itself formats it, valid or not, in a sentence
    text = f"You can call me on {written} today."

    # when scanned in the default mode and through PhoneNumberMatcher
    fast = [(f.start, f.end) for f in scan(text, types=["PHONE"])]
    matcher = Scanner(phone_validation="matcher").scan(text, types=["PHONE"])

    # then both report the same spans
    assert fast == [(f.start, f.end) for f in matcher]


DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@PROPERTY
@given(card_numbers(), st.booleans(), st.booleans())
def test_any_valid_card_spoken_word_by_word_is_found(digits, use_oh, use_double):
    # given a card number read out as speech-to-text writes it
    words: list[str] = []
    i = 0
    while i < len(digits):
        d = digits[i]
        if use_double and i + 1 < len(digits) and digits[i + 1] == d:
            words.append("double " + DIGIT_WORDS[int(d)])
            i += 2
            continue
        words.append("oh" if use_oh and d == "0" else DIGIT_WORDS[int(d)])
        i += 1
    said = " ".join(words)
    text = f"Customer: yes it's {said} thanks\n"

    # then the whole reading is one card finding
    assert [(f.type, text[f.start : f.end]) for f in scan(text)] == [("PAN", said)]


def test_the_spoken_word_pattern_covers_every_number_word():
    # the factored regular expression must accept exactly the decoder's words
    for word in [*spoken._DIGIT_WORDS, *spoken._REPEAT]:
        assert spoken.WORD_PATTERN.fullmatch(word), word


NAME_CHARS = st.text(alphabet=string.ascii_letters, min_size=2, max_size=10)


NOT_A_NAME = st.text(alphabet=" ,.;:!?()\n0123456789", max_size=40)


@PROPERTY
@given(st.lists(NAME_CHARS, min_size=1, max_size=3), st.data(), NOT_A_NAME, NOT_A_NAME)
def test_a_known_value_is_found_whatever_its_case_and_spacing(parts, data, before, after):
    # given a known name and the same name in the text with other case and spacing
    value = " ".join(parts)
    gaps = [data.draw(st.sampled_from([" ", "  ", "\n", " \t "])) for _ in parts[1:]]
    written = parts[0].swapcase() + "".join(g + p.upper() for g, p in zip(gaps, parts[1:],
                                                                        strict=True))  # fmt: skip
    text = f"{before} {written} {after}"
    start = len(before) + 1

    # when matched against the customer's values
    found = find_known(text, {"name": [value]})

    # then the written form is found at its exact offsets
    assert (start, start + len(written), "KNOWN_NAME") in [(f.start, f.end, f.type) for f in found]


def _libphonenumber_valid(written: str) -> bool:
    for region in ("US", "GB"):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(written, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


@settings(deadline=None, max_examples=400)
@example("", ["00", "0", "45201", "00000"], " ")  # "045" after "00" is no calling code (not +45)
@given(
    st.sampled_from(["", "+", "+1 ", "+44 ", "0", "1-", "(0"]),
    st.lists(st.text(alphabet=string.digits, min_size=1, max_size=5), min_size=1, max_size=5),
    st.sampled_from([" ", "-", ".", ""]),
)
def test_on_any_digit_groups_the_metadata_mode_finds_what_the_matcher_finds(lead, groups, sep):
    # given digit groups that may or may not form a number
    text = f"ring {lead}{sep.join(groups)} now"

    # when scanned in both modes
    fast = [(f.start, f.end) for f in scan(text, types=["PHONE"])]
    matcher = [
        (f.start, f.end) for f in Scanner(phone_validation="matcher").scan(text, types=["PHONE"])
    ]

    # then every number PhoneNumberMatcher finds is found, and everything found is a number
    # libphonenumber calls valid (the metadata mode also reads "0161 496 0000 2" as a
    # number followed by a stray digit, where the matcher gives up on the whole run)
    assert set(matcher) <= set(fast)
    assert all(_libphonenumber_valid(text[a:b]) for a, b in fast)
