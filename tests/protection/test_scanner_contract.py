"""Scanner public contract (docs/scanner.md): signature, Finding, order, overlaps, options."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from itertools import pairwise

import pytest

from safeguard.protection.scanner import (
    BUILTIN_TYPES,
    DEFAULT_REGIONS,
    Finding,
    Scanner,
    ScannerError,
    resolve_overlaps,
    scan,
)

MIXED = (
    "Agent: What card would you like to use?\n"
    "Customer: it's 4111 1111 1111 1111, expiry 12/27, cvv 123. Email me at jane.doe@example.com "
    "or call (415) 555-2671. IBAN GB82 WEST 1234 5698 7654 32, SSN 536-90-4399, "
    "my IP is 192.168.1.10.\n"
)


def test_scan_returns_each_value_at_its_exact_offsets():
    # given a text with one value of each kind
    # when it is scanned
    found = scan(MIXED)

    # then every finding's slice is exactly the value, with the contract's type names
    assert [(f.type, MIXED[f.start : f.end]) for f in found] == [
        ("PAN", "4111 1111 1111 1111"),
        ("EXPIRY", "12/27"),
        ("CVV", "123"),
        ("EMAIL", "jane.doe@example.com"),
        ("PHONE", "(415) 555-2671"),
        ("IBAN", "GB82 WEST 1234 5698 7654 32"),
        ("US_SSN", "536-90-4399"),
        ("IP_ADDRESS", "192.168.1.10"),
    ]


def test_findings_are_ordered_and_do_not_overlap():
    # given a text scanned twice over (repeated values)
    text = MIXED * 3

    # when it is scanned
    found = scan(text)

    # then findings are sorted by start and each ends before the next starts
    assert len(found) == 24
    assert all(a.end <= b.start for a, b in pairwise(found))


def test_finding_is_a_frozen_dataclass_with_the_contract_fields():
    # given a finding from a scan
    finding = scan("mail me: a.b@example.org")[0]

    # then it carries type, offsets, score and reason, and cannot be changed
    assert finding.type == "EMAIL"
    assert (finding.start, finding.end) == (9, 24)
    assert 0.0 <= finding.score <= 1.0
    assert "email" in finding.reason
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.start = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "end", "score"), [(-1, 3, 0.5), (4, 4, 0.5), (5, 2, 0.5), (0, 3, 1.5)]
)
def test_finding_refuses_an_empty_or_reversed_span_or_a_score_outside_0_1(start, end, score):
    with pytest.raises(ValueError, match=r"span|score"):
        Finding("PAN", start, end, score, "test")


def test_types_restricts_what_is_reported():
    # when only e-mail addresses are asked for
    found = scan(MIXED, types=["EMAIL"])

    # then only they come back
    assert [(f.type, MIXED[f.start : f.end]) for f in found] == [("EMAIL", "jane.doe@example.com")]


def test_cvv_alone_is_still_found_next_to_a_card_that_is_not_reported():
    # when only CVVs are asked for
    found = scan(MIXED, types=["CVV"])

    # then the card number was used to find the CVV but is not reported itself
    assert [(f.type, MIXED[f.start : f.end]) for f in found] == [("CVV", "123")]


def test_an_unknown_type_is_refused():
    with pytest.raises(ScannerError, match="unknown finding types"):
        scan("text", types=["CREDIT_CARD"])


def test_an_unknown_region_is_refused():
    with pytest.raises(ScannerError, match="unknown phone regions"):
        scan("text", regions=["XX"])


def test_text_must_be_str():
    with pytest.raises(ScannerError, match="str"):
        scan(b"4111 1111 1111 1111")  # type: ignore[arg-type]


def test_empty_text_has_no_findings():
    assert scan("") == []


def test_regions_decide_which_national_formats_are_phone_numbers():
    # given a London number in national format and a US one
    text = "London 020 7946 0958, Boston (617) 253-1000"

    # when scanned with each region alone
    us = [text[f.start : f.end] for f in scan(text, types=["PHONE"], regions=["US"])]
    gb = [text[f.start : f.end] for f in scan(text, types=["PHONE"], regions=["GB"])]
    both = [text[f.start : f.end] for f in scan(text, types=["PHONE"])]

    # then each region reads only its own national format, the default reads both
    assert us == ["(617) 253-1000"]
    assert gb == ["020 7946 0958"]
    assert both == ["020 7946 0958", "(617) 253-1000"]
    assert DEFAULT_REGIONS == ("US", "GB")


def test_international_numbers_are_found_whatever_the_regions():
    text = "Berlin office: +49 30 901820, Paris: +33 1 42 68 53 00"
    found = scan(text, types=["PHONE"], regions=["US"])
    assert [(text[f.start : f.end], f.value_hint) for f in found] == [
        ("+49 30 901820", "DE"),
        ("+33 1 42 68 53 00", "FR"),
    ]


def test_min_score_zero_also_reports_weak_candidates():
    # given a bare nine-digit number next to a word that makes an SSN unlikely
    text = "order 536904399"

    # when scanned with the default threshold and with none
    default = scan(text)
    everything = Scanner(min_score=0.0).scan(text)

    # then the weak candidate is only reported when asked for
    assert default == []
    assert [(f.type, f.score < 0.5) for f in everything] == [("US_SSN", True)]


def test_scanner_reports_every_builtin_type_name():
    assert Scanner().types == BUILTIN_TYPES
    assert {
        "PAN",
        "US_SSN",
        "IBAN",
        "EMAIL",
        "PHONE",
        "CVV",
        "EXPIRY",
        "US_ROUTING",
        "UK_NINO",
        "DATE_OF_BIRTH",
        "IP_ADDRESS",
    } == BUILTIN_TYPES


def test_bad_scanner_options_are_refused():
    with pytest.raises(ScannerError, match="min_score"):
        Scanner(min_score=2)
    with pytest.raises(ScannerError, match="phone_validation"):
        Scanner(phone_validation="fast")  # type: ignore[arg-type]


def test_overlaps_go_to_the_higher_score_then_the_longer_span():
    # given overlapping candidates
    weak_long = Finding("A", 0, 10, 0.6, "a")
    strong_short = Finding("B", 5, 8, 0.9, "b")
    tie_short = Finding("C", 20, 24, 0.7, "c")
    tie_long = Finding("D", 18, 26, 0.7, "d")
    apart = Finding("E", 30, 31, 0.1, "e")

    # when resolved
    kept = resolve_overlaps([weak_long, strong_short, tie_short, tie_long, apart])

    # then the score wins, then the length, and the result is in text order
    assert kept == [strong_short, tie_long, apart]


def test_candidates_are_what_the_scan_chooses_from():
    # given a text where a customer's own IBAN is also a generic IBAN
    scanner = Scanner()
    known = {"account": ["GB82 WEST 1234 5698 7654 32"]}

    # when the candidates are asked for
    found = scanner.candidates(MIXED, known=known)

    # then the scan is their overlap resolution, and both readings of the IBAN are there
    assert scanner.scan(MIXED, known=known) == resolve_overlaps(found)
    iban = MIXED.index("GB82")
    at_iban = sorted(f.type for f in found if f.start == iban)
    assert at_iban == ["IBAN", "KNOWN_ACCOUNT"]
    assert [f.type for f in scanner.scan(MIXED, known=known) if f.start == iban] == ["IBAN"]
    # and nothing under the scanner's minimum score is a candidate
    assert min(f.score for f in found) >= scanner.min_score


def test_the_scanner_package_imports_no_django():
    # given a fresh interpreter
    code = (
        "import sys, safeguard.protection.scanner as s; s.scan('4111 1111 1111 1111');"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )

    # when the scanner is imported and used
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    # then no Django module was loaded
    assert result.stdout.strip() == "[]"
