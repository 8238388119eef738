"""The public trust page and its signed JSON twin (R-MEAS-5, R-ORG-1), generated from live state
at each request: nothing on it is typed in by hand, and a section whose source is not installed
says "unavailable" instead of showing a figure nobody measured.

Sources: the organisation's contacts (accounts); named providers of ``safeguard.web.providers``
for everything an app beside or above this one owns (decision 0264):

* ``governance.controls()`` -> iterable of items with ``id``, ``title`` (or ``name``), ``status``
  (``pass``, ``fail``, ``not_applicable``, ``unavailable``; or a ``passing`` boolean, None when not
  checked yet) and ``checked_at`` (datetime or None);
* ``governance.certifications()`` -> items with ``name``, ``issued_on``, ``expires_on`` (dates);
* ``privacy.subprocessors()`` -> items with ``vendor``, ``service``, ``location``,
  ``data_categories`` (the privacy app's subprocessor register, current entries);
* ``ops.uptime_90d(days=90)`` -> a mapping with ``overall`` (share of health samples that were
  up, or None), ``days`` (``{"date", "up_ratio", "samples"}`` per UTC day, oldest first),
  ``samples``, and optionally ``expected`` and ``coverage`` (samples ÷ sample intervals): from the
  ops health history (``safeguard.ops.health_history``); gaps are unknown, never up;
* ``incidents.published_notices(limit=5)`` -> items with ``title``, ``summary``,
  ``published_at`` (aware datetime) and ``incident_ref``, newest first.

Items may be objects or mappings. The JSON twin is signed with the audit signer (Ed25519, the
key that signs tree heads) over ``safeguard-trust-page/v1\\n`` + the canonical JSON of the
document (sorted keys, no spaces, UTF-8), so a signature over one can never pass for the other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime
from threading import Lock
from typing import Any

from django.conf import settings
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.audit import signing
from safeguard.web import providers

MESSAGE_PREFIX = b"safeguard-trust-page/v1\n"
UNAVAILABLE = "unavailable"
AVAILABLE = "available"


def _get(item: Any, name: str) -> Any:
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None


def _section(name: str, build: Any) -> dict[str, Any]:
    fn = providers.get(name)
    if fn is None:
        return {"status": UNAVAILABLE, "source": name}
    return {"status": AVAILABLE, "source": name, **build(fn())}  # build may say unavailable


# What the page may say of a control: only a computed pass or fail counts as either; every
# other state (not applicable, unavailable, never evaluated) is shown as "not checked".
_RESULTS = {"pass": "pass", "fail": "fail"}


def _control_result(item: Any) -> str:
    """``pass``/``fail`` from the governance status (``status``: pass, fail, not_applicable,
    unavailable) or from a ``passing`` boolean; anything else is ``not checked``."""
    status = _get(item, "status")
    if status is not None:
        return _RESULTS.get(str(status), "not checked")
    passing = _get(item, "passing")
    return "pass" if passing is True else "fail" if passing is False else "not checked"


def _controls(items: Iterable[Any]) -> dict[str, Any]:
    rows = [{"id": str(_get(it, "id")),
             "name": str(_get(it, "name") or _get(it, "title") or ""),
             "result": _control_result(it),
             "checked_at": _iso(_get(it, "checked_at"))} for it in items]
    rows.sort(key=lambda r: r["id"] or "")
    return {"items": rows,
            "passing": sum(r["result"] == "pass" for r in rows),
            "failing": sum(r["result"] == "fail" for r in rows),
            "total": len(rows)}


def _certifications(items: Iterable[Any]) -> dict[str, Any]:
    return {"items": [{"name": str(_get(i, "name")), "issued_on": _iso(_get(i, "issued_on")),
                       "expires_on": _iso(_get(i, "expires_on"))} for i in items]}


def _subprocessors(items: Iterable[Any]) -> dict[str, Any]:
    rows = [{"vendor": str(_get(i, "vendor")), "service": str(_get(i, "service")),
             "location": str(_get(i, "location")),
             "data_categories": [str(c) for c in (_get(i, "data_categories") or ())]}
            for i in items]
    rows.sort(key=lambda r: (r["vendor"], r["service"]))
    return {"items": rows}


def _ratio(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return v if 0 <= v <= 1 and math.isfinite(v) else None


def _percent(ratio: float) -> str:
    # Rounded down: the page never shows more uptime than was measured.
    return f"{math.floor(ratio * 10000) / 100:.2f}"


def _uptime(value: Any) -> dict[str, Any]:
    overall = _ratio(_get(value, "overall"))
    days = []
    for d in _get(value, "days") or ():
        r = _ratio(_get(d, "up_ratio"))
        days.append({"date": _iso(_get(d, "date")), "up_ratio": r,
                     "samples": int(_get(d, "samples") or 0)})
    samples = int(_get(value, "samples") or 0)
    if overall is None or samples <= 0:
        # no health sample in the range: nothing to claim (never a made-up 100 %)
        return {"status": UNAVAILABLE, "reason": "no health samples in the last 90 days",
                "days": days, "samples": samples}
    coverage = _ratio(_get(value, "coverage"))
    return {"overall": overall, "percent": _percent(overall), "samples": samples,
            "coverage": coverage,
            "coverage_percent": _percent(coverage) if coverage is not None else None,
            "from": days[0]["date"] if days else None, "to": days[-1]["date"] if days else None,
            "days": days}


def _notices(items: Iterable[Any]) -> dict[str, Any]:
    return {"items": [{"title": str(_get(i, "title")), "published_at":
                       _iso(_get(i, "published_at")), "summary": str(_get(i, "summary") or ""),
                       "incident_ref": str(_get(i, "incident_ref") or "")}
                      for i in items]}


def trust_document(*, now: datetime | None = None) -> dict[str, Any]:
    """The trust page's content as plain data, from live state at ``now``."""
    org = accounts.organisation()
    return {
        "version": 1,
        "as_of": (now or timezone.now()).isoformat(),
        "organisation": org.name,
        "contacts": {
            "dpo": {"name": org.dpo_name or None, "email": org.dpo_email or None},
            "security": {"email": org.security_email or None,
                         "hotline": org.security_hotline or None},
        },
        "controls": _section("governance.controls", _controls),
        "certifications": _section("governance.certifications", _certifications),
        "subprocessors": _section("privacy.subprocessors", _subprocessors),
        "uptime_90_days": _section("ops.uptime_90d", _uptime),
        "incident_notices": _section("incidents.published_notices", _notices),
    }


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes a signature covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def signed(document: dict[str, Any]) -> dict[str, Any]:
    """The JSON twin: the document and an Ed25519 signature by the audit signer."""
    signer = signing.get_signer()
    sig = signer.sign(MESSAGE_PREFIX + canonical(document))
    return {"document": document,
            "signature": {"alg": "Ed25519", "key_id": signer.key_id,
                          "covers": "'safeguard-trust-page/v1\\n' + canonical JSON of document",
                          "value": signing.b64(sig)},
            "public_key_pem": signer.public_key_pem()}


_memo_lock = Lock()
_memo: dict[str, Any] = {}  # "at": datetime, "body": the signed twin


def current_signed() -> dict[str, Any]:
    """The signed twin, rebuilt at most every SAFEGUARD_TRUST_MAX_AGE_SECONDS per process: the
    page is public, so an anonymous flood costs one build and one signature per interval, not
    one per request. The page and the JSON show the same document and its "as of" time."""
    max_age = settings.SAFEGUARD_TRUST_MAX_AGE_SECONDS
    now = timezone.now()
    with _memo_lock:
        at = _memo.get("at")
        if at is not None and max_age > 0 and 0 <= (now - at).total_seconds() < max_age:
            body: dict[str, Any] = _memo["body"]
            return body
        body = signed(trust_document(now=now))
        _memo.update(at=now, body=body)
        return body


def reset() -> None:
    """Forget the memoised document (tests)."""
    with _memo_lock:
        _memo.clear()
