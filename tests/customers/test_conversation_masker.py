"""The conversation masker (``customers.selectors.text_masker``) on texts with and without
something to mask: the customer's own values in other case and spacing, e-mail addresses and
phone numbers in several writings (issue 15, R-DATA-2). Issue 10 item 6 made texts with none
of them skip the scan (scanner/gate.py); these outputs are the ones the full scan gives."""

from __future__ import annotations

import pytest

from safeguard.customers.selectors import text_masker
from tests.customers.factories import make_customer, principal
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
