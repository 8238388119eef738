"""Demo support of the customers app. The demo contact centre (several hundred customers) is
loaded by the demo-data loader; this module offers it one deterministic customer factory.

``demo_customer(seed=n)`` always yields the same realistic, fictional customer for ``n``:
names from a fixed list, e-mail on reserved example domains, phone numbers from ranges
reserved for drama (Ofcom 020 7946 0xxx, NANP 555-01xx), valid-checksum test IBANs. It is
idempotent: a second call with the same seed returns the existing customer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any
from uuid import UUID

from stdnum import iban as stdnum_iban

from safeguard.audit.contracts import Actor
from safeguard.customers import selectors, services

ORDER = 20  # after accounts and protection (keys), before cases

_FIRST = ("Maria", "John", "Aisha", "Liam", "Sofia", "Noah", "Chen", "Olivia", "Mateo", "Emma",
          "Yusuf", "Hannah", "Kenji", "Zara", "Lucas", "Amara", "Ivan", "Priya", "Tomás", "Grace")
_LAST = ("Lopez", "Smith", "Khan", "Murphy", "Rossi", "Williams", "Wei", "Brown", "García",
         "Schmidt", "Okafor", "Nguyen", "Tanaka", "Dubois", "Novak", "Patel", "Silva", "Berg",
         "O'Neill", "Kowalski", "Jones", "Haddad", "Fischer")
_PLACES = (("Leeds", "LS1 4AP", "GB"), ("Manchester", "M1 1AE", "GB"), ("Bristol", "BS1 5TR", "GB"),
           ("Glasgow", "G1 1XQ", "GB"), ("Springfield", "62701", "US"), ("Portland", "97201", "US"),
           ("Austin", "73301", "US"), ("Cardiff", "CF10 1EP", "GB"))
_STREETS = ("High Street", "Station Road", "Church Lane", "Park Avenue", "Mill Road",
            "Maple Street", "Victoria Road", "Oak Drive")
_DOMAINS = ("example.com", "example.net", "example.org")
_BANKS = ("NWBK601613", "BUKB202015", "MIDL400515", "BARC200000")


def _gb_iban(seed: int) -> str:
    bban = f"{_BANKS[seed % len(_BANKS)]}{(seed * 7919) % 100_000_000:08d}"
    return f"GB{stdnum_iban.calc_check_digits(f'GBXX{bban}')}{bban}"


def customer_values(seed: int) -> dict[str, Any]:
    """The fictional profile of demo customer ``seed`` (same seed, same values)."""
    first = _FIRST[seed % len(_FIRST)]
    last = _LAST[(seed // len(_FIRST) + seed * 3) % len(_LAST)]
    city, postcode, country = _PLACES[seed % len(_PLACES)]
    ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
    local = "".join(ch for ch in ascii_name.decode().lower() if ch.isalnum() or ch == ".")
    phone = (f"+44 20 7946 {seed % 1000:04d}" if country == "GB"
             else f"+1 415 555 {100 + seed % 100:04d}")
    return {
        "name": f"{first} {last}",
        "email": f"{local}{seed}@{_DOMAINS[seed % len(_DOMAINS)]}",
        "phone": phone,
        "address": {"line1": f"{1 + seed % 180} {_STREETS[seed % len(_STREETS)]}",
                    "postcode": postcode, "city": city, "country": country},
        "date_of_birth": f"{1950 + seed % 50}-{1 + seed % 12:02d}-{1 + seed % 28:02d}",
        "payout": {"iban": _gb_iban(seed), "holder": f"{first} {last}"},
        "language": "en",
    }


def demo_customer(*, seed: int, actor: Actor | None = None) -> UUID:
    """Create (once) the deterministic demo customer ``seed`` and return its id."""
    values = customer_values(seed)
    existing = selectors.customer_ids_matching(email=values["email"])
    if existing:
        return existing[0]
    view = services.customer_create(actor=actor or Actor.system("demo"), source="demo",
                                    **values)
    return view.id


def load(*, say: Callable[[str], None]) -> None:
    """Nothing of its own: the demo contact centre creates its customers via demo_customer."""
