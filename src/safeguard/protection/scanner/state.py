"""Per-call scan state shared by the detector passes: the text, options and candidates.

Plain data, created per `Scanner.scan` call and never shared between calls, which keeps a
`Scanner` safe to use from many threads (R-OPS-2, R-DATA-2).
"""

from __future__ import annotations

from typing import Literal

from .contracts import Finding

PhoneValidation = Literal["metadata", "matcher"]


class ScanState:
    """One scan of one text: what was asked for and the candidate findings gathered so far."""

    __slots__ = ("_lowered", "candidates", "phone_validation", "regions", "text", "wanted")

    def __init__(
        self,
        text: str,
        *,
        wanted: frozenset[str],
        regions: tuple[str, ...],
        phone_validation: PhoneValidation = "metadata",
    ) -> None:
        self.text = text
        self.wanted = wanted
        self.regions = regions
        self.phone_validation: PhoneValidation = phone_validation
        self.candidates: list[Finding] = []
        self._lowered: str | None = None

    @property
    def lowered(self) -> str:
        """The text lower-cased with offsets preserved (one character in, one character out)."""
        if self._lowered is None:
            self._lowered = lowered(self.text)
        return self._lowered

    def add(self, finding: Finding) -> None:
        """Record a candidate; overlaps are resolved once all passes have run."""
        self.candidates.append(finding)


def lowered(text: str) -> str:
    """``text`` lower-cased with offsets preserved (one character in, one character out)."""
    low = text.lower()
    if len(low) != len(text):
        # A few characters (e.g. "İ") grow when lower-cased; keep those as they are.
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low
