"""SIEM export settings, read when used (never at import time).

``SAFEGUARD_SIEM_SINKS``: comma-separated ``NAME=FORMAT@URL`` entries shipped by the periodic
job, e.g. ``soc=ocsf@syslog+tls://siem.example.org:6514,archive=ecs@file:///srv/audit.jsonl``.
``SAFEGUARD_SIEM_TLS_CA`` / ``_CERT`` / ``_KEY``: CA bundle to verify the peer (default: the
system store) and an optional client certificate and key for mutual TLS.
"""

from __future__ import annotations

import re
import ssl

from django.conf import settings

from safeguard.audit.siem.contracts import ForwarderSpec, SiemConfigError
from safeguard.audit.siem.formats import FORMATS
from safeguard.audit.siem.sinks import parse_sink_url

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def validate_name(name: str) -> str:
    """A forwarder (cursor) name: lowercase letters, digits, ``_ . -``; at most 64 characters."""
    if not _NAME.fullmatch(name):
        raise SiemConfigError(f"forwarder name {name!r} must match {_NAME.pattern} "
                              "(lowercase letters, digits, '_', '.', '-'; at most 64)")
    return name


def validate_format(fmt: str) -> str:
    """One of ocsf, ecs, cef."""
    if fmt not in FORMATS:
        raise SiemConfigError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def parse_sinks(raw: str) -> list[ForwarderSpec]:
    """Parse a SAFEGUARD_SIEM_SINKS value; every entry is validated, names must be unique."""
    specs: list[ForwarderSpec] = []
    for entry in (e.strip() for e in raw.replace("\n", ",").split(",")):
        if not entry:
            continue
        name, eq, rest = entry.partition("=")
        fmt, at, url = rest.partition("@")
        if not eq or not at:
            raise SiemConfigError(f"SAFEGUARD_SIEM_SINKS entry {entry!r} must look like "
                                  "NAME=FORMAT@URL, e.g. soc=ocsf@syslog+tcp://siem:6514")
        spec = ForwarderSpec(name=validate_name(name.strip()),
                             fmt=validate_format(fmt.strip()), sink=parse_sink_url(url))
        if any(s.name == spec.name for s in specs):
            raise SiemConfigError(f"SAFEGUARD_SIEM_SINKS names {spec.name!r} twice")
        specs.append(spec)
    return specs


def configured_forwarders() -> list[ForwarderSpec]:
    """The forwarders the periodic job runs (none unless SAFEGUARD_SIEM_SINKS is set)."""
    return parse_sinks(getattr(settings, "SAFEGUARD_SIEM_SINKS", "") or "")


def tls_context() -> ssl.SSLContext:
    """Client TLS for syslog+tls: verifies the peer's certificate and host name, TLS >= 1.2."""
    ca = getattr(settings, "SAFEGUARD_SIEM_TLS_CA", "") or None
    cert = getattr(settings, "SAFEGUARD_SIEM_TLS_CERT", "") or None
    key = getattr(settings, "SAFEGUARD_SIEM_TLS_KEY", "") or None
    try:
        ctx = ssl.create_default_context(cafile=ca)
        if cert:
            ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SiemConfigError(f"SIEM TLS settings are unusable: {exc} "
                              "(check SAFEGUARD_SIEM_TLS_CA, _CERT and _KEY)") from exc
    if key and not cert:
        raise SiemConfigError("SAFEGUARD_SIEM_TLS_KEY is set without SAFEGUARD_SIEM_TLS_CERT")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
