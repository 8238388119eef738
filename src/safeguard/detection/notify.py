"""Escalation notices: e-mail and signed webhooks (R-OPS-9; docs/detection.md "Escalation").

Targets come from settings: ``email`` when SAFEGUARD_DETECTION_ESCALATION_EMAILS lists
addresses, and one target per entry of SAFEGUARD_DETECTION_WEBHOOKS. A webhook's ``format`` picks
the body: ``json`` (Safeguard's own), ``slack`` (an incoming-webhook message) or ``pagerduty``
(an Events API v2 ``trigger``). Every webhook body is signed with the target's secret::

    X-Safeguard-Timestamp: 1767225600
    X-Safeguard-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in
constant time and refuses a timestamp older than a few minutes (replays).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from safeguard.detection.contracts import AlertView

SIGNATURE_HEADER = "X-Safeguard-Signature"
TIMESTAMP_HEADER = "X-Safeguard-Timestamp"
FORMATS = ("json", "slack", "pagerduty")
# PagerDuty's severities (Events API v2): critical, error, warning, info.
_PD_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info",
                "informational": "info"}
_LEVEL_TEXT = {"ack_overdue": "not acknowledged within the acknowledge window",
               "escalated": "not acknowledged within the escalation window"}


class DeliveryError(Exception):
    """A notice was not accepted (connection error, timeout, non-2xx answer)."""


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # "email" or "webhook"
    url: str = ""
    fmt: str = "json"
    secret: str = ""
    routing_key: str = ""  # PagerDuty's integration key
    emails: tuple[str, ...] = ()


class TargetConfigError(ValueError):
    """SAFEGUARD_DETECTION_WEBHOOKS is malformed (the system check E502 reports it)."""


def webhook_targets(raw: Any) -> list[Target]:
    """Parse the webhook setting: a list of {"name", "url", "format", "secret"[, "routing_key"]};
    TargetConfigError names the first problem."""
    if not isinstance(raw, list):
        raise TargetConfigError("must be a JSON list of objects")
    out: list[Target] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise TargetConfigError(f"item {i} is not an object")
        name, url = str(item.get("name", "")), str(item.get("url", ""))
        fmt, secret = str(item.get("format", "json")), str(item.get("secret", ""))
        if not name or len(name) > 64 or name == "email" or not name.replace("-", "").replace(
                "_", "").isalnum():
            raise TargetConfigError(f"item {i}: name must be 1-64 letters, digits, - or _ "
                                    "(and not 'email')")
        if not url.startswith(("https://", "http://")):
            raise TargetConfigError(f"{name}: url must be http(s)://")
        if fmt not in FORMATS:
            raise TargetConfigError(f"{name}: format must be one of {', '.join(FORMATS)}")
        if len(secret) < 16:
            raise TargetConfigError(f"{name}: secret must be at least 16 characters")
        if fmt == "pagerduty" and not item.get("routing_key"):
            raise TargetConfigError(f"{name}: a pagerduty target needs its routing_key")
        if any(t.name == name for t in out):
            raise TargetConfigError(f"{name}: named twice")
        out.append(Target(name=name, kind="webhook", url=url, fmt=fmt, secret=secret,
                          routing_key=str(item.get("routing_key", ""))))
    return out


def targets() -> list[Target]:
    """Every configured target (the e-mail list first); a malformed webhook setting yields no
    webhook targets (the system check says why) rather than a crash of the clock job."""
    out: list[Target] = []
    if settings.SAFEGUARD_DETECTION_ESCALATION_EMAILS:
        out.append(Target(name="email", kind="email",
                          emails=tuple(settings.SAFEGUARD_DETECTION_ESCALATION_EMAILS)))
    with contextlib.suppress(TargetConfigError):
        out += webhook_targets(settings.SAFEGUARD_DETECTION_WEBHOOKS)
    return out


def alert_url(alert_id: int) -> str:
    base = settings.SAFEGUARD_DETECTION_LINK_BASE.rstrip("/")
    return f"{base}/detection/alerts/{alert_id}/"


def summary(alert: AlertView, level: str) -> str:
    return (f"[{alert.severity.upper()}] alert {alert.id} {alert.rule_title} on {alert.entity}: "
            f"{_LEVEL_TEXT.get(level, level)}")


def payload(target: Target, *, alert: AlertView, level: str) -> dict[str, Any]:
    """The body for ``target``'s format."""
    text = summary(alert, level)
    url = alert_url(alert.id)
    if target.fmt == "slack":
        return {"text": f"{text} <{url}|open>", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
            {"type": "section", "text": {"type": "plain_text", "text": alert.explanation[:2900]}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"<{url}|Alert {alert.id}> · rule {alert.rule_id}"}]},
        ]}
    if target.fmt == "pagerduty":
        return {
            "routing_key": target.routing_key, "event_action": "trigger",
            "dedup_key": f"safeguard-alert-{alert.id}",
            "payload": {"summary": text[:1024], "source": "safeguard-detection",
                        "severity": _PD_SEVERITY.get(alert.severity, "warning"),
                        "timestamp": alert.created_at.isoformat(),
                        "component": alert.entity, "group": alert.rule_id,
                        "class": level,
                        "custom_details": {"explanation": alert.explanation,
                                           "evidence": list(alert.evidence[:50])}},
            "links": [{"href": url, "text": f"Alert {alert.id}"}],
        }
    return {
        "type": "safeguard.detection.escalation", "level": level, "summary": text,
        "alert": {"id": alert.id, "url": url, "rule_id": alert.rule_id,
                  "rule_title": alert.rule_title, "severity": alert.severity,
                  "entity": alert.entity, "status": alert.status,
                  "explanation": alert.explanation, "evidence": list(alert.evidence),
                  "first_evidence_at": alert.first_evidence_at.isoformat(),
                  "created_at": alert.created_at.isoformat(),
                  "detection_delay_seconds": alert.detection_delay_seconds},
    }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float,
           tolerance: int = 300) -> bool:
    """What a receiver does (and the tests do): recompute, compare in constant time, refuse
    stale timestamps."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def deliver(target: Target, *, alert: AlertView, level: str) -> None:
    """Send one notice; DeliveryError when it was not accepted."""
    if target.kind == "email":
        try:
            send_mail(subject=summary(alert, level)[:200],
                      message=f"{summary(alert, level)}\n\n{alert.explanation}\n\n"
                              f"Evidence: {len(alert.evidence)} audit event(s).\n"
                              f"Open: {alert_url(alert.id)}\n",
                      from_email=None, recipient_list=list(target.emails))
        except OSError as exc:
            raise DeliveryError(f"mail: {exc}") from exc
        return
    body = json.dumps(payload(target, alert=alert, level=level), separators=(",", ":"),
                      sort_keys=True).encode()
    ts = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s)
        target.url, data=body, method="POST",
        headers={"Content-Type": "application/json", TIMESTAMP_HEADER: str(ts),
                 SIGNATURE_HEADER: sign(target.secret, ts, body),
                 "User-Agent": "safeguard-detection"})
    try:
        with urllib.request.urlopen(  # noqa: S310 - the scheme is checked to be http(s)
                request, timeout=settings.SAFEGUARD_DETECTION_WEBHOOK_TIMEOUT_SECONDS) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{target.name}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{target.name}: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"{target.name}: HTTP {status}")
