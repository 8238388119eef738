"""Loading and validating the screening policy (``policies.yaml``, or the file in settings).

Validation is strict, because a typo must never silently keep a value: the version must be a
positive integer, every action one of ``Action``, every type a known one, card numbers always
``tokenize`` and CVVs only ``drop`` or ``mask``. A bad file raises :class:`PolicyError` naming
the entry; screening stops rather than store something unscreened.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from safeguard.protection.contracts import PolicyError
from safeguard.protection.enums import Action
from safeguard.protection.scanner import BUILTIN_TYPES, CVV, KNOWN_PREFIX, PAN

DEFAULT_FILE = Path(__file__).with_name("policies.yaml")
ANY = "*"
ANY_KNOWN = KNOWN_PREFIX + "*"
_FIELD = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_CUSTOM_TYPE = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
_ACTIONS = frozenset(Action.values)


@dataclass(frozen=True)
class Policy:
    version: int
    defaults: dict[str, str]
    fields: dict[str, dict[str, str]]
    masks: dict[str, str]

    def action(self, field: str, finding_type: str) -> str:
        """The action for one finding type in one field (field entry, then defaults)."""
        rules = self.fields.get(field, {})
        if finding_type.startswith(KNOWN_PREFIX):
            keys = [finding_type, ANY_KNOWN, ANY]
        else:
            keys = [finding_type, ANY]
        for source in (rules, self.defaults):
            for key in keys:
                if key in source:
                    return source[key]
        return Action.MASK

    def mask(self, finding_type: str, digits: str) -> str:
        template = self.masks.get(finding_type, self.masks.get("default", "[{type}]"))
        last4 = digits[-4:] if len(digits) >= 4 else ""
        if "{last4}" in template and not last4:
            template = self.masks.get("default", "[{type}]")
        return template.format(type=finding_type, last4=last4)


def _rules(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must map finding types to actions")
    out: dict[str, str] = {}
    for key, action in raw.items():
        name = str(key)
        if name not in (ANY, ANY_KNOWN) and name not in BUILTIN_TYPES and not (
                name.startswith(KNOWN_PREFIX) or _CUSTOM_TYPE.fullmatch(name)):
            raise PolicyError(f"{where}: {name!r} is not a finding type")
        if action not in _ACTIONS:
            raise PolicyError(f"{where}.{name}: unknown action {action!r}; "
                              f"use one of {', '.join(sorted(_ACTIONS))}")
        if action == Action.TOKENIZE and name != PAN:
            raise PolicyError(f"{where}.{name}: only card numbers (PAN) are tokenized")
        if name == PAN and action != Action.TOKENIZE:
            raise PolicyError(f"{where}.PAN: card numbers are always tokenized (R-OPS-2)")
        if name == CVV and action not in (Action.DROP, Action.MASK):
            raise PolicyError(f"{where}.CVV: card verification codes are dropped or masked, "
                              "never kept or hashed (PCI DSS 3.3.1)")
        out[name] = str(action)
    return out


def parse(document: Any, *, source: str = "policy") -> Policy:
    """Validate a parsed YAML document into a :class:`Policy`."""
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: expected a mapping with version, defaults and fields")
    unknown = set(document) - {"version", "defaults", "fields", "masks"}
    if unknown:
        raise PolicyError(f"{source}: unknown keys {sorted(unknown)}")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PolicyError(f"{source}: version must be a positive integer")
    defaults = _rules(document.get("defaults"), f"{source}: defaults")
    defaults.setdefault(PAN, Action.TOKENIZE)
    defaults.setdefault(CVV, Action.DROP)
    defaults.setdefault(ANY, Action.MASK)
    fields_raw = document.get("fields") or {}
    if not isinstance(fields_raw, dict):
        raise PolicyError(f"{source}: fields must map field names to rules")
    fields: dict[str, dict[str, str]] = {}
    for name, rules in fields_raw.items():
        if not isinstance(name, str) or not _FIELD.fullmatch(name):
            raise PolicyError(f"{source}: field name {name!r} must look like 'app.field'")
        fields[name] = _rules(rules, f"{source}: fields.{name}")
    masks_raw = document.get("masks") or {}
    if not isinstance(masks_raw, dict) or not all(
            isinstance(v, str) for v in masks_raw.values()):
        raise PolicyError(f"{source}: masks must map types to format strings")
    masks = {str(k): v for k, v in masks_raw.items()}
    for key, template in masks.items():
        try:
            template.format(type="T", last4="1234")
        except (KeyError, IndexError, ValueError):
            raise PolicyError(f"{source}: masks.{key} may use only {{type}} and {{last4}}"
                              ) from None
    return Policy(version=version, defaults=defaults, fields=fields, masks=masks)


def load(path: str | Path) -> Policy:
    """Read and validate a policy file; unreadable or malformed files raise PolicyError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the screening policy {path}: {exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    return parse(document, source=str(path))


_lock = threading.Lock()
_cache: dict[str, Policy] = {}


def current() -> Policy:
    """The policy in force (``SAFEGUARD_PROTECTION_POLICY_FILE`` or the shipped file), cached."""
    path = str(settings.SAFEGUARD_PROTECTION_POLICY_FILE or DEFAULT_FILE)
    with _lock:
        found = _cache.get(path)
    if found is None:
        found = load(path)
        with _lock:
            _cache[path] = found
    return found


def reset() -> None:
    with _lock:
        _cache.clear()
