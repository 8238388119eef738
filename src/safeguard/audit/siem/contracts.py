"""Public contracts of the SIEM export: cursor views, sink specifications and errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from safeguard.web.errors import ApplicationError, Conflict

SinkScheme = Literal["syslog+tcp", "syslog+tls", "file"]


@dataclass(frozen=True)
class CursorView:
    """One forwarder's position: shipped up to last_seq; lag = newest seq - last_seq."""

    name: str
    last_seq: int
    updated_at: datetime | None
    lag: int


@dataclass(frozen=True)
class SinkSpec:
    """Where a forwarder ships: a syslog peer (TCP or TLS) or a JSON-lines file."""

    scheme: SinkScheme
    host: str = ""
    port: int = 0
    path: str = ""
    facility: int = 13  # RFC 5424 "log audit"

    def describe(self) -> str:
        """The sink as an operator wrote it (no secrets are ever part of a sink URL)."""
        if self.scheme == "file":
            return f"file://{self.path}"
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class ForwarderSpec:
    """One configured forwarder: its cursor name, output format and sink."""

    name: str
    fmt: str
    sink: SinkSpec


class SiemConfigError(ApplicationError):
    """A sink URL, format, forwarder name or TLS setting is malformed or unusable."""

    code = "siem-config"
    title = "Invalid SIEM export configuration"


class CursorConflict(Conflict):
    """Another forwarder with the same name moved the cursor: run one forwarder per name."""

    code = "siem-cursor-conflict"
