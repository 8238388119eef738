"""Hard negatives stay negative: numbers that look like personal data but are not."""

from __future__ import annotations

import pytest

from safeguard.protection.scanner import scan

HARD_NEGATIVES = [
    # order numbers shaped like cards that fail Luhn
    "My order number is 4111 1111 1111 1112.",
    "order 5555-5555-5555-4445 still hasn't shipped",
    "ref 3782 822463 10006",
    # tracking numbers
    "The UPS tracking number is 1Z999AA10123456784.",
    "tracking 1ZXHN75Q2988431881",
    "FedEx tracking 123456789012",
    "the FedEx number is 079744060168966",
    "USPS tracking says 9400 1000 0000 0000 0000 00",
    "USPS 9400 1118 9922 3033 6052 81",
    # timestamps and clock times
    "it was delivered at 2024-03-05 14:22:01",
    "the log shows 2024-03-05T14:22:01Z",
    "last login 2024-11-30 09:15",
    "the app shows timestamp 1709634121",
    "error at 1709634121123",
    "opening hours 9:00 to 17:30",
    # amounts
    "the charge was $1,234.56",
    "I paid £45.00 last week",
    "a refund of USD 12,345.67",
    "total 1,234,567.89 dollars",
    "it came to €1.299,00",
    # invoice ids
    "invoice INV-2024-004512",
    "the invoice number is INV2024004512",
    "see invoice 2024-00451 attached",
    # ISBNs
    "the book's ISBN is 978-0-306-40615-7",
    "ISBN 0-306-40615-2",
    "ISBN-13: 9780306406157",
    "I ordered 0-8044-2957-X, the hardcover",
    # everyday numbers
    "I'm on app version 10.0.19041.1",
    "build 4.6.14536",
    "your case number is 00123456",
    "ticket 19054400",
    "I have 3 accounts, 2 of them closed in 2019",
    "zip code 94107-1234",
    "call volume was 1,200 on 05/03/2024",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_produce_no_findings(text):
    # given a sentence with a look-alike and nothing sensitive
    # when scanned with every built-in type
    found = scan(text)

    # then nothing is reported
    assert [(f.type, text[f.start : f.end]) for f in found] == []


def test_hard_negatives_around_real_values_do_not_hide_them():
    # given a transcript mixing look-alikes and real values
    text = (
        "Agent: the order number is 4111 1111 1111 1112 and tracking 1Z999AA10123456784.\n"
        "Customer: my card is 4111 1111 1111 1111, invoice INV-2024-004512, paid $1,234.56.\n"
        "Agent: ISBN 978-0-306-40615-7 shipped 2024-03-05 14:22:01; reach me on 020 7946 0958\n"
    )

    # when scanned
    found = [(f.type, text[f.start : f.end]) for f in scan(text)]

    # then only the real values are reported
    assert found == [("PAN", "4111 1111 1111 1111"), ("PHONE", "020 7946 0958")]


def test_uuids_are_never_card_numbers_even_when_their_digits_pass_luhn():
    # given ids whose digit groups happen to join into Luhn-valid card-like runs
    ids = ["3bec6689-60a3-4190-a415-3446516737a2", "43163081-9114-4383-8101-6ab253357cf1",
           "f5187918-2337-4503-8747-86371163af87"]
    # then neither the scanner nor the no-PAN guard sees a card, and a real one beside is found
    for value in ids:
        assert scan(value) == []
        found = scan(f"{value} card 4111 1111 1111 1111")
        assert [(f.type, f.start) for f in found] == [("PAN", len(value) + 6)]


def test_a_short_group_before_a_card_does_not_hide_it():
    assert [(f.type, f.start, f.end) for f in scan("0 4111111111111111")] == [("PAN", 2, 18)]
    assert [(f.type, f.start, f.end) for f in scan("qty 12 4111 1111 1111 1111")] == [
        ("PAN", 7, 26)]
