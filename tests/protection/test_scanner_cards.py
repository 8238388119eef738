"""Card numbers (PAN), spoken card numbers, and CVV / EXPIRY next to them."""

from __future__ import annotations

import pytest

from safeguard.protection.scanner import Scanner, scan

# Public test numbers of each brand, including the Mastercard 2-series.
CARDS = {
    "visa": "4111111111111111",
    "visa13": "4222222222222",
    "visa19": "4111111111111111110",
    "mastercard": "5555555555554444",
    "mastercard2": "2223003122003222",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "jcb": "3530111333300000",
    "diners": "36227206271667",
    "unionpay": "6200000000000005",
    "maestro": "6759649826438453",
}
BRANDS = {"visa13": "visa", "visa19": "visa", "mastercard2": "mastercard"}


def _grouped(digits: str, sep: str) -> str:
    if len(digits) == 15:
        sizes = [4, 6, 5]
    elif len(digits) == 14:
        sizes = [4, 6, 4]
    else:
        sizes = [4] * (len(digits) // 4) + ([len(digits) % 4] if len(digits) % 4 else [])
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    return sep.join(parts)


def _pans(text: str, **kwargs: object) -> list[tuple[str, str | None]]:
    return [(text[f.start : f.end], f.value_hint) for f in scan(text, **kwargs) if f.type == "PAN"]


@pytest.mark.parametrize("name", sorted(CARDS))
@pytest.mark.parametrize("sep", [" ", "-", ".", ""])
def test_every_brand_is_found_in_every_layout(name, sep):
    # given a card number of a brand written with a separator
    value = _grouped(CARDS[name], sep)
    text = f"Customer: sure, it's {value} thanks"

    # when scanned
    found = _pans(text)

    # then it is one PAN with exactly those offsets and the brand as hint
    assert found == [(value, BRANDS.get(name, name))]


def test_a_luhn_valid_number_outside_every_iin_range_is_not_a_card():
    # 1234 5678 1234 5670 passes Luhn but no issuer uses prefix 1
    assert _pans("it's 1234 5678 1234 5670") == []


def test_a_number_failing_luhn_is_not_a_card():
    assert _pans("order 4111 1111 1111 1112 shipped") == []


def test_context_words_move_the_score_but_a_valid_card_stays_a_card():
    # given the same card after a card cue and after an order cue
    with_card = scan("my card number is 4111 1111 1111 1111")[0]
    with_order = scan("the order number is 4111 1111 1111 1111")[0]

    # then both are PANs, the card cue scoring higher
    assert (with_card.type, with_order.type) == ("PAN", "PAN")
    assert with_card.score > with_order.score >= 0.5
    assert "context +card" in with_card.reason
    assert "context -order" in with_order.reason


def test_a_card_glued_to_an_identifier_is_weak_and_its_cue_can_drop_it():
    # given a card number written inside an invoice identifier
    text = "invoice INV-4111111111111111"

    # when scanned with and without a threshold
    default = scan(text)
    everything = Scanner(min_score=0.0).scan(text, types=["PAN"])

    # then the guard (min_score 0) still sees it; the default scan does not report it
    assert default == []
    assert [(text[f.start : f.end], f.score < 0.5) for f in everything] == [
        ("4111111111111111", True)
    ]


def test_a_card_followed_by_expiry_and_cvv_in_one_run_is_split():
    # given the way people read a card out in one breath
    text = "Customer: 4111 1111 1111 1111 12/27 123\n"

    # when scanned
    found = [(f.type, text[f.start : f.end]) for f in scan(text)]

    # then the card, its expiry and its security code are three findings
    assert found == [("PAN", "4111 1111 1111 1111"), ("EXPIRY", "12/27"), ("CVV", "123")]


def test_expiry_and_cvv_with_cue_words_near_a_card():
    text = "card 5555 5555 5555 4444, it expires 08/2029 and the security code is 737."
    found = [(f.type, text[f.start : f.end]) for f in scan(text)]
    assert found == [("PAN", "5555 5555 5555 4444"), ("EXPIRY", "08/2029"), ("CVV", "737")]


def test_right_after_a_card_only_a_code_of_the_brand_length_is_a_cvv():
    # given an Amex card (4-digit code) followed by four and by three digits
    four = "amex 3782 822463 10005 1234"
    three = "amex 3782 822463 10005 123"

    # then only the four digits are taken for its security code
    assert [(f.type, four[f.start : f.end]) for f in scan(four)] == [
        ("PAN", "3782 822463 10005"),
        ("CVV", "1234"),
    ]
    assert [f.type for f in scan(three)] == ["PAN"]


def test_cvv_and_expiry_are_never_reported_without_a_card():
    # given a security-code cue and a month/year but no card number
    text = "the cvv is 123 and it expires 12/27"

    # then nothing is reported
    assert scan(text) == []


def test_a_number_far_from_the_card_without_a_cue_is_not_a_cvv():
    text = "card 4111 1111 1111 1111. I bought 250 apples last week."
    assert [f.type for f in scan(text)] == ["PAN"]


@pytest.mark.parametrize(
    "spoken",
    [
        "four one one one one one one one one one one one one one one one",
        "Four one one one, one one one one, one one one one, one one one one",
        "five five five five five five five five five five five five double four four four",
        "three seven eight two eight two two four six three one oh oh oh five",
        "six oh one one one one one one one one one one one one one seven",
        "four one one one triple one one one one one one one one one one",
    ],
)
def test_spoken_card_numbers_are_found_word_for_word(spoken):
    # given a card number as speech-to-text writes it
    text = f"Customer: yeah the card is {spoken} okay\n"

    # when scanned
    found = _pans(text)

    # then the span covers exactly the number words
    assert [value for value, _ in found] == [spoken]


def test_spoken_numbers_that_fail_luhn_are_not_cards():
    text = "Customer: four one one one one one one one one one one one one one one two\n"
    assert _pans(text) == []


def test_a_spoken_phone_number_is_not_a_card():
    text = "call me on four one five five five five two six seven one"
    assert _pans(text) == []


def test_several_cards_in_one_run_of_digit_groups_are_each_found():
    # given two cards read one after the other with nothing but a space between them
    text = "cards 4111 1111 1111 1111 5555 5555 5555 4444 thanks"

    # then both are found
    assert _pans(text) == [("4111 1111 1111 1111", "visa"), ("5555 5555 5555 4444", "mastercard")]


def test_several_spoken_cards_in_one_run_of_words_are_each_found():
    first = "four one one one one one one one one one one one one one one one"
    second = "five five five five five five five five five five five five four four four four"
    text = f"the cards are {first} {second} okay"
    assert [value for value, _ in _pans(text)] == [first, second]
