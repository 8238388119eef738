"""Public contracts of the scanner: the `Finding` record, type names and errors (R-DATA-2)."""

from __future__ import annotations

from dataclasses import dataclass

PAN = "PAN"
US_SSN = "US_SSN"
IBAN = "IBAN"
EMAIL = "EMAIL"
PHONE = "PHONE"
CVV = "CVV"
EXPIRY = "EXPIRY"
US_ROUTING = "US_ROUTING"
UK_NINO = "UK_NINO"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
IP_ADDRESS = "IP_ADDRESS"

#: Built-in finding types; the names are part of the public contract.
BUILTIN_TYPES: frozenset[str] = frozenset(
    {
        PAN,
        US_SSN,
        IBAN,
        EMAIL,
        PHONE,
        CVV,
        EXPIRY,
        US_ROUTING,
        UK_NINO,
        DATE_OF_BIRTH,
        IP_ADDRESS,
    }
)

#: Prefix of the types produced by known-value matching (``KNOWN_NAME``, ``KNOWN_EMAIL``...).
KNOWN_PREFIX = "KNOWN_"

#: Phone regions used for national formats when a caller names none.
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB")

#: Findings scoring below this are not reported by a default `Scanner`.
DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value: ``text[start:end]`` is exactly the value, and ``score`` is in [0, 1].

    ``reason`` says why it was reported (validator and context), ``detector`` which detector
    produced it, ``value_hint`` carries non-sensitive metadata only (card brand, phone or IBAN
    country, IP version) and never the value itself.
    """

    type: str
    start: int
    end: int
    score: float
    reason: str
    detector: str = "builtin"
    value_hint: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"invalid span {self.start}..{self.end} for {self.type}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} for {self.type} is outside [0, 1]")

    @property
    def length(self) -> int:
        """Number of characters the finding covers."""
        return self.end - self.start


class ScannerError(ValueError):
    """Base class of the scanner's errors: bad arguments or bad detector configuration."""


class DetectorConfigError(ScannerError):
    """A custom detector file or entry is malformed; the message names the entry and the field."""
