"""Where a customer lives -> the breach-notification jurisdiction codes of the clock table
(R-REG-3, R-IR-6; decision 0228). A pure core: no Django.

The mapping is deliberately literal. A customer profile stores an address with an ISO 3166-1
alpha-2 ``country`` and a free-text ``region``; nothing else is used (not the phone prefix,
not the postcode, not the language): a letter's legal basis must not rest on a guess.

* an EU member state or another EEA state (Iceland, Liechtenstein, Norway) -> ``EU-GDPR``;
* the United Kingdom (``GB``, also written ``UK``) -> ``UK-GDPR``;
* the United States with a region that is a state's two-letter USPS code or its full name ->
  ``US-<code>`` (whether or not the clock table has a row for it: a missing row is reported
  as such where notices are listed, never dropped);
* anything else — no address, no country, a US address without a state, a country with no
  rule here — -> ``unknown``.
"""

from __future__ import annotations

UNKNOWN = "unknown"

# EU member states (27) plus the EEA states where the GDPR applies through the EEA Agreement.
GDPR_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    "IS", "LI", "NO",
})
# ISO 3166 writes Greece as GR; the EU's own abbreviation is EL. Accept both.
_COUNTRY_ALIASES = {"EL": "GR", "UK": "GB"}

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming",
}
_STATE_BY_NAME = {name.casefold(): code for code, name in US_STATES.items()}


def _us_state(region: str) -> str | None:
    cleaned = " ".join(region.replace(".", " ").split())
    if cleaned.upper() in US_STATES:
        return cleaned.upper()
    return _STATE_BY_NAME.get(cleaned.casefold())


def jurisdiction_for(country: str, region: str = "") -> str:
    """The one jurisdiction code of a residence, or ``unknown`` (never a guess)."""
    code = (country or "").strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if code in GDPR_COUNTRIES:
        return "EU-GDPR"
    if code == "GB":
        return "UK-GDPR"
    if code == "US":
        state = _us_state(region or "")
        return f"US-{state}" if state else UNKNOWN
    return UNKNOWN
