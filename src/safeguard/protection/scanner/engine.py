"""The `Scanner`: runs the candidate passes, scores, resolves overlaps (R-OPS-2, R-DATA-2).

The passes read a folded view of the text (normalise.py: NFKC, every script's digits, every
dash and space, invisible characters dropped) and their spans are mapped back to the original,
so ``text[start:end]`` is always the value as written. Passes, each one linear scan anchored on
a character class or literal so the regex engine skips ahead quickly: digits (cards, SSN,
routing, phone, IPv4, IBAN, NINO), card numbers across wider separators (newlines, tabs,
commas, underscores), "@" (e-mail),
":" (IPv6), number words (spoken cards), birth cues (dates of birth), then one pass per
custom detector. Validators run only on candidates. Candidates under the scanner's
minimum score are dropped, and overlaps go to the higher score, then the longer span.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import phonenumbers

from . import card_extras, numeric, spoken, textual
from .contracts import (
    BUILTIN_TYPES,
    CVV,
    DATE_OF_BIRTH,
    DEFAULT_MIN_SCORE,
    DEFAULT_REGIONS,
    EMAIL,
    EXPIRY,
    IP_ADDRESS,
    KNOWN_PREFIX,
    PAN,
    Finding,
    ScannerError,
)
from .custom import CustomDetector
from .known import KnownValues
from .normalise import Folded, fold
from .overlap import resolve_overlaps
from .state import PhoneValidation, ScanState

# Card number detection also serves CVV and EXPIRY, which exist only next to a card.
_NEEDS_CARDS = frozenset({PAN, CVV, EXPIRY})


class Scanner:
    """A configured scanner: built-in detectors plus the operator's custom ones."""

    __slots__ = ("_all_types", "_custom", "min_score", "phone_validation", "regions")

    def __init__(
        self,
        *,
        detectors: Sequence[CustomDetector] = (),
        regions: Iterable[str] = DEFAULT_REGIONS,
        min_score: float = DEFAULT_MIN_SCORE,
        phone_validation: PhoneValidation = "metadata",
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ScannerError(f"min_score must be between 0 and 1, got {min_score}")
        if phone_validation not in ("metadata", "matcher"):
            raise ScannerError(
                f"phone_validation must be 'metadata' or 'matcher', not {phone_validation!r}"
            )
        self.phone_validation: PhoneValidation = phone_validation
        self._custom = tuple(detectors)
        self.regions = _check_regions(regions)
        self.min_score = min_score
        self._all_types = BUILTIN_TYPES | {d.type for d in self._custom}

    @property
    def types(self) -> frozenset[str]:
        """Every type this scanner can report (built-in and custom; KNOWN_* come with values)."""
        return self._all_types

    def scan(
        self,
        text: str,
        *,
        types: Iterable[str] | None = None,
        regions: Iterable[str] | None = None,
        known: KnownValues | Mapping[str, Iterable[str]] | None = None,
    ) -> list[Finding]:
        """Findings in ``text``: ordered by start, non-overlapping, each ``text[start:end]``."""
        found, requested = self._candidates(text, types, regions, known)
        return [f for f in resolve_overlaps(found) if f.type in requested]

    def candidates(
        self,
        text: str,
        *,
        known: KnownValues | Mapping[str, Iterable[str]] | None = None,
    ) -> list[Finding]:
        """Every finding of every type in ``text`` before overlaps are resolved (what `scan`
        chooses from): each at the scanner's minimum score or above, ``text[start:end]``, in no
        particular order, possibly overlapping. For a caller that must cover every span of some
        types whatever another type won there (the display masks: screening.py)."""
        return self._candidates(text, None, None, known)[0]

    def _candidates(
        self,
        text: str,
        types: Iterable[str] | None,
        regions: Iterable[str] | None,
        known: KnownValues | Mapping[str, Iterable[str]] | None,
    ) -> tuple[list[Finding], frozenset[str]]:
        if not isinstance(text, str):
            raise ScannerError(f"scan() takes str, not {type(text).__name__}")
        matcher = (
            None
            if known is None
            else known
            if isinstance(known, KnownValues)
            else KnownValues(known)
        )
        requested = self._check_types(types, matcher)
        # The passes read the folded view (normalise.py); spans are mapped back to ``text``.
        view = fold(text)
        state = ScanState(
            view.text,
            wanted=requested | (_NEEDS_CARDS if requested & _NEEDS_CARDS else frozenset()),
            regions=self.regions if regions is None else _check_regions(regions),
            phone_validation=self.phone_validation,
        )
        if text:
            self._run_passes(state)
        candidates = [f for f in state.candidates if f.score >= self.min_score]
        if view.offsets is not None:
            candidates = [_mapped(f, view) for f in candidates]
        if matcher is not None:
            # Known values are matched in the folded view too: a customer's account number in
            # full-width digits or split by a zero-width space is still theirs (issue 8).
            known_found = [f for f in matcher.find(view.text) if f.type in requested]
            if view.offsets is not None:
                known_found = [_mapped(f, view) for f in known_found]
            candidates.extend(known_found)
        return candidates, requested

    def _run_passes(self, state: ScanState) -> None:
        wanted = state.wanted
        cards = numeric.scan_digits(state) if numeric.wanted(state) else []
        if PAN in wanted:  # also when only CVV or EXPIRY are asked for (_NEEDS_CARDS)
            numeric.scan_separated_cards(state, cards)
        if PAN in wanted:
            spoken.scan_spoken(state, cards)
        if cards and (CVV in wanted or EXPIRY in wanted):
            card_extras.scan_card_extras(state, cards)
        if EMAIL in wanted and textual.EMAIL_ANCHOR in state.text:
            textual.scan_email(state)
        if IP_ADDRESS in wanted and ":" in state.text:
            textual.scan_ipv6(state)
        if DATE_OF_BIRTH in wanted:
            textual.scan_birth_dates(state)
        for detector in self._custom:
            if detector.type in wanted:
                detector.scan(state)

    def _check_types(
        self, types: Iterable[str] | None, known: KnownValues | None
    ) -> frozenset[str]:
        available = self._all_types | (known.types if known is not None else frozenset())
        if types is None:
            return available
        if isinstance(types, str):
            types = [types]
        requested = frozenset(types)
        unknown = sorted(t for t in requested - available if not t.startswith(KNOWN_PREFIX))
        if unknown:
            raise ScannerError(f"unknown finding types {unknown}; known: {sorted(available)}")
        return requested


def _mapped(finding: Finding, view: Folded) -> Finding:
    """``finding`` (a span of the folded view) as the span of the original text."""
    start, end = view.span(finding.start, finding.end)
    return replace(finding, start=start, end=end)


def _check_regions(regions: Iterable[str]) -> tuple[str, ...]:
    if isinstance(regions, str):
        regions = [regions]
    checked = tuple(dict.fromkeys(r.upper() for r in regions))
    bad = [r for r in checked if r not in phonenumbers.SUPPORTED_REGIONS]
    if bad or not checked:
        raise ScannerError(
            f"unknown phone regions {bad or '(none given)'}; use ISO codes like 'GB'"
        )
    return checked


_default: Scanner | None = None


def default_scanner() -> Scanner:
    """The module-level scanner with the built-in detectors only."""
    global _default  # noqa: PLW0603 - built lazily once; a Scanner is immutable after init
    if _default is None:
        _default = Scanner()
    return _default


def scan(
    text: str,
    *,
    types: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    known: KnownValues | Mapping[str, Iterable[str]] | None = None,
) -> list[Finding]:
    """Scan ``text`` with the default scanner; see `Scanner.scan`."""
    return default_scanner().scan(text, types=types, regions=regions, known=known)
