"""The conversation masker (``customers.selectors.text_masker``) on texts with and without
something to mask: the customer's own values in other case and spacing, e-mail addresses and
phone numbers in several writings (issue 15, R-DATA-2). Issue 10 item 6 made texts with none
of them skip the scan (scanner/gate.py); these outputs are the ones the full scan gives."""

from __future__ import annotations

import pytest

from safeguard.customers import masking
from safeguard.customers.selectors import text_masker
from tests.customers.factories import MARIA, make_customer, principal
from tests.factories import make_user

pytestmark = pytest.mark.django_db

MASKED = [
    # nothing to mask: left as written (card references, expiry, order numbers, short numbers)
    ("Hello, the parcel has not arrived.\n\nKind regards.",
     "Hello, the parcel has not arrived.\n\nKind regards."),
    ("Card [card visa •••• 1111], expiry 12/27, order 88231.",
     "Card [card visa •••• 1111], expiry 12/27, order 88231."),
    ("Annual fee for Mariana Lopezz", "Annual fee for Mariana Lopezz"),
    ("", ""),
    # the customer's name, in other case and spacing, and the last name alone
    ("Maria Lopez here, MARIA\n\tlopez again; Lopez.",
     "M. L••• here, M. l••• again; L•••."),
    # the customer's phone in international, national, full-width and split writings
    (("Call +44 20 7946 0132 or 020 7946 0132 or ＋４４ ２０ ７９４６ ０１３２ or "
      "+44\u200b20 7946 0132."),
     "Call •••• 0132 or •••• 0132 or •••• or •••• 0132."),
    # anyone's phone numbers and e-mail addresses, also with no-break spaces, dashes and "＠"
    (("Other: (415) 555-2671, 415.555.2671, +1\u00a0415\u2013555\u20132671, "
      "bob@example.org, bob＠example.org."),
     "Other: •••• 2671, •••• 2671, •••• 2671, b•••@e•••.org, •••."),
    # the customer's e-mail, date of birth in another layout, address
    ("Mail maria.lopez@example.com, born 12/03/1984, 12 station road LS1 4AP.",
     "Mail m•••@e•••.com, born ••••-••-••, [address] [address]."),
]


@pytest.mark.parametrize(("text", "shown"), MASKED)
def test_the_masker_shows_each_text_masked_like_the_profile(text, shown):
    # given Maria's conversation opened by a user with no reveal grant
    mask = text_masker(viewer=principal(make_user()), customer_id=make_customer().id)
    # when a text she wrote is shown, then it reads exactly so
    assert mask(text) == shown


# The customer's own IBAN is also a generic IBAN; the scan's overlap resolution gave the span
# to IBAN (same score, same length, "IBAN" before "KNOWN_ACCOUNT"), which is not a display
# type, so the page showed it as written (R-DATA-2). Her profile holds it in groups of four.
IBAN_WRITINGS = [
    "GB29 NWBK 6016 1331 9268 19",   # as the profile holds it
    "GB29NWBK60161331926819",        # compact (electronic format)
    "gb29 nwbk 6016 1331 9268 19",   # lower case
    "gb29nwbk60161331926819",        # lower case, compact
    "GB29  NWBK\n6016 1331\t9268 19",  # other whitespace between the groups
]


@pytest.mark.parametrize("iban", IBAN_WRITINGS)
def test_the_customers_own_iban_shows_masked_like_the_profile(iban):
    # given Maria's conversation opened by a user with no reveal grant
    customer = make_customer()
    mask = text_masker(viewer=principal(make_user()), customer_id=customer.id)
    # when a text with her IBAN is shown, then it reads as the profile shows her bank details
    assert mask(f"Please refund to {iban}, thanks.") == (
        f"Please refund to {masking.mask_payout(MARIA['payout'])}, thanks.")
    assert masking.mask_payout(MARIA["payout"]) == "GB•• •••• 6819"


def test_the_customers_own_iban_stored_compact_is_found_in_groups_of_four():
    # given a customer whose profile holds her IBAN compact
    customer = make_customer(payout={"iban": "GB29NWBK60161331926819", "holder": "Maria"})
    mask = text_masker(viewer=principal(make_user()), customer_id=customer.id)
    # when she writes it in groups of four, then it is masked as the profile shows it
    assert mask("IBAN: GB29 NWBK 6016 1331 9268 19") == "IBAN: GB•• •••• 6819"


def test_a_known_value_inside_a_card_number_stays_masked():
    # given a customer whose bank account number is the start of a card number she writes
    # (the card wins the scan's overlap resolution: longer, same score)
    customer = make_customer(payout={"account_number": "41111111", "holder": "Maria"})
    mask = text_masker(viewer=principal(make_user()), customer_id=customer.id)
    # when the text is shown, then her account number's digits are masked all the same
    shown = mask("Card 4111 1111 1111 1111 ok")
    assert shown == "Card •••• 1111 1111 ok"
