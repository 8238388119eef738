"""Masking (R-DATA-2): a pure core; examples, then properties over arbitrary input."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from safeguard.customers import masking

_text = st.text(max_size=60)
_word = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Z", "Cc")),
                min_size=2, max_size=20).filter(lambda s: "@" not in s and "." not in s)


def test_examples_of_each_mask():
    assert masking.mask_email("maria.lopez@example.com") == "m•••@e•••.com"
    assert masking.mask_phone("+44 20 7946 0132") == "•••• 0132"
    assert masking.mask_name("John Smith") == "J. S•••"
    assert masking.mask_name("Anna Maria de Souza") == "A. S•••"
    assert masking.mask_name("Cher") == "C•••"
    assert masking.mask_address({"line1": "12 Station Road", "postcode": "LS1 4AP",
                                 "city": "Leeds", "country": "gb"}) == "Leeds, GB"
    assert masking.mask_address({"line1": "12 Station Road"}) == "•••"
    assert masking.mask_date("1984-03-12") == "••••-••-••"
    assert masking.mask_iban("GB29 NWBK 6016 1331 9268 19") == "GB•• •••• 6819"
    assert masking.mask_payout({"account_number": "000123456789"}) == "•••• 6789"


def test_empty_values_mask_to_empty_and_malformed_ones_to_dots():
    assert [masking.mask_email(""), masking.mask_phone(None), masking.mask_name("  "),
            masking.mask_address(None), masking.mask_date(""), masking.mask_iban(""),
            masking.mask_payout({})] == ["", "", "", "", "", "", ""]
    assert masking.mask_email("not-an-address") == "•••"
    assert masking.mask_phone("12 34") == "••••"  # too short to show four digits
    assert masking.mask_iban("GB29") == "••••"


def test_clear_formats_for_reveal():
    assert masking.format_address({"line1": "12 Station Road", "postcode": "LS1 4AP",
                                   "city": "Leeds", "country": "gb"}) == (
        "12 Station Road, LS1 4AP Leeds, GB")
    assert masking.format_payout({"iban": "GB29NWBK60161331926819", "bic": "nwbkgb2l",
                                  "holder": "Maria Lopez"}) == (
        "GB29 NWBK 6016 1331 9268 19 · BIC NWBKGB2L · holder Maria Lopez")


@given(value=_text)
def test_every_mask_accepts_any_text_without_raising(value):
    for mask in (masking.mask_email, masking.mask_phone, masking.mask_name, masking.mask_date,
                 masking.mask_iban):
        assert isinstance(mask(value), str)
    assert isinstance(masking.mask_address({"city": value, "line1": value}), str)
    assert isinstance(masking.mask_payout({"iban": value, "account_number": value}), str)


@given(local=_word, domain=_word, tld=st.sampled_from(["com", "org", "co", "museum"]))
def test_email_mask_shows_only_two_initials_and_the_tld(local, domain, tld):
    # given an address whose mailbox and domain are at least two characters
    masked = masking.mask_email(f"{local}@{domain}.{tld}")
    # then the shape is fixed and neither part appears whole; a non-ASCII address is marked,
    # so a Cyrillic or full-width look-alike never masks like the real one (decision 0101)
    marker = "" if f"{local}{domain}".isascii() else masking.NON_ASCII_MARK
    assert masked == f"{local[0]}•••@{domain[0]}•••.{tld}{marker}"
    assert local not in masked.replace("•••", "")
    assert domain not in masked.replace("•••", "")


@given(local=_word, suffix=_word, domain=_word)
def test_email_mask_hides_the_length_of_the_mailbox(local, suffix, domain):
    # two mailboxes that differ after the first character mask alike (up to the non-ASCII
    # marker, which tells a look-alike apart)
    def shape(text: str) -> str:
        return text.removesuffix(masking.NON_ASCII_MARK)

    assert shape(masking.mask_email(f"{local}@{domain}.com")) == shape(masking.mask_email(
        f"{local[0]}{suffix}@{domain}.com"))


def test_a_look_alike_address_does_not_mask_like_the_real_one():
    real = masking.mask_email("maria.lopez0@example.com")
    assert real == "m•••@e•••.com"
    assert masking.mask_email("maria.lopez0@\u0435xample.com") == "m•••@\u0435•••.com" + \
        masking.NON_ASCII_MARK
    assert masking.mask_email("maria.lopez0@\uff45xample.com") != real


@given(digits=st.text(alphabet="0123456789", min_size=7, max_size=15),
       noise=st.sampled_from(["", " ", "-", "(", ")", "+"]))
def test_phone_mask_keeps_exactly_the_last_four_digits(digits, noise):
    # given a phone number written with any separators
    masked = masking.mask_phone(noise.join(digits))
    # then only its last four digits are visible
    assert masked == f"•••• {digits[-4:]}"
    assert re.sub(r"[^0-9]", "", masked) == digits[-4:]


@given(parts=st.lists(_word, min_size=2, max_size=4))
def test_name_mask_is_two_initials_and_never_a_whole_part(parts):
    masked = masking.mask_name(" ".join(parts))
    assert masked == f"{parts[0][0]}. {parts[-1][0]}•••"
    visible = masked.replace("•••", "")
    assert all(p not in visible for p in parts)


@given(city=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=20)
       .map(str.strip).filter(bool), street=_word, postcode=_word)
def test_address_mask_shows_the_city_only(city, street, postcode):
    masked = masking.mask_address({"line1": f"{street} Road", "postcode": postcode,
                                   "city": city, "country": "GB"})
    assert masked == f"{' '.join(city.split())}, GB"
    assert f"{street} Road" not in masked


@given(country=st.sampled_from(["GB", "DE", "FR", "NL"]),
       body=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=10, max_size=30))
def test_iban_mask_keeps_country_and_last_four(country, body):
    iban = country + body
    masked = masking.mask_iban(iban)
    assert masked == f"{country}•• •••• {iban[-4:]}"
    assert body[:-4] not in masked or len(body[:-4]) == 0
