"""Per-call scan state shared by the detector passes: the text, options and candidates."""

from __future__ import annotations

from .contracts import Finding


class ScanState:
    """One scan of one text: what was asked for and the candidate findings gathered so far."""

    __slots__ = ("_lowered", "candidates", "regions", "text", "wanted")

    def __init__(self, text: str, *, wanted: frozenset[str], regions: tuple[str, ...]) -> None:
        self.text = text
        self.wanted = wanted
        self.regions = regions
        self.candidates: list[Finding] = []
        self._lowered: str | None = None

    @property
    def lowered(self) -> str:
        """The text lower-cased with offsets preserved (one character in, one character out)."""
        if self._lowered is None:
            lowered = self.text.lower()
            if len(lowered) != len(self.text):
                # A few characters (e.g. "İ") grow when lower-cased; keep those as they are.
                lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.text)
            self._lowered = lowered
        return self._lowered

    def add(self, finding: Finding) -> None:
        """Record a candidate; overlaps are resolved once all passes have run."""
        self.candidates.append(finding)
