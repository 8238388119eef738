"""Screened text in plain words for customers and list rows (issue 15, item 7; R-OPS-2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.protection import friendly
from safeguard.protection import services as protection

TOKEN = "tok_" + "a" * 24


@pytest.mark.parametrize(("stored", "shown"), [
    # the example: the card in words, the typed expiry and CVV gone with their labels
    (f"Hi, card [card visa •••• 1111 {TOKEN}] exp [EXPIRY] cvv .", "Hi, card ending 1111."),
    ("my card is [card visa •••• 1111] exp [EXPIRY]", "my card is card ending 1111"),
    ("Refund [card mastercard •••• 4444] please", "Refund card ending 4444 please"),
    # a queue subject with a hashed phone and the customer's own e-mail
    ("[PHONE #c70e12ab34cd] or [KNOWN_EMAIL]", "(phone number) or (e-mail address)"),
    ("call me on [PHONE ••••0132]", "call me on phone number ending 0132"),
    ("IBAN [IBAN ••••6819].", "bank account ending 6819."),
    ("born [DATE_OF_BIRTH], ssn [US_SSN]", "born (date of birth), ssn (social security number)"),
    ("card [card visa •••• 1111] expiry: [EXPIRY], thanks", "card ending 1111, thanks"),
    ("[CUSTOM_REF]", "(custom ref)"),
    # text without placeholders is unchanged, brackets and all
    ("See [1] and [here]; exp 12", "See [1] and [here]; exp 12"),
    ("", ""),
])
def test_placeholders_read_as_plain_words(stored, shown):
    assert protection.text_for_customers(stored) == shown


@given(st.text(alphabet=st.characters(blacklist_characters="[\x00"), max_size=200))
def test_text_without_placeholders_is_unchanged(text):
    assert friendly.for_customers(text) == text


@given(st.sampled_from(["EXPIRY", "PHONE #abc123", "KNOWN_NAME", "card visa •••• 1111 " + TOKEN,
                        "IBAN ••••1234", "PAN", "EMAIL"]),
       st.text(alphabet="abc .,", max_size=20))
def test_no_placeholder_or_token_survives(inner, around):
    shown = friendly.for_customers(f"{around}[{inner}]{around}")
    assert "[" not in shown
    assert "tok_" not in shown
    assert "\x00" not in shown
