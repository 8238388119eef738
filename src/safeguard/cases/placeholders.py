"""Macro placeholders (issue 15): which exist, which are filled where. Pure: no Django.

Two are filled when the agent picks the macro, because the agent may see them anyway:
``{case_number}`` and ``{agent_name}``. ``{customer_first_name}`` is masked-safe: it stays as
written in the composer, the console, the API and exports (an agent never sees the customer's
name in clear through a macro, R-DATA-2) and is filled in only in what the customer receives —
the e-mail handed to the sender and the customer's own chat view.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CASE_NUMBER = "case_number"
AGENT_NAME = "agent_name"
CUSTOMER_FIRST_NAME = "customer_first_name"

FILLED_IN_COMPOSER = (CASE_NUMBER, AGENT_NAME)
FILLED_FOR_CUSTOMER = (CUSTOMER_FIRST_NAME,)
KNOWN = (*FILLED_IN_COMPOSER, *FILLED_FOR_CUSTOMER)

# A placeholder is a lower-case identifier in braces; anything else in braces is plain text.
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,39})\}")


def unknown(text: str) -> list[str]:
    """The placeholders in ``text`` that are not known, sorted, each once."""
    return sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(KNOWN))


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder named in ``values`` replaced (others left as written)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def first_name(full_name: str) -> str:
    """The first word of a name ("" for none)."""
    parts = full_name.split()
    return parts[0] if parts else ""
