"""System checks of the detection app, ids safeguard.E500-E509.

* E500: the clock windows are inconsistent (acknowledge window < 1 minute, or the
  escalation window not longer than the acknowledge window) or a severity is unknown.
* E501 (deploy): SAFEGUARD_DETECTION_EVALUATOR cannot build an evaluator (bad path, broken
  rule pack).
* E502: SAFEGUARD_DETECTION_WEBHOOKS is malformed (a bad item is named).
* E503 (deploy): in production a webhook URL is plain http:// — notices would travel in clear.
* E504: SAFEGUARD_DETECTION_SHIFTS, _CHANGE_WINDOWS or _FLAGGED_CUSTOMERS is malformed.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core import checks

from safeguard.detection.enums import Severity

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def clocks_are_consistent(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    ack, esc = (settings.SAFEGUARD_DETECTION_ACK_MINUTES,
                settings.SAFEGUARD_DETECTION_ESCALATE_MINUTES)
    problems = []
    if ack < 1 or esc <= ack:
        problems.append(f"acknowledge window {ack} min, escalation window {esc} min")
    unknown = set(settings.SAFEGUARD_DETECTION_ESCALATE_SEVERITIES) - set(Severity.values)
    if unknown:
        problems.append(f"unknown severities {sorted(unknown)}")
    return [checks.Error(f"Detection clocks: {p}",
                         hint="SAFEGUARD_DETECTION_ACK_MINUTES >= 1 and < "
                              "SAFEGUARD_DETECTION_ESCALATE_MINUTES; severities among "
                              f"{', '.join(Severity.values)} (docs/detection.md).",
                         id="safeguard.E500") for p in problems]


def evaluator_builds(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from safeguard.detection import services
    from safeguard.detection.contracts import EngineUnavailable

    try:
        services.evaluator_build()
    except EngineUnavailable as exc:
        return [checks.Error(f"Detection engine: {exc.detail}",
                             hint="Fix SAFEGUARD_DETECTION_EVALUATOR or the rule pack "
                                  "(`safeguard detection rules` names the bad file).",
                             id="safeguard.E501")]
    return []


def webhooks_parse(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from safeguard.detection.notify import TargetConfigError, webhook_targets

    try:
        webhook_targets(settings.SAFEGUARD_DETECTION_WEBHOOKS)
    except TargetConfigError as exc:
        return [checks.Error(f"SAFEGUARD_DETECTION_WEBHOOKS: {exc}",
                             hint="A JSON list of {name, url, format, secret[, routing_key]} "
                                  "(docs/detection.md, Escalation).", id="safeguard.E502")]
    return []


def webhooks_use_tls(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from safeguard.detection.notify import TargetConfigError, webhook_targets

    try:
        plain = [t.name for t in webhook_targets(settings.SAFEGUARD_DETECTION_WEBHOOKS)
                 if t.url.startswith("http://")]
    except TargetConfigError:
        return []  # E502 reports it
    if settings.PRODUCTION and plain:
        return [checks.Error(f"Detection webhooks over plain HTTP: {', '.join(plain)}",
                             hint="Use https:// URLs (R-OPS-3).", id="safeguard.E503")]
    return []


def context_settings_parse(app_configs: Any = None,
                           **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[str] = []
    shifts: Any = settings.SAFEGUARD_DETECTION_SHIFTS  # whatever the environment gave
    if not isinstance(shifts, dict):
        problems.append("SAFEGUARD_DETECTION_SHIFTS must be an object")
    else:
        for key, shift in shifts.items():
            if not (key == "*" or str(key).startswith(("queue:", "role:"))):
                problems.append(f"shift key {key!r} must be queue:<slug>, role:<slug> or *")
            elif not isinstance(shift, dict) or not all(
                    _HHMM.match(str(shift.get(k, ""))) for k in ("start", "end")):
                problems.append(f"shift {key!r} needs start and end as HH:MM")
            elif not set(shift.get("days", [0])) <= set(range(7)):
                problems.append(f"shift {key!r}: days are 0 (Monday) to 6")
    windows: Any = settings.SAFEGUARD_DETECTION_CHANGE_WINDOWS
    if not isinstance(windows, list) or not all(
            isinstance(w, dict) and all(_HHMM.match(str(w.get(k, ""))) for k in ("start", "end"))
            for w in windows):
        problems.append("SAFEGUARD_DETECTION_CHANGE_WINDOWS must be a list of windows with "
                        "start and end as HH:MM")
    flagged: Any = settings.SAFEGUARD_DETECTION_FLAGGED_CUSTOMERS
    if not isinstance(flagged, dict) or not all(isinstance(v, list) for v in flagged.values()):
        problems.append("SAFEGUARD_DETECTION_FLAGGED_CUSTOMERS must map customer ids to lists "
                        "of flags")
    return [checks.Error(p, hint="docs/detection.md, Context facts", id="safeguard.E504")
            for p in problems]


def register() -> None:
    checks.register(clocks_are_consistent)
    checks.register(webhooks_parse)
    checks.register(context_settings_parse)
    # Building the engine loads every rule: a deploy check, not a cost of every command.
    checks.register(evaluator_builds, deploy=True)
    checks.register(webhooks_use_tls, deploy=True)
