"""Sensitive-data scanner: the pure core of `safeguard.protection` (no Django).

Finds card numbers (also spoken), CVVs and expiry dates next to them, US SSNs, IBANs,
e-mail addresses, phone numbers, US routing numbers, UK National Insurance numbers, dates
of birth, IP addresses, operator-defined types from a YAML file, and a customer's own
known values, in one pass per anchor with validation only on candidates. Everything that
enters the platform is screened with it before storage: R-OPS-2 (no card number at rest,
PCI DSS 3.x) and R-DATA-2 (personal data found and minimised wherever it lands).
See docs/scanner.md for the contract.
"""

from __future__ import annotations

from .contracts import (
    BUILTIN_TYPES,
    CVV,
    DATE_OF_BIRTH,
    DEFAULT_MIN_SCORE,
    DEFAULT_REGIONS,
    EMAIL,
    EXPIRY,
    IBAN,
    IP_ADDRESS,
    KNOWN_PREFIX,
    PAN,
    PHONE,
    UK_NINO,
    US_ROUTING,
    US_SSN,
    DetectorConfigError,
    Finding,
    ScannerError,
)
from .custom import CustomDetector, load_custom_detectors, parse_custom_detectors
from .engine import Scanner, default_scanner, scan
from .known import KnownValues, find_known
from .normalise import Folded, fold, fold_text
from .overlap import resolve_overlaps

__all__ = [
    "BUILTIN_TYPES",
    "CVV",
    "DATE_OF_BIRTH",
    "DEFAULT_MIN_SCORE",
    "DEFAULT_REGIONS",
    "EMAIL",
    "EXPIRY",
    "IBAN",
    "IP_ADDRESS",
    "KNOWN_PREFIX",
    "PAN",
    "PHONE",
    "UK_NINO",
    "US_ROUTING",
    "US_SSN",
    "CustomDetector",
    "DetectorConfigError",
    "Finding",
    "Folded",
    "KnownValues",
    "Scanner",
    "ScannerError",
    "default_scanner",
    "find_known",
    "fold",
    "fold_text",
    "load_custom_detectors",
    "parse_custom_detectors",
    "resolve_overlaps",
    "scan",
]
