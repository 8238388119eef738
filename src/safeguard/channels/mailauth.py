"""Sender authentication of inbound mail, as the receiving MTA found it (R-OPS-5, R-WORK-4).

The receiving MTA checks SPF, DKIM and DMARC and writes its findings into an
``Authentication-Results`` header (RFC 8601) — and some setups a ``Received-SPF`` header
(RFC 7208 §9.1). Anyone can write such headers into a mail, so only the MTA's own are trusted:

* ``Authentication-Results``: the topmost header whose authserv-id is one of
  ``SAFEGUARD_MAIL_AUTHSERV_IDS`` (the MTA adds its header on top; RFC 8601 §5 has it remove
  look-alikes of its own id from incoming mail). Every other is ignored.
* ``Received-SPF``: only when no trusted Authentication-Results exists, the topmost one, and only
  when its ``receiver=`` names one of the same ids.

Parsed with ``authres`` (the dkimpy project's RFC 8601 parser); a header it cannot parse is
ignored. The verdict:

* ``verified``: ``dmarc=pass`` for exactly the From domain;
* ``failed``: ``dmarc=fail``, or without a DMARC result an SPF ``fail`` with no DKIM pass, or a
  DKIM ``fail`` with no SPF pass (a Received-SPF ``fail`` alike);
* ``none``: anything else, including no trusted header at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import authres

from safeguard.cases.enums import SenderAuth
from safeguard.protection import emailid

_SPF_RESULT = re.compile(r"^\s*([A-Za-z]+)\b")
_RECEIVER = re.compile(r"\breceiver=([^;\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class SenderAuthentication:
    """The MTA's verdict on one mail's sender, and the results it rests on."""

    verdict: str = SenderAuth.NONE
    authserv_id: str = ""
    spf: str = ""
    dkim: str = ""
    dmarc: str = ""

    @property
    def verified(self) -> bool:
        return self.verdict == SenderAuth.VERIFIED


def _domain(address: str) -> str:
    return emailid.exact_address("x@" + address.rpartition("@")[2]).partition("@")[2]


def _from_auth_results(header: authres.AuthenticationResultsHeader,
                       from_address: str) -> SenderAuthentication:
    found: dict[str, tuple[str, str]] = {}  # method -> (result, header.from)
    for r in header.results:
        method = str(r.method or "").lower()
        if method in ("spf", "dkim", "dmarc") and method not in found:
            hfrom = next((str(p.value) for p in r.properties
                          if str(p.type).lower() == "header" and str(p.name).lower() == "from"),
                         "")
            found[method] = (str(r.result or "").lower(), hfrom)
    spf = found.get("spf", ("", ""))[0]
    dkim = found.get("dkim", ("", ""))[0]
    dmarc, dmarc_from = found.get("dmarc", ("", ""))
    verdict = SenderAuth.NONE
    aligned = bool(dmarc_from) and bool(from_address) and \
        _domain(dmarc_from) == _domain(from_address)
    if dmarc == "pass" and aligned:
        verdict = SenderAuth.VERIFIED
    elif dmarc == "fail" or (dmarc in ("", "none") and (
            (spf == "fail" and dkim != "pass") or (dkim == "fail" and spf != "pass"))):
        verdict = SenderAuth.FAILED
    return SenderAuthentication(verdict=verdict, authserv_id=str(header.authserv_id).lower(),
                                spf=spf, dkim=dkim, dmarc=dmarc)


def evaluate(*, auth_results: Sequence[str], received_spf: Sequence[str], from_address: str,
             trusted: Iterable[str]) -> SenderAuthentication:
    """The sender verdict from a mail's headers (top first), trusting only ``trusted`` ids."""
    ids = {t.strip().lower() for t in trusted if t.strip()}
    if not ids:
        return SenderAuthentication()
    for value in auth_results:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except (authres.AuthResError, ValueError, IndexError, TypeError):
            continue  # unparseable: as if absent
        if str(header.authserv_id or "").lower() in ids:
            return _from_auth_results(header, from_address)
    if received_spf:
        top = received_spf[0]
        receiver = _RECEIVER.search(top)
        result = _SPF_RESULT.match(top)
        if receiver and receiver.group(1).strip('"').lower() in ids and result:
            spf = result.group(1).lower()
            return SenderAuthentication(
                verdict=SenderAuth.FAILED if spf == "fail" else SenderAuth.NONE,
                authserv_id=receiver.group(1).strip('"').lower(), spf=spf)
    return SenderAuthentication()
