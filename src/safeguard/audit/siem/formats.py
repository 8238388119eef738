"""Pure mappings of one audit event to the SIEM formats: OCSF 1.3 JSON, ECS 8.11 JSON and CEF 0.

Plain data in, plain text out; no Django, no I/O. Every rendering is a single line (JSON escapes
control characters, CEF escapes newlines), so one event is one syslog message or one file line.
The mapping table these functions implement is documented in docs/siem.md, and a test keeps the
two in step.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from safeguard.audit.contracts import Actor, EventView

OCSF_VERSION: Final = "1.3.0"
ECS_VERSION: Final = "8.11.0"
VENDOR: Final = "Safeguard"
PRODUCT: Final = "Safeguard"
FORMATS: Final = ("ocsf", "ecs", "cef")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- OCSF taxonomy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcsfClass:
    """An OCSF event class with the category it belongs to."""

    uid: int
    name: str
    category_uid: int
    category_name: str


_IAM = (3, "Identity & Access Management")
ACCOUNT_CHANGE = OcsfClass(3001, "Account Change", *_IAM)
AUTHENTICATION = OcsfClass(3002, "Authentication", *_IAM)
ENTITY_MANAGEMENT = OcsfClass(3004, "Entity Management", *_IAM)
WEB_RESOURCES_ACTIVITY = OcsfClass(6001, "Web Resources Activity", 6, "Application Activity")
API_ACTIVITY = OcsfClass(6003, "API Activity", 6, "Application Activity")
DETECTION_FINDING = OcsfClass(2004, "Detection Finding", 2, "Findings")

OTHER: Final = 99  # OCSF's "not mapped" activity; activity_name then carries our own label


@dataclass(frozen=True)
class OcsfActivity:
    """Where one action lands in OCSF: the class and the activity within it."""

    cls: OcsfClass
    activity_id: int
    activity_name: str


def _a(cls: OcsfClass, activity_id: int, name: str) -> OcsfActivity:
    return OcsfActivity(cls, activity_id, name)


# Actions the platform records today, mapped one by one (docs/siem.md has the same table).
ACTIONS: Final[Mapping[str, OcsfActivity]] = {
    "auth.login": _a(AUTHENTICATION, 1, "Logon"),
    "auth.login_failed": _a(AUTHENTICATION, 1, "Logon"),
    "auth.logout": _a(AUTHENTICATION, 2, "Logoff"),
    "auth.mfa_passed": _a(AUTHENTICATION, 1, "Logon"),
    "auth.mfa_failed": _a(AUTHENTICATION, 1, "Logon"),
    "auth.step_up": _a(AUTHENTICATION, OTHER, "Step-Up"),
    "mfa.enrolled": _a(ACCOUNT_CHANGE, 10, "MFA Factor Enable"),
    "mfa.removed": _a(ACCOUNT_CHANGE, 11, "MFA Factor Disable"),
    "mfa.recovery_codes_regenerated": _a(ACCOUNT_CHANGE, OTHER, "Recovery Codes Regenerated"),
    "role.granted": _a(ACCOUNT_CHANGE, 7, "Attach Policy"),
    "role.revoked": _a(ACCOUNT_CHANGE, 8, "Detach Policy"),
    # A role itself is not an account: its lifecycle is entity management.
    "role.created": _a(ENTITY_MANAGEMENT, 1, "Create"),
    "role.changed": _a(ENTITY_MANAGEMENT, 3, "Update"),
    "role.deleted": _a(ENTITY_MANAGEMENT, 4, "Delete"),
    "user.created": _a(ACCOUNT_CHANGE, 1, "Create"),
    "user.enabled": _a(ACCOUNT_CHANGE, 2, "Enable"),
    "user.password_changed": _a(ACCOUNT_CHANGE, 3, "Password Change"),
    "user.password_reset": _a(ACCOUNT_CHANGE, 4, "Password Reset"),
    "user.disabled": _a(ACCOUNT_CHANGE, 5, "Disable"),
    "user.deleted": _a(ACCOUNT_CHANGE, 6, "Delete"),
    "user.locked": _a(ACCOUNT_CHANGE, 9, "Lock"),
    "session.revoked": _a(ACCOUNT_CHANGE, OTHER, "Session Revoke"),
    "api_token.created": _a(ACCOUNT_CHANGE, OTHER, "API Token Create"),
    "api_token.revoked": _a(ACCOUNT_CHANGE, OTHER, "API Token Revoke"),
    "api_token.used": _a(API_ACTIVITY, OTHER, "API Token Use"),
    "access.denied": _a(API_ACTIVITY, OTHER, "Access Denied"),
    "organisation.changed": _a(ENTITY_MANAGEMENT, 3, "Update"),
}

# Families: an action not in ACTIONS falls back to its family's class.
_FAMILY: Final[Mapping[str, OcsfClass]] = {
    "auth": AUTHENTICATION,
    "mfa": ACCOUNT_CHANGE,
    "user": ACCOUNT_CHANGE,
    "session": ACCOUNT_CHANGE,
    "detection": DETECTION_FINDING,
}
_DETECTION_VERBS: Final = {"created": (1, "Create"), "raised": (1, "Create"),
                           "opened": (1, "Create"), "updated": (2, "Update"),
                           "triaged": (2, "Update"), "closed": (3, "Close"),
                           "resolved": (3, "Close")}
# Reads of (customer) data: Web Resources Activity.
_ACCESS_VERBS: Final = {"viewed": (2, "Read"), "read": (2, "Read"), "revealed": (2, "Read"),
                        "listed": (2, "Read"), "searched": (5, "Search"),
                        "imported": (6, "Import"), "exported": (7, "Export"),
                        "shared": (8, "Share")}
# Everything else is entity management of the subject.
_ENTITY_VERBS: Final = {"created": (1, "Create"), "changed": (3, "Update"),
                        "updated": (3, "Update"), "deleted": (4, "Delete")}
# An API call's HTTP method says which API Activity it was, when the event carries it.
_API_METHODS: Final = {"POST": (1, "Create"), "GET": (2, "Read"), "HEAD": (2, "Read"),
                       "PUT": (3, "Update"), "PATCH": (3, "Update"), "DELETE": (4, "Delete")}


def _humanize(verb: str) -> str:
    return verb.replace("_", " ").title()


def ocsf_activity(action: str, data: Mapping[str, Any] | None = None) -> OcsfActivity:
    """The OCSF class and activity of an action; unknown actions get a documented default."""
    family, _, verb = action.partition(".")
    found = ACTIONS.get(action)
    if found is not None:
        method = str((data or {}).get("method", "")).upper()
        if found.cls is API_ACTIVITY and method in _API_METHODS:
            return _a(API_ACTIVITY, *_API_METHODS[method])
        return found
    cls = _FAMILY.get(family)
    if cls is DETECTION_FINDING:
        return _a(cls, *_DETECTION_VERBS.get(verb, (OTHER, _humanize(verb))))
    if cls is not None:
        return _a(cls, OTHER, _humanize(verb))
    if verb in _ACCESS_VERBS:
        return _a(WEB_RESOURCES_ACTIVITY, *_ACCESS_VERBS[verb])
    return _a(ENTITY_MANAGEMENT, *_ENTITY_VERBS.get(verb, (OTHER, _humanize(verb))))


# --- field policy: what leaves as recorded, what is free text --------------------------------
#
# The audit log masks card numbers in everything it stores; text that anyone outside the staff can
# choose (a User-Agent, an attempted account name, a URL path, a request id an unproxied client
# sent) or that staff type freely (a disable reason, a note, a token name) may still hold other
# personal data — an e-mail address, a phone number, an IBAN — or bytes meant for the SIEM's own
# parsers. Before rendering, every free-text field passes the masker named by
# SAFEGUARD_SIEM_TEXT_MASKER (the protection scanner: docs/siem.md "Field policy"), control and
# bidirectional-override characters are removed and the text is cut at FREE_TEXT_MAX characters.
# Deny by default: a ``data`` key is free text unless it is listed below.

FREE_TEXT_MAX: Final = 512
TRUNCATED: Final = "…[truncated]"

#: Actor kinds whose label the platform sets (a staff account's e-mail, a job's name): verbatim.
VERBATIM_ACTOR_LABELS: Final = frozenset({"user", "token", "system"})

#: ``data`` keys whose values the platform itself sets (ids, enums, counts, permission names):
#: verbatim. Every other key's strings, at any depth, are free text.
VERBATIM_DATA_KEYS: Final = frozenset({
    "added", "approval_id", "by", "checked_at", "count", "created", "fields", "finding_id",
    "fix", "format", "from_seq", "identifier", "keys", "keysets", "known_account", "method",
    "number", "outcome", "permission", "permissions", "policy_days", "prefix", "provider",
    "reauthentication", "removed", "role",
    "rule", "service_account", "session", "sessions_ended", "severity", "shares_given",
    "shares_used", "slug", "source", "status", "type", "user", "verification_id", "what", "why",
})

#: Event fields that are free text (masked); every other field is structured and verbatim.
FREE_TEXT_FIELDS: Final = ("user_agent", "request_id", "subject_id",
                           "actor.label (kinds other than user, token, system)",
                           "data (keys not in VERBATIM_DATA_KEYS)")

# Control characters (C0, DEL, C1) and the bidirectional overrides/isolates that make a SIEM
# console show text in another order than it is stored.
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def neutralise(text: str, mask: Callable[[str], str]) -> str:
    """One free-text value as it may leave: masked, control characters removed, bounded."""
    if not text:
        return text
    cleaned = _UNSAFE_CHARS.sub(" ", unicodedata.normalize("NFC", text))
    cleaned = mask(cleaned)
    if len(cleaned) > FREE_TEXT_MAX:
        cleaned = cleaned[:FREE_TEXT_MAX] + TRUNCATED
    return cleaned


def _neutralise_value(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return neutralise(value, mask)
    if isinstance(value, dict):
        return {neutralise(str(k), mask): _neutralise_value(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutralise_value(v, mask) for v in value]
    return value


def apply_field_policy(event: EventView, mask: Callable[[str], str]) -> EventView:
    """The event with every free-text field (FREE_TEXT_FIELDS) passed through ``mask`` and
    neutralised; structured fields are untouched. Renderers take the result."""
    actor = event.actor
    if actor.kind not in VERBATIM_ACTOR_LABELS:
        actor = Actor(kind=actor.kind, id=actor.id, label=neutralise(actor.label, mask))
    data = {key: value if key in VERBATIM_DATA_KEYS else _neutralise_value(value, mask)
            for key, value in event.data.items()}
    return dataclasses.replace(
        event, actor=actor, data=data,
        user_agent=neutralise(event.user_agent, mask),
        request_id=neutralise(event.request_id, mask),
        subject_id=neutralise(event.subject_id, mask))


# --- severity and status --------------------------------------------------------------------

SEVERITY_NAMES: Final = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High",
                         5: "Critical", 6: "Fatal"}
_SEVERITY_WORDS: Final = {"info": 1, "informational": 1, "low": 2, "medium": 3, "high": 4,
                          "critical": 5}
# Successful actions that weaken an account's protection deserve a look.
_LOW_ON_SUCCESS: Final = frozenset({"mfa.removed"})


def severity_id(event: EventView) -> int:
    """OCSF severity_id: detections carry their own; denied 3, failed 2, else informational."""
    if event.action.startswith("detection."):
        return _SEVERITY_WORDS.get(str(event.data.get("severity", "")).lower(), 3)
    if event.outcome == "denied":
        return 3
    if event.outcome == "failure":
        return 2
    return 2 if event.action in _LOW_ON_SUCCESS else 1


def cef_severity(sev_id: int) -> int:
    """OCSF severity_id on CEF's 0-10 scale (Low 0-3, Medium 4-6, High 7-8, Very-High 9-10)."""
    return {0: 0, 1: 1, 2: 3, 3: 5, 4: 7, 5: 9, 6: 10}.get(sev_id, 5)


def syslog_severity(sev_id: int) -> int:
    """OCSF severity_id as an RFC 5424 severity (6 informational ... 1 alert)."""
    return {0: 6, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1}.get(sev_id, 5)


# --- shared helpers -----------------------------------------------------------------------------


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the Unix epoch, exact (no float rounding)."""
    return (at - _EPOCH) // timedelta(milliseconds=1)


def iso_utc(at: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a ``Z``: the form RFC 5424 and ECS both accept."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def summary(event: EventView) -> str:
    """One human line: who did what to which subject, and how it ended."""
    who = _actor_text(event)
    subject = f" {event.subject_type}:{event.subject_id}" if event.subject_type else ""
    return f"{who} {event.action}{subject} ({event.outcome})"


def _actor_text(event: EventView) -> str:
    actor = event.actor
    if actor.kind == "anonymous":
        return "anonymous"
    ident = f"{actor.kind}:{actor.id}" if actor.id else actor.kind
    return f"{ident} <{actor.label}>" if actor.label and actor.label != actor.id else ident


def _dumps(obj: Mapping[str, Any]) -> str:
    # Compact, UTF-8, one line: json escapes every control character including newlines. A lone
    # surrogate (not encodable as UTF-8) becomes its JSON escape \udXXX, so nothing is lost and
    # the sink can always encode the line.
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _prune(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop empty strings, None and empty objects, recursively: absent beats blank in a SIEM."""
    out: dict[str, Any] = {}
    for key, raw in obj.items():
        value = raw
        if isinstance(raw, dict):
            value = _prune(raw)
        elif isinstance(raw, list):
            value = [v for v in (_prune(v) if isinstance(v, dict) else v for v in raw)
                     if v != {}]
        if value is None or value in ("", {}, []):
            continue
        out[key] = value
    return out


def _target_user_id(event: EventView) -> str:
    """The account an event is about: the subject when it is a user, else data['user']."""
    if event.subject_type == "user":
        return event.subject_id
    user = event.data.get("user")
    return str(user) if user not in (None, "") else ""


# --- OCSF ---------------------------------------------------------------------------------------


def _ocsf_actor(event: EventView) -> dict[str, Any]:
    actor = event.actor
    if actor.kind == "user":
        return {"user": {"uid": actor.id, "name": actor.label, "type_id": 1, "type": "User"}}
    if actor.kind == "token":
        # An API token acts for its user; OCSF's credential_uid is the key/token identifier.
        return {"user": {"name": actor.label, "credential_uid": actor.id,
                         "type_id": 1, "type": "User"}}
    if actor.kind == "system":
        return {"app_name": actor.label or actor.id,
                "user": {"uid": actor.id, "name": actor.label, "type_id": 3, "type": "System"}}
    return {}


def to_ocsf(event: EventView, *, product_version: str = "") -> dict[str, Any]:
    """The event as an OCSF 1.3 object of the class ocsf_activity() picks."""
    act = ocsf_activity(event.action, event.data)
    cls = act.cls
    sev = severity_id(event)
    doc: dict[str, Any] = {
        "class_uid": cls.uid,
        "class_name": cls.name,
        "category_uid": cls.category_uid,
        "category_name": cls.category_name,
        "activity_id": act.activity_id,
        "activity_name": act.activity_name,
        "type_uid": cls.uid * 100 + act.activity_id,
        "type_name": f"{cls.name}: {act.activity_name}",
        "time": epoch_ms(event.at),
        "severity_id": sev,
        "severity": SEVERITY_NAMES.get(sev, "Other"),
        "message": summary(event),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": str(event.seq),
            "sequence": event.seq,
            "event_code": event.action,
            "log_name": "audit",
            "correlation_uid": event.request_id,
            "product": {"name": PRODUCT, "vendor_name": VENDOR, "version": product_version},
        },
        "actor": _ocsf_actor(event),
        "src_endpoint": {"ip": event.source_ip},
        "http_request": {"user_agent": event.user_agent, "uid": event.request_id},
        "unmapped": {"actor_kind": event.actor.kind, "outcome": event.outcome,
                     "subject_type": event.subject_type, "subject_id": event.subject_id},
    }
    if cls is DETECTION_FINDING:
        # Findings have their own status enum (New, In Progress, Suppressed, Resolved).
        doc.update(_ocsf_finding(event, act))
    else:
        ok = event.outcome == "success"
        doc["status_id"] = 1 if ok else 2
        doc["status"] = "Success" if ok else "Failure"
        if event.outcome == "denied":
            permission = event.data.get("permission")
            doc["status_detail"] = f"denied: needs {permission}" if permission else "denied"
    doc.update(_OCSF_CLASS_FIELDS[cls.uid](event))
    doc = _prune(doc)
    unmapped = doc.pop("unmapped")  # last, for people reading the raw line
    if event.data:
        # The event's own data travels verbatim (not pruned): it is evidence.
        unmapped["data"] = dict(event.data)
    doc["unmapped"] = unmapped
    return doc


def _ocsf_finding(event: EventView, act: OcsfActivity) -> dict[str, Any]:
    status = {1: (1, "New"), 2: (2, "In Progress"), 3: (4, "Resolved")}.get(
        act.activity_id, (99, "Other"))
    data = event.data
    return {
        "status_id": status[0],
        "status": status[1],
        "is_alert": True,
        "finding_info": {
            "uid": str(data.get("finding_id") or f"safeguard-audit-{event.seq}"),
            "title": str(data.get("title") or event.action),
            "desc": str(data.get("description", "")),
            "analytic": {"name": str(data.get("rule", "")), "type_id": 1, "type": "Rule"}
            if data.get("rule") else {},
        },
    }


def _ocsf_authentication(event: EventView) -> dict[str, Any]:
    uid = _target_user_id(event) or (event.actor.id if event.actor.kind == "user" else "")
    name = event.actor.label if event.actor.kind == "user" else ""
    fields: dict[str, Any] = {"user": {"uid": uid, "name": name}}
    if event.action in {"auth.mfa_passed", "auth.mfa_failed", "auth.step_up"}:
        fields["is_mfa"] = True
    return fields


def _ocsf_account_change(event: EventView) -> dict[str, Any]:
    user: dict[str, Any] = {"uid": _target_user_id(event)}
    if event.subject_type == "api_token":
        user["credential_uid"] = event.subject_id
    fields: dict[str, Any] = {"user": user}
    role = event.data.get("role")
    if role:
        fields["policy"] = {"name": str(role), "uid": str(role)}
    return fields


def _ocsf_api_activity(event: EventView) -> dict[str, Any]:
    data = event.data
    operation = str(data.get("permission") or event.action)
    fields: dict[str, Any] = {
        "api": {"operation": operation, "request": {"uid": event.request_id},
                "service": {"name": PRODUCT}},
    }
    path = data.get("path")
    if path:
        fields["http_request"] = {"user_agent": event.user_agent, "uid": event.request_id,
                                  "http_method": str(data.get("method", "")),
                                  "url": {"path": str(path)}}
    if event.subject_type:
        fields["resources"] = [{"uid": event.subject_id, "type": event.subject_type}]
    return fields


def _ocsf_entity(event: EventView) -> dict[str, Any]:
    return {"entity": {"uid": event.subject_id, "type": event.subject_type}}


def _ocsf_web_resources(event: EventView) -> dict[str, Any]:
    return {"web_resources": [{"uid": event.subject_id, "type": event.subject_type}]}


def _ocsf_nothing(event: EventView) -> dict[str, Any]:
    return {}


_OCSF_CLASS_FIELDS: Final[Mapping[int, Callable[[EventView], dict[str, Any]]]] = {
    AUTHENTICATION.uid: _ocsf_authentication,
    ACCOUNT_CHANGE.uid: _ocsf_account_change,
    API_ACTIVITY.uid: _ocsf_api_activity,
    ENTITY_MANAGEMENT.uid: _ocsf_entity,
    WEB_RESOURCES_ACTIVITY.uid: _ocsf_web_resources,
    DETECTION_FINDING.uid: _ocsf_nothing,
}


def render_ocsf(event: EventView, *, product_version: str = "") -> str:
    """OCSF JSON on one line."""
    return _dumps(to_ocsf(event, product_version=product_version))


# --- ECS ----------------------------------------------------------------------------------------

# action family -> (event.category, event.type) for ECS's allowed values.
_ECS_FAMILY: Final[Mapping[str, tuple[list[str], list[str]]]] = {
    "auth": (["authentication"], ["info"]),
    "mfa": (["iam"], ["user", "change"]),
    "role": (["iam"], ["user", "change"]),
    "user": (["iam"], ["user", "change"]),
    "session": (["session"], ["end"]),
    "api_token": (["iam"], ["change"]),
    "organisation": (["configuration"], ["change"]),
    "detection": (["intrusion_detection"], ["info"]),
}
_ECS_ACTIONS: Final[Mapping[str, tuple[list[str], list[str]]]] = {
    "auth.login": (["authentication"], ["start"]),
    "auth.login_failed": (["authentication"], ["start"]),
    "auth.logout": (["authentication"], ["end"]),
    "role.created": (["iam"], ["group", "creation"]),
    "role.changed": (["iam"], ["group", "change"]),
    "role.deleted": (["iam"], ["group", "deletion"]),
    "user.created": (["iam"], ["user", "creation"]),
    "user.deleted": (["iam"], ["user", "deletion"]),
    "api_token.created": (["iam"], ["creation"]),
    "api_token.revoked": (["iam"], ["deletion"]),
    "api_token.used": (["web"], ["access"]),
    "access.denied": (["web"], ["access", "denied"]),
}
_ECS_VERB_TYPES: Final = {"created": "creation", "deleted": "deletion", "changed": "change",
                          "updated": "change", "viewed": "access", "read": "access",
                          "revealed": "access", "exported": "access", "searched": "access"}


def ecs_category(action: str) -> tuple[list[str], list[str]]:
    """ECS event.category and event.type for an action."""
    if action in _ECS_ACTIONS:
        cat, typ = _ECS_ACTIONS[action]
        return list(cat), list(typ)
    family, _, verb = action.partition(".")
    if family in _ECS_FAMILY:
        cat, typ = _ECS_FAMILY[family]
        return list(cat), list(typ)
    return ["web"], [_ECS_VERB_TYPES.get(verb, "info")]


def to_ecs(event: EventView, *, product_version: str = "") -> dict[str, Any]:
    """The event as an ECS 8.11 document."""
    category, types = ecs_category(event.action)
    actor = event.actor
    user: dict[str, Any] = {}
    labels: dict[str, str] = {"actor_kind": actor.kind, "subject_type": event.subject_type,
                              "subject_id": event.subject_id}
    if actor.kind == "token":
        # A token id is not a user id: keep them apart so SIEM joins on user.id stay honest.
        user = {"name": actor.label}
        labels["api_token_id"] = actor.id
    elif actor.kind in {"user", "system"}:
        user = {"id": actor.id, "name": actor.label}
    target = _target_user_id(event)
    if event.action.startswith("auth."):
        # Authentication events describe the authenticating user in user.*.
        user.setdefault("id", target)
    elif target:
        user["target"] = {"id": target}
    doc: dict[str, Any] = {
        "@timestamp": iso_utc(event.at),
        "ecs": {"version": ECS_VERSION},
        "message": summary(event),
        "event": {
            "kind": "alert" if event.action.startswith("detection.") else "event",
            "category": category,
            "type": types,
            "action": event.action,
            "outcome": "success" if event.outcome == "success" else "failure",
            "reason": "denied" if event.outcome == "denied" else "",
            "id": str(event.seq),
            "sequence": event.seq,
            "severity": severity_id(event),
            "provider": "safeguard",
            "module": "safeguard",
            "dataset": "safeguard.audit",
        },
        "user": user,
        "source": {"ip": event.source_ip},
        "user_agent": {"original": event.user_agent},
        "http": {"request": {"id": event.request_id}},
        "observer": {"vendor": VENDOR, "product": PRODUCT, "version": product_version,
                     "type": "application"},
        "labels": labels,
        "safeguard": {"audit": {"seq": event.seq, "outcome": event.outcome}},
    }
    doc = _prune(doc)
    if event.data:
        doc["safeguard"]["audit"]["data"] = dict(event.data)
    return doc


def render_ecs(event: EventView, *, product_version: str = "") -> str:
    """ECS JSON on one line."""
    return _dumps(to_ecs(event, product_version=product_version))


# --- CEF ----------------------------------------------------------------------------------------

_NEWLINES = re.compile(r"\r\n|\r|\n")


def cef_escape_header(value: str) -> str:
    """A CEF header field: backslash and pipe escaped; a header cannot hold a line break."""
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return _NEWLINES.sub(" ", value)


def cef_escape_value(value: str) -> str:
    """A CEF extension value: backslash, equals sign and line breaks escaped (pipes are legal)."""
    return (value.replace("\\", "\\\\").replace("=", "\\=")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r"))


def to_cef_fields(event: EventView) -> list[tuple[str, str]]:
    """The CEF extension as ordered (key, raw value) pairs, before escaping."""
    actor = event.actor
    pairs: list[tuple[str, str]] = [
        ("rt", str(epoch_ms(event.at))),
        ("externalId", str(event.seq)),
        ("act", event.action),
        ("outcome", event.outcome),
        ("cat", ocsf_activity(event.action, event.data).cls.name),
    ]
    if actor.kind != "anonymous":
        pairs.append(("suser", actor.label))
        if actor.kind != "token":
            pairs.append(("suid", actor.id))
    target = _target_user_id(event)
    if target:
        pairs.append(("duid", target))
    if event.source_ip:
        if ":" in event.source_ip:
            pairs += [("c6a2", event.source_ip), ("c6a2Label", "Source IPv6 Address")]
        else:
            pairs.append(("src", event.source_ip))
    if event.user_agent:
        pairs.append(("requestClientApplication", event.user_agent))
    pairs += [
        ("cs1Label", "subjectType"), ("cs1", event.subject_type),
        ("cs2Label", "subjectId"), ("cs2", event.subject_id),
        ("cs3Label", "requestId"), ("cs3", event.request_id),
        ("cs4Label", "actorKind"), ("cs4", actor.kind),
        ("cs5Label", "data"), ("cs5", _dumps(event.data) if event.data else ""),
    ]
    if actor.kind == "token":
        pairs += [("cs6Label", "apiTokenId"), ("cs6", actor.id)]
    pairs.append(("msg", summary(event)))
    # Empty values carry nothing; drop the label of an empty custom string with it.
    empty = {k for k, v in pairs if v == ""}
    return [(k, v) for k, v in pairs if v != "" and k.removesuffix("Label") not in empty]


def render_cef(event: EventView, *, product_version: str = "") -> str:
    """CEF:0 on one line: ``CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension``."""
    header = [
        "CEF:0",
        cef_escape_header(VENDOR),
        cef_escape_header(PRODUCT),
        cef_escape_header(product_version or "0"),
        cef_escape_header(event.action),
        cef_escape_header(f"{event.action} {event.outcome}"),
        str(cef_severity(severity_id(event))),
    ]
    extension = " ".join(f"{k}={cef_escape_value(v)}" for k, v in to_cef_fields(event))
    line = "|".join(header) + "|" + extension
    # CEF has no escape for a lone surrogate: replace it so the line is always valid UTF-8.
    return line.encode("utf-8", "replace").decode("utf-8")


RENDERERS: Final[Mapping[str, Callable[..., str]]] = {
    "ocsf": render_ocsf,
    "ecs": render_ecs,
    "cef": render_cef,
}


def render(event: EventView, *, fmt: str, product_version: str = "") -> str:
    """The event in format ``fmt`` (one of FORMATS), as one line without a trailing newline."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}") from None
    return renderer(event, product_version=product_version)
