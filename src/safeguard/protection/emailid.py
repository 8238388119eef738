"""E-mail address identity: exact comparison and look-alike skeletons (R-OPS-5, R-WORK-4).

Two addresses are *the same* only when they are equal after :func:`exact_address`: the domain
is IDNA-normalised (IDNA 2008 without UTS #46 mapping, so a full-width ``ｅxample.com`` is not
``example.com``) and lower-cased; the local part is left exactly as written, except at the
providers listed in ``fold_domains`` (documented in docs/customers.md), where it is lower-cased
in ASCII only. No NFKC or Unicode case folding is ever applied to the comparison.

Two addresses *look alike* when their :func:`skeleton` is equal: NFKC, case folding, A-labels
decoded, then every character replaced by a prototype of its confusables class from the
``confusable_homoglyphs`` package (Unicode confusables data, MIT; decision 0101). A look-alike
that is not exactly equal is flagged, never linked.

Pure: no Django; callers pass the settings they need.
"""

from __future__ import annotations

import contextlib
import json
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import confusable_homoglyphs
import idna

_INVALID_DOMAIN = "!invalid:"


def _domain_exact(domain: str) -> str:
    """The A-label form of ``domain``, or a marked literal that can never equal a valid one."""
    text = domain.strip().rstrip(".")
    if text.startswith(_INVALID_DOMAIN):  # already exact (idempotent)
        return text
    if text.isascii():
        return text.lower()
    try:
        return idna.encode(text.lower(), uts46=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        # Not a valid IDNA 2008 name (full-width letters, symbols): compared literally, and
        # marked so that no spelling of a valid domain can produce it.
        return _INVALID_DOMAIN + text


def exact_address(value: str, *, fold_domains: Iterable[str] = ()) -> str:
    """The exact identity of an address: IDNA domain, local part as written (ASCII-lowered only
    at ``fold_domains``). Surrounding spaces are dropped; nothing else is normalised."""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    dom = _domain_exact(domain)
    folds = {d.strip().lower() for d in fold_domains if d.strip()}
    if dom in folds:
        local = "".join(ch.lower() if ch.isascii() else ch for ch in local)
    return f"{local}@{dom}"


@lru_cache(maxsize=1)
def _confusables() -> dict[str, list[dict[str, str]]]:
    path = Path(confusable_homoglyphs.__file__).with_name("confusables.json")
    data: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _rank(ch: str) -> tuple[bool, int]:
    return (not ch.isascii(), ord(ch))


@lru_cache(maxsize=4096)
def prototype(ch: str) -> str:
    """The representative of ``ch``'s confusables class: ASCII first, then the lowest code
    point among the character and its single-character homoglyphs (two passes, so a chain
    settles on the same representative)."""
    data = _confusables()
    best = ch
    for _ in range(2):
        options = [best, *(h["c"] for h in data.get(best, ()) if len(h["c"]) == 1)]
        nxt = min(options, key=_rank)
        if nxt == best:
            break
        best = nxt
    return best


def _unicode_domain(domain: str) -> str:
    labels = []
    for label in domain.split("."):
        shown = label
        if label.startswith("xn--"):
            with contextlib.suppress(idna.IDNAError, UnicodeError):
                shown = idna.decode(label)
        labels.append(shown)
    return ".".join(labels)


def _skeleton_once(value: str) -> str:
    text = unicodedata.normalize("NFKC", value.strip()).casefold()
    local, at, domain = text.rpartition("@")
    if at:
        text = f"{local}@{_unicode_domain(domain)}"
    mapped = "".join(prototype(ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def skeleton(value: str) -> str:
    """What an address looks like: equal skeletons mean a reader cannot tell them apart.
    Repeated to a fixed point (folding and mapping can each enable the other), so a skeleton
    is its own skeleton."""
    text = value
    for _ in range(4):
        nxt = _skeleton_once(text)
        if nxt == text:
            break
        text = nxt
    return text


def has_non_ascii(value: str) -> bool:
    """True when the address holds any non-ASCII character (full-width, Cyrillic, ...): such an
    address can look like an ASCII one, so masked views mark it."""
    return not (value or "").isascii()
