"""Known-value matching: a customer's own profile values found in a text (Aho-Corasick)."""

from __future__ import annotations

import pytest

from safeguard.protection.scanner import KnownValues, ScannerError, find_known, scan

PROFILE = {
    "name": ["John Smith", "Ann"],
    "address": ["221B Baker Street, London"],
    "email": ["john.smith@example.com"],
    "phone": ["+44 20 7946 0958"],
    "account": ["12345678"],
}


def _found(text: str, values=PROFILE) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in find_known(text, values)]


def test_values_are_found_ignoring_case_and_spacing_with_original_offsets():
    # given the customer's name written in another case and with odd spacing
    text = "Agent: Hello Mr JOHN   smith, living at 221b  baker\nstreet, london?"

    # when matched against the profile
    found = _found(text)

    # then each value is found and the offsets point into the original text
    assert found == [
        ("KNOWN_NAME", "JOHN   smith"),
        ("KNOWN_ADDRESS", "221b  baker\nstreet, london"),
    ]


def test_values_match_whole_words_only():
    # "Ann" must not match inside "Annual" or "Joann"
    assert _found("Annual fee for Joann; Ann called") == [("KNOWN_NAME", "Ann")]


def test_numeric_values_match_however_the_digits_are_grouped():
    text = "account 1234 5678, or 12-345-678, but not 9912345678 or 123456789"
    assert _found(text) == [("KNOWN_ACCOUNT", "1234 5678"), ("KNOWN_ACCOUNT", "12-345-678")]


def test_an_international_phone_value_also_matches_its_national_form():
    text = "call me on 020 7946 0958 or +44 20 7946 0958"
    assert _found(text) == [("KNOWN_PHONE", "020 7946 0958"), ("KNOWN_PHONE", "+44 20 7946 0958")]


def test_the_longest_value_wins_where_values_overlap():
    values = {"name": ["John", "John Smith"]}
    assert _found("it's John Smith here", values) == [("KNOWN_NAME", "John Smith")]


def test_a_matcher_is_built_once_and_reused():
    # given a matcher for one profile
    matcher = KnownValues(PROFILE)

    # then it can be used on many texts and reports its types
    assert matcher.types == {
        "KNOWN_NAME",
        "KNOWN_ADDRESS",
        "KNOWN_EMAIL",
        "KNOWN_PHONE",
        "KNOWN_ACCOUNT",
    }
    assert [f.type for f in matcher.find("ann")] == ["KNOWN_NAME"]
    assert [f.type for f in matcher.find("mail john.smith@EXAMPLE.com")] == ["KNOWN_EMAIL"]


def test_scan_merges_known_values_with_pattern_findings():
    # given a text with the customer's name, email and an unrelated card number
    text = "John Smith, john.smith@example.com, card 4111 1111 1111 1111"

    # when scanned with the known values
    found = [(f.type, text[f.start : f.end]) for f in scan(text, known=PROFILE)]

    # then the known values win where they overlap a pattern finding (exact customer data)
    assert found == [
        ("KNOWN_NAME", "John Smith"),
        ("KNOWN_EMAIL", "john.smith@example.com"),
        ("PAN", "4111 1111 1111 1111"),
    ]


def test_scan_types_can_select_known_types():
    text = "John Smith, card 4111 1111 1111 1111"
    found = scan(text, types=["KNOWN_NAME"], known=PROFILE)
    assert [(f.type, text[f.start : f.end]) for f in found] == [("KNOWN_NAME", "John Smith")]


def test_values_too_short_or_blank_are_ignored():
    values = {"name": ["J", "  ", ""], "city": "Paris"}
    assert _found("J. lives in PARIS", values) == [("KNOWN_CITY", "PARIS")]


def test_a_category_must_be_a_word():
    with pytest.raises(ScannerError, match="category"):
        KnownValues({"full name": ["x"]})


def test_case_folding_that_changes_length_keeps_offsets_right():
    # "İ" lower-cases to two characters; offsets after it must still be exact
    text = "İİİ then Zoë Ågren"
    assert _found(text, {"name": ["zoë ågren"]}) == [("KNOWN_NAME", "Zoë Ågren")]


def test_no_values_no_findings():
    assert find_known("anything at all", {}) == []
