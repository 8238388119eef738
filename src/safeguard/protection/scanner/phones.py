"""Phone numbers, validated with libphonenumber's metadata (the `phonenumbers` package).

A digit run from the digit pass is a phone number when libphonenumber's metadata says it
is a valid number: for a leading "+" or international dialling prefix, of the country its
calling code names (international numbers, any country); otherwise in one of the scan's
regions (national formats), with the trunk prefix where that region requires it ("020 7946
0958" in GB, "(415) 555-2671" in the US). Validity means what
`phonenumbers.is_valid_number_for_region` means: the national number fits the region's
general pattern and the pattern and lengths of one number type.

Two modes give the same answers on the formats people write (a test holds them to it):

- ``"metadata"`` (default): the check above, compiled once per region into one regular
  expression, plus the matcher's sanity rules (no dates, no times, no one-digit groups).
- ``"matcher"``: the same pre-check, then `phonenumbers.PhoneNumberMatcher` (leniency VALID)
  on the run has the last word. Several times slower per number; for operators who want
  libphonenumber's own matcher semantics.

Order numbers, tracking numbers and the like fail the pre-check and cost a few regex
matches each (R-DATA-2).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

import phonenumbers

from .context import PHONE_CONTEXT
from .contracts import PHONE, Finding
from .state import ScanState

_GROUP = re.compile(r"[0-9]+")
MIN_DIGITS = 7
# E.164 allows 15 digits; a written number may add an IDD or a trunk 0 after the calling
# code ("+49 0211 …"), which libphonenumber accepts and strips.
MAX_DIGITS = 18
# Digits that may trail an international number in the same run ("+44 20 7946 0958 2").
_MAX_TRAILING = 2
_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


def _lengths_re(lengths: tuple[int, ...]) -> str:
    return "(?=(?:" + "|".join(rf"\d{{{n}}}" for n in sorted(set(lengths))) + r")\Z)"


class _Country:
    """What libphonenumber accepts as a valid national number for one calling code.

    All regions sharing the code count (GB with GG, IM and JE; the US with the rest of
    the North American plan), as they do for `phonenumbers.is_valid_number`: a number is
    valid when it fits a region's general pattern and lengths and one of its number types.
    """

    __slots__ = ("general", "max_length", "min_length", "types")

    def __init__(self, regions: list[phonenumbers.PhoneMetadata]) -> None:
        general_alternatives: list[str] = []
        type_alternatives: list[str] = []
        all_lengths: set[int] = set()
        for metadata in regions:
            general = metadata.general_desc
            if general is None or not general.national_number_pattern:
                continue
            lengths = tuple(n for n in general.possible_length if n > 0)
            if not lengths:
                continue
            all_lengths.update(lengths)
            general_alternatives.append(
                f"{_lengths_re(lengths)}(?:{general.national_number_pattern})"
            )
            for name in _TYPES:
                desc = getattr(metadata, name)
                if desc is None or not desc.national_number_pattern:
                    continue
                own = tuple(n for n in desc.possible_length if n > 0) or lengths
                if desc.possible_length == (-1,):
                    continue
                type_alternatives.append(f"{_lengths_re(own)}(?:{desc.national_number_pattern})")
        self.general = re.compile("|".join(general_alternatives) or "$^")
        self.types = re.compile("|".join(type_alternatives) or "$^")
        self.min_length = min(all_lengths, default=0)
        self.max_length = max(all_lengths, default=0)

    def plausible(self, national: str) -> bool:
        """Fits a general pattern and its lengths."""
        return (
            self.min_length <= len(national) <= self.max_length
            and self.general.fullmatch(national) is not None
        )

    def valid(self, national: str) -> bool:
        """A valid number: general pattern and lengths, and one number type."""
        return self.plausible(national) and self.types.fullmatch(national) is not None


@lru_cache(maxsize=256)
def _country(country_code: int) -> _Country | None:
    regions: list[phonenumbers.PhoneMetadata] = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = (
            phonenumbers.PhoneMetadata.metadata_for_nongeo_region(country_code)
            if region == "001"
            else phonenumbers.PhoneMetadata.metadata_for_region(region)
        )
        if metadata is not None:
            regions.append(metadata)
    return _Country(regions) if regions else None


class _Region:
    """How numbers are dialled inside one of the scan's regions: trunk and international prefix."""

    __slots__ = (
        "country",
        "country_code",
        "idd",
        "longest",
        "prefix",
        "prefix_required",
        "shortest",
    )

    def __init__(self, metadata: phonenumbers.PhoneMetadata) -> None:
        self.country_code = metadata.country_code or 0
        self.country = _country(self.country_code)
        self.prefix = metadata.national_prefix or ""
        # Digit counts a national-format number can have here (trunk prefix included).
        self.shortest = self.country.min_length if self.country else 0
        self.longest = (self.country.max_length if self.country else 0) + len(self.prefix)
        # North American numbers are written with or without the trunk "1"; elsewhere a
        # national-format number carries its trunk prefix ("020 ...", not "20 ...").
        self.prefix_required = bool(self.prefix) and self.country_code != 1
        idd = metadata.international_prefix
        self.idd = re.compile(idd) if idd else None

    def national_forms(self, digits: str) -> list[str]:
        """The national significant numbers a national-format digit string may stand for."""
        if self.prefix and digits.startswith(self.prefix):
            stripped = digits[len(self.prefix) :]
            return [stripped] if self.prefix_required else [stripped, digits]
        return [] if self.prefix_required else [digits]


@lru_cache(maxsize=256)
def _region(code: str) -> _Region | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(code)
    return _Region(metadata) if metadata is not None else None


def _split_country(digits: str) -> tuple[int, str] | None:
    # Calling codes are prefix-free: the first 1-3 digits that name one decide. None starts
    # with 0 ("00 0 45201 …" after the "00" prefix is not +45: int("045") would read it so).
    if digits[:1] in ("", "0"):
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None


def _check(country: _Country | None, forms: list[str], *, check_types: bool) -> bool:
    if country is None:
        return False
    return any(country.valid(n) if check_types else country.plausible(n) for n in forms)


def _international_part(region: _Region, digits: str, *, plus: bool) -> str | None:
    """The digits after "+" or the region's international prefix ("00", "011"), if any."""
    if plus:
        return digits
    if region.idd is None or (len(digits) <= region.longest and not digits.startswith("0")):
        return None
    idd = region.idd.match(digits)
    if idd is None or not idd.end() or len(digits) - idd.end() < MIN_DIGITS - 1:
        return None
    return digits[idd.end() :]


def _valid(
    region: _Region, digits: str, *, plus: bool, check_types: bool
) -> tuple[int, bool] | None:
    """(calling code, international?) when ``digits`` is a number; None otherwise."""
    international = _international_part(region, digits, plus=plus)
    if international is not None:
        split = _split_country(international)
        if split is None:
            return None
        code, national = split
        # "+44 (0)20 ..." and "+44 020 ..." carry the trunk prefix after the calling code.
        target = _region(phonenumbers.region_code_for_country_code(code))
        forms = [national]
        if target is not None and target.prefix and national.startswith(target.prefix):
            forms.insert(0, national[len(target.prefix) :])
        return (code, True) if _check(_country(code), forms, check_types=check_types) else None
    if not region.shortest <= len(digits) <= region.longest:
        return None
    forms = region.national_forms(digits)
    ok = _check(region.country, forms, check_types=check_types)
    return (region.country_code, False) if ok else None


def _date_shaped(text: str, groups: list[tuple[int, int]]) -> bool:
    (a, b), (c, d) = groups[0], groups[1]
    return (
        b - a == 4
        and text[a : a + 2] in ("19", "20")
        and d - c <= 2
        and text[b:c].strip() in ("-", "/", ".")
    )


def _grouping_ok(sizes: list[int], *, plus: bool) -> bool:
    # Nobody writes a phone number ending in a one-digit group, or starting with one other
    # than a country code or trunk prefix: that is an ISBN or a reference ("4-347-76918-0").
    # ``plus`` says the first group is a calling code or trunk prefix ("+1 ...", "1-800-...").
    if len(sizes) > 1 and sizes[-1] == 1:
        return False
    return plus or len(sizes) == 1 or sizes[0] > 1


def _window_ok(sizes: list[int], index: int, *, plus: bool, trunk: bool) -> bool:
    """Whether groups [0, index] may be a number on their own, given what follows them."""
    if not _grouping_ok(sizes[: index + 1], plus=plus or trunk):
        return False
    # An international number does not stop short of the digits written after it:
    # "+31 14 010 0000" is one (invalid) number, not "+31 14 010" and a 0000.
    return not (plus and sum(sizes[index + 1 :]) > _MAX_TRAILING)


def scan_phones(state: ScanState, groups: list[tuple[int, int]]) -> None:
    """Add PHONE candidates found in the digit run made of ``groups``."""
    text = state.text
    mode = state.phone_validation
    start, end = groups[0][0], groups[-1][1]
    if len(groups) > 1 and (
        _date_shaped(text, groups) or any("/" in text[b:c] for (_, b), (c, _) in pairwise(groups))
    ):
        return
    lead = start - 1 if start and text[start - 1] in "+(" else start
    plus = text[lead] == "+"
    if plus and text[start] == "0":
        return
    # Leading windows of whole groups, longest first: "415 555 2671 2" is a number and a 2.
    windows: list[tuple[int, str]] = []
    digits = ""
    for index, (a, b) in enumerate(groups):
        digits += text[a:b]
        if len(digits) > MAX_DIGITS:
            break
        if len(digits) >= MIN_DIGITS:
            windows.append((index, digits))
    windows.reverse()
    sizes = [b - a for a, b in groups]
    trunk = text[start] in "01"
    for code in state.regions[:1] if plus else state.regions:
        region = _region(code)
        if region is None:
            continue
        if mode == "matcher":
            if any(_valid(region, w, plus=plus, check_types=False) for _, w in windows):
                _matcher(state, lead, end, code, plus)
            continue
        for index, window in windows:
            if not _window_ok(sizes, index, plus=plus, trunk=trunk):
                continue
            valid = _valid(region, window, plus=plus, check_types=True)
            if valid is not None:
                _add(state, lead, groups[index][1], valid[0], plus or valid[1])
                return


def _add(state: ScanState, start: int, end: int, country_code: int, international: bool) -> None:
    for existing in state.candidates:
        if existing.type == PHONE and existing.start == start and existing.end == end:
            return
    base = 0.8 if international else 0.75
    score, why = PHONE_CONTEXT.score(state.lowered, start, end, base)
    hint = phonenumbers.region_code_for_country_code(country_code)
    reason = f"libphonenumber:valid:{hint}{why}"
    state.add(Finding(PHONE, start, end, score, reason, "phone", hint))


def _matcher(state: ScanState, lead: int, end: int, region: str, plus: bool) -> None:
    text = state.text
    window = text[lead : min(len(text), end + 3)]  # +3: lets it see ":ss" after a time
    for match in phonenumbers.PhoneNumberMatcher(window, region):
        a, b = lead + match.start, lead + match.end
        parts = _GROUP.findall(match.raw_string)
        lenient = plus or match.raw_string.startswith("+") or parts[0] in ("0", "1")
        # Only numbers starting the run, as in metadata mode: the matcher's "inner matches"
        # read "+49 15303000000" (not a valid German number) as the US number 530-300-0000.
        if a != lead or b > end or not _grouping_ok([len(p) for p in parts], plus=lenient):
            continue
        _add(state, a, b, match.number.country_code or 0, match.raw_string.startswith("+"))
