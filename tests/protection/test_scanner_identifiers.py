"""A labelled corpus of tricky cases per type: SSN, IBAN, e-mail, phone, routing, NINO, DOB, IP."""

from __future__ import annotations

import pytest

from safeguard.protection.scanner import scan


def _found(text: str, kind: str) -> list[str]:
    return [text[f.start : f.end] for f in scan(text) if f.type == kind]


# ---------------------------------------------------------------------------- US_SSN
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 536-90-4399 on file", ["536-90-4399"]),
        ("it's 536 90 4399", ["536 90 4399"]),
        ("my social security number is 536904399", ["536904399"]),
        ("for verification: 536904399", ["536904399"]),
        ("SSN 000-12-3456", []),  # area 000
        ("SSN 666-12-3456", []),  # area 666
        ("SSN 912-12-3456", []),  # area 9xx (ITINs, advertising)
        ("SSN 123-00-4567", []),  # group 00
        ("SSN 123-45-0000", []),  # serial 0000
        ("SSN 078-05-1120", []),  # the Woolworth wallet card
        ("order 536904399", []),  # a bare nine-digit number with an order cue
        ("SSN 536-904-399", []),  # not the 3-2-4 layout
    ],
)
def test_ssn_structure_rules_and_layouts(text, expected):
    assert _found(text, "US_SSN") == expected


# ---------------------------------------------------------------------------- IBAN
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IBAN GB82 WEST 1234 5698 7654 32 please", ["GB82 WEST 1234 5698 7654 32"]),
        ("to GB82WEST12345698765432.", ["GB82WEST12345698765432"]),
        ("lower case gb82 west 1234 5698 7654 32", ["gb82 west 1234 5698 7654 32"]),
        ("DE89 3704 0044 0532 0130 00 is mine", ["DE89 3704 0044 0532 0130 00"]),
        ("BE31 4354 1116 1155 with thanks", ["BE31 4354 1116 1155"]),  # national check too
        ("BE68 5390 0754 7035", []),  # national check fails
        ("NO93 8601 1117 947", ["NO93 8601 1117 947"]),  # shortest length
        ("GB00 WEST 1234 5698 7654 32", []),  # wrong check digits
        ("DE89 3704 0044 0532 0130 001", []),  # one digit too many for DE
        ("GB82WEST12345698765432X", []),  # glued to more text
        ("XX82 WEST 1234 5698 7654 32", []),  # no such country
    ],
)
def test_iban_checks_digits_length_and_structure(text, expected):
    assert _found(text, "IBAN") == expected


def test_an_invalid_iban_is_not_mined_for_cards_or_phone_numbers():
    # given an IBAN-shaped reference whose tail holds a Luhn-valid card-like number
    text = "reference PL79 1558 4111 1111 1111 1111 1781"

    # then nothing is reported from inside it
    assert scan(text) == []


# ---------------------------------------------------------------------------- EMAIL
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail john.smith@example.com.", ["john.smith@example.com"]),
        ("JOHN_SMITH+orders@Mail.Example.co.uk, thanks", ["JOHN_SMITH+orders@Mail.Example.co.uk"]),
        ("o'brien@example.ie", ["o'brien@example.ie"]),
        ("<a.b-c@sub.domain.io>", ["a.b-c@sub.domain.io"]),
        ("user@localhost", []),  # no public domain
        ("@example.com", []),  # no local part
        ("meet @ 5pm", []),
        ("user@example", []),
        ("a@b.c", []),  # one-letter top-level domain
    ],
)
def test_email_addresses(text, expected):
    assert _found(text, "EMAIL") == expected


# ---------------------------------------------------------------------------- PHONE
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call (415) 555-2671", ["(415) 555-2671"]),
        ("call 415-555-2671 or 415.555.2671", ["415-555-2671", "415.555.2671"]),
        ("mobile 4155552671", ["4155552671"]),
        ("+1 415 555 2671", ["+1 415 555 2671"]),
        ("1-800-555-0199 toll free", ["1-800-555-0199"]),
        ("1-212-736-5000 main line", ["1-212-736-5000"]),
        ("London 020 7946 0958", ["020 7946 0958"]),
        ("mobile 07911 123456", ["07911 123456"]),
        ("+44 20 7946 0958", ["+44 20 7946 0958"]),
        ("+44 (0)20 7946 0958", ["+44 (0)20 7946 0958"]),
        ("0044 20 7946 0958", ["0044 20 7946 0958"]),  # GB international prefix
        ("+49 30 901820", ["+49 30 901820"]),
        ("+33 1 42 68 53 00", ["+33 1 42 68 53 00"]),
        ("+61 2 9374 4000", ["+61 2 9374 4000"]),
        ("ring 05 1234 5678", []),
        ("logged at 2024-03-05 14:22:01", []),
        ("epoch 1709634121", []),
        ("ISBN 4-347-76918-0", []),
        ("order number 4155552671", []),  # cue says it is not a phone number
    ],
)
def test_phone_numbers_international_anywhere_and_national_for_regions(text, expected):
    assert _found(text, "PHONE") == expected


def test_a_national_number_needs_its_trunk_prefix_where_the_region_requires_one():
    # "20 7946 0958" is London without the trunk 0 (and no valid US number in GB-only mode)
    assert [f.type for f in scan("20 7946 0958", regions=["GB"])] == []
    assert [f.type for f in scan("020 7946 0958", regions=["GB"])] == ["PHONE"]


def test_phone_validation_through_libphonenumbers_matcher_gives_the_same_answers():
    from safeguard.protection.scanner import Scanner

    # given the matcher mode and a text with numbers and look-alikes
    text = (
        "call (415) 555-2671, +44 20 7946 0958, 020 7946 0958 or 07911 123456.\n"
        "order 4155552671; ISBN 4-347-76918-0; at 2024-03-05 14:22:01; +49 30 901820"
    )
    # when scanned in both modes
    fast = [(f.start, f.end) for f in scan(text, types=["PHONE"])]
    matcher = [
        (f.start, f.end) for f in Scanner(phone_validation="matcher").scan(text, types=["PHONE"])
    ]
    # then they agree
    assert fast == matcher
    assert len(fast) == 5


# ---------------------------------------------------------------------------- US_ROUTING
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("routing number 021000021", ["021000021"]),
        ("ABA 111000025 for the wire", ["111000025"]),
        ("routing number 021000022", []),  # checksum fails
        ("routing 991000021", []),  # not a Federal Reserve prefix
        ("the code is 021000021", []),  # no routing cue
    ],
)
def test_aba_routing_numbers_need_their_checksum_and_a_cue(text, expected):
    assert _found(text, "US_ROUTING") == expected


def test_a_routing_number_is_not_reported_as_an_ssn():
    text = "the ABA is 111000025"
    assert [(f.type, text[f.start : f.end]) for f in scan(text)] == [("US_ROUTING", "111000025")]


# ---------------------------------------------------------------------------- UK_NINO
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NI number AB 12 34 56 C", ["AB 12 34 56 C"]),
        ("nino: AB123456C.", ["AB123456C"]),
        ("national insurance number JG103759A", ["JG103759A"]),
        ("national insurance number JG 10 37 59", ["JG 10 37 59"]),  # no suffix, with cue
        ("BG 12 34 56 C", []),  # administrative prefix never issued
        ("GB123456A", []),
        ("DA123456A", []),  # D is not a valid first letter
        ("AO123456A", []),  # O is not a valid second letter
        ("AB123456E", []),  # suffix is A-D
        ("ref AB123456", []),  # no suffix and no cue
    ],
)
def test_uk_national_insurance_numbers(text, expected):
    assert _found(text, "UK_NINO") == expected


# ---------------------------------------------------------------------------- DATE_OF_BIRTH
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I was born on March 5, 1980", ["March 5, 1980"]),
        ("DOB: 05/03/1980", ["05/03/1980"]),
        ("date of birth 1980-03-05", ["1980-03-05"]),
        ("my birthday is the 5th of March 1980", ["5th of March 1980"]),
        ("d.o.b. 5 Mar 1980", ["5 Mar 1980"]),
        ("born 31/02/1980", []),  # no such day
        ("delivered on 05/03/2024", []),  # a date, but not a birth date
        ("the adobe file from 05/03/1980", []),  # "dob" inside a word
    ],
)
def test_dates_of_birth_need_a_birth_cue(text, expected):
    assert _found(text, "DATE_OF_BIRTH") == expected


# ---------------------------------------------------------------------------- IP_ADDRESS
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from 192.168.1.10.", ["192.168.1.10"]),
        ("dns 8.8.8.8 and 10.0.0.1/8", ["8.8.8.8", "10.0.0.1"]),
        ("ipv6 2001:db8::8a2e:370:7334 ok", ["2001:db8::8a2e:370:7334"]),
        (
            "loopback ::1, full 2001:0db8:0000:0000:0000:ff00:0042:8329",
            ["::1", "2001:0db8:0000:0000:0000:ff00:0042:8329"],
        ),
        ("mapped ::ffff:192.0.2.1", ["::ffff:192.0.2.1"]),
        ("999.1.1.1", []),
        ("version 10.0.19041.1", []),
        ("1.2.3.4.5", []),
        ("at 10:30:00", []),
        ("mac 00:1a:2b:3c:4d:5e", []),
        ("v1.2.3.4", []),
    ],
)
def test_ip_addresses_v4_and_v6(text, expected):
    assert _found(text, "IP_ADDRESS") == expected
