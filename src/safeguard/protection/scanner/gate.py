"""A necessary condition for a card number, checked before the card passes run (R-OPS-2).

The no-PAN guard scans every text a write carries (issue 10: a third of an audit append's CPU),
and nearly all of them are names, e-mail addresses, identifiers and SQL with placeholders that
cannot hold a card number. `may_hold_card` answers False only when no pass can report one, so
skipping the scan on False never changes what is found.

It is derived from the passes themselves, not from a guess about how cards are written. The
passes read the folded view (normalise.py: NFKC, every script's decimal digits, enclosed and
parenthesised numbers such as "⑪" that fold to two digits, invisible characters dropped), and
every card they report is made of 13 to 19 ASCII digits of that view (`checks.pan_brand`) read
inside one match of a pattern that joins digits by short separators, or of number words:

* the digit pass (numeric.py, ``_CANDIDATE`` and ``_RUN_AT``): digits joined by at most one
  separator ``_SEP`` — a space, or one or two of ``-./()`` and the dashes U+2010–U+2013 with an
  optional space either side: at most 4 characters between two digits;
* the separated-cards pass (``_SEPARATED``): one to three of ``_SEPARATOR_CLASS`` (whitespace,
  ``_ , . / -``) between digit groups;
* the guard's floor (scanning.py, ``_DIGIT_RUN``): single ``space . -`` between groups, read in
  the unfolded text, whose ASCII digits and printable ASCII folding keeps as they are;
* the spoken pass (spoken.py): a match of its run pattern over the lower-cased view, whitespace
  turned into spaces.

So a view with no 13 ASCII digits chained by at most `MAX_GAP` characters of `SEPARATORS`, and
no run of number words, holds no card number for the scanner. The view is computed with the
scanner's own `fold` and the words looked for with the spoken pass's own pattern, so a new
script or folding rule reaches the gate with no change here; ``tests/protection/test_pan_gate.py``
checks that no card pattern joins digits across a character outside `SEPARATORS` or a longer
gap, and the implication itself on generated text (every script's digits, enclosed numbers,
invisible characters, number words, valid cards with every separator).

`may_hold_contact` is the same kind of test for what a page masks for display besides the
customer's own values (issue 10 item 6: every customer message of a case is masked each time
the case is shown). An e-mail address is reported only after the e-mail pass's anchor
(`textual.EMAIL_ANCHOR`, "@") in the view; a phone number only from one match of the digit
pass (``_CANDIDATE``'s runs and dotted quads, ``_RUN_AT``) holding at least `phones.MIN_DIGITS`
digits, and those patterns join digits only by `SEPARATORS`, at most `MAX_GAP` of them
(``tests/protection/test_display_gate.py`` checks it as for the card patterns). So a view with
no "@" and no `CONTACT_MIN_DIGITS` digits so chained holds no e-mail address or phone number.
The customer's own values are not guessed at here: the caller asks the known-value matcher.
"""

from __future__ import annotations

import re

from . import checks, phones, spoken, textual
from .contracts import EMAIL, PHONE
from .normalise import fold
from .state import lowered

#: Every character a card pattern accepts between two digits of one card (see above).
SEPARATORS = "\t\n\x0b\x0c\r ,-./()_\u00a0\u2010\u2011\u2012\u2013"
#: The most separator characters a card pattern accepts between two digits (``_SEP``: 4).
MAX_GAP = 4
_CHAIN = re.compile(
    rf"[0-9](?:[{re.escape(SEPARATORS)}]{{0,{MAX_GAP}}}[0-9]){{{checks.PAN_MIN_DIGITS - 1}}}")


def may_hold_card(text: str) -> bool:
    """False only when no card pass of the scanner can report a card number in ``text``."""
    view = fold(text).text
    if _CHAIN.search(view) is not None:
        return True
    return spoken.has_run(lowered(view))


#: The detected types `may_hold_contact` answers for.
CONTACT_TYPES = frozenset({EMAIL, PHONE})
#: The fewest digits of a phone number the phone pass reports.
CONTACT_MIN_DIGITS = phones.MIN_DIGITS
_CONTACT_CHAIN = re.compile(
    rf"[0-9](?:[{re.escape(SEPARATORS)}]{{0,{MAX_GAP}}}[0-9]){{{CONTACT_MIN_DIGITS - 1}}}")


def may_hold_contact(view: str) -> bool:
    """False only when, in the folded view ``view``, neither the e-mail pass nor the phone pass
    can report anything (see above)."""
    return textual.EMAIL_ANCHOR in view or _CONTACT_CHAIN.search(view) is not None
