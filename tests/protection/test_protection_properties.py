"""Property tests for the validators and normalisers this app adds on top of the scanner."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.protection import blind, vault
from safeguard.protection.contracts import InvalidCardNumber
from safeguard.protection.screening import pan_digits


def _luhn_complete(payload: str) -> str:
    for d in "0123456789":
        candidate = payload + d
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            n = int(ch)
            if i % 2:
                n = n * 2 - 9 if n > 4 else n * 2
            total += n
        if total % 10 == 0:
            return candidate
    raise AssertionError


visa = st.text(alphabet="0123456789", min_size=14, max_size=14).map(
    lambda body: _luhn_complete("4" + body))
separators = st.sampled_from(["", " ", "-", "."])


@given(number=visa, sep=separators)
def test_card_digits_accepts_any_valid_card_in_any_grouping(number, sep):
    written = sep.join(number[i:i + 4] for i in range(0, 16, 4))
    assert vault.card_digits(written) == (number, "visa")


@given(number=visa, wrong=st.integers(min_value=1, max_value=9))
def test_card_digits_refuses_a_wrong_check_digit(number, wrong):
    broken = number[:-1] + str((int(number[-1]) + wrong) % 10)
    with pytest.raises(InvalidCardNumber):
        vault.card_digits(broken)


@given(st.text(alphabet="0123456789 -x", min_size=8, max_size=80))
def test_card_digits_never_echoes_its_input(value):
    detail = ""
    try:
        vault.card_digits(value)
    except InvalidCardNumber as exc:
        detail = exc.detail
    assert value.strip() not in detail or not detail


_WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
          "6": "six", "7": "seven", "8": "eight", "9": "nine"}


@given(number=visa)
def test_spoken_numbers_decode_to_their_digits(number):
    assert pan_digits(" ".join(_WORDS[d] for d in number)) == number
    assert pan_digits(f"{number[:4]}-{number[4:]}") == number


local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=20)


@given(user=local, domain=st.sampled_from(["example.com", "Example.ORG", "mail.EXAMPLE.net"]),
       pad=st.sampled_from(["", " ", "\t", "  "]))
def test_email_normalisation_is_idempotent_and_ignores_case_and_padding(user, domain, pad):
    written = f"{pad}{user.upper()}@{domain}{pad}"
    once = blind.normalise(written, "email")
    assert once == blind.normalise(once, "email")
    assert once == f"{user}@{domain}".lower()


@settings(max_examples=500)
@given(st.text(max_size=60), st.sampled_from(sorted(blind.NORMALISERS)))
def test_every_normaliser_is_idempotent(value, kind):
    once = blind.normalise(value, kind)
    assert blind.normalise(once, kind) == once or kind == "phone"
