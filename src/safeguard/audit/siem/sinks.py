"""Where events go: a syslog peer (RFC 5424 over TCP or TLS, RFC 6587 octet counting) or a file.

A sink's ``send`` returns only once the batch is *accepted*, and raises SinkError otherwise; the
forwarder advances its cursor only after ``send`` returned. What "accepted" means:

* file: the lines are written and fsync'ed.
* syslog: TCP has no application-level acknowledgement, so accepted means ``sendall`` returned
  and the peer's TCP stack acknowledged every byte (Linux ``SIOCOUTQ`` drained to 0). The
  residual risk (docs/siem.md): a peer that acknowledged bytes and then died before its own
  queue reached disk loses them; use a receiver with a disk-assisted queue.

Before reusing a connection the sink checks it is still open (a syslog receiver never sends
anything, so a readable socket means the peer closed or reset it); without that check the
first batch after a peer restart would be written into a dead socket and silently lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import socket
import ssl
import struct
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import parse_qs, urlsplit

from safeguard.audit.contracts import EventView
from safeguard.audit.siem.contracts import SiemConfigError, SinkSpec
from safeguard.audit.siem.formats import iso_utc, severity_id, syslog_severity

APP_NAME: Final = "safeguard"
# RFC 5424 SD-IDs with an "@" carry an IANA private enterprise number. Safeguard has none, so it
# uses 32473, the number RFC 5612 reserves for documentation; receivers match the whole SD-ID.
SD_ID: Final = "safeguard@32473"
_TIOCOUTQ: Final = getattr(termios, "TIOCOUTQ", None)  # Linux: bytes not yet acked by the peer


class SinkError(Exception):
    """The batch was not accepted; nothing about it may be assumed delivered."""


@dataclass(frozen=True)
class Record:
    """One event and its rendering in the forwarder's format."""

    event: EventView
    payload: str


class Sink(Protocol):
    """Delivers batches; ``send`` returns only once the whole batch was accepted."""

    def send(self, batch: Sequence[Record]) -> None: ...

    def close(self) -> None: ...


# --- sink URLs ----------------------------------------------------------------------------------

_SINK_HELP: Final = ("use syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or "
                     "file:///ABSOLUTE/PATH")


def parse_sink_url(url: str) -> SinkSpec:
    """Parse and validate a sink URL; SiemConfigError says exactly what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise SiemConfigError(f"sink {url!r} is not a valid URL ({exc}): {_SINK_HELP}") from exc
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise SiemConfigError(f"sink {url!r}: a file sink needs an absolute path, "
                                  "as in file:///var/lib/safeguard/siem/audit.jsonl")
        if parts.path.endswith("/"):
            raise SiemConfigError(f"sink {url!r}: the path names a directory, not a file")
        return SinkSpec(scheme="file", path=parts.path)
    if scheme not in ("syslog+tcp", "syslog+tls"):
        raise SiemConfigError(f"unsupported sink {url!r}: {_SINK_HELP}")
    if not parts.hostname or port is None or port == 0:
        raise SiemConfigError(f"sink {url!r} needs a host and a port: {_SINK_HELP}")
    facility = 13
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"facility"}
    if unknown:
        raise SiemConfigError(f"sink {url!r}: unknown option(s) {', '.join(sorted(unknown))}; "
                              "the only option is facility=0..23")
    if "facility" in query:
        raw = query["facility"][-1]
        if not raw.isdigit() or not 0 <= int(raw) <= 23:
            raise SiemConfigError(f"sink {url!r}: facility must be 0..23, got {raw!r}")
        facility = int(raw)
    return SinkSpec(scheme=scheme, host=parts.hostname, port=port,  # type: ignore[arg-type]
                    facility=facility)


# --- RFC 5424 -----------------------------------------------------------------------------------

_NOT_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")


def _header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII, no spaces, bounded; NILVALUE when empty."""
    cleaned = _NOT_PRINTUSASCII.sub("_", value)[:limit]
    return cleaned or "-"


def sd_escape(value: str) -> str:
    """An SD-PARAM value: backslash, double quote and ``]`` escaped (RFC 5424 section 6.3.3)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424_message(record: Record, *, facility: int = 13, hostname: str = "-",
                    procid: str = "-", fmt: str = "") -> bytes:
    """``<PRI>1 TIMESTAMP HOSTNAME safeguard PROCID MSGID [SD] MSG`` with the action as MSGID.

    TIMESTAMP is when the event happened (not when it was shipped); the structured data carries
    the sequence number, so a receiver can order and de-duplicate. MSG is UTF-8 without a BOM.
    """
    event = record.event
    pri = facility * 8 + syslog_severity(severity_id(event))
    sd_params = f'seq="{event.seq}"'
    if fmt:
        sd_params += f' format="{sd_escape(fmt)}"'
    header = " ".join([
        f"<{pri}>1",
        iso_utc(event.at),
        _header_field(hostname, 255),
        APP_NAME,
        _header_field(procid, 128),
        _header_field(event.action, 32),
        f"[{SD_ID} {sd_params}]",
    ])
    return f"{header} {record.payload}".encode()


def octet_frame(message: bytes) -> bytes:
    """RFC 6587 octet counting (as in RFC 5425): ``MSG-LEN SP SYSLOG-MSG``, length in bytes."""
    return b"%d %s" % (len(message), message)


class SyslogSink:
    """RFC 5424 messages over one long-lived TCP (optionally TLS) connection, octet-counted."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: ssl.SSLContext | None = None,
        facility: int = 13,
        fmt: str = "",
        hostname: str | None = None,
        connect_timeout: float = 10.0,
        send_timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.facility, self.fmt = facility, fmt
        self.hostname = hostname if hostname is not None else socket.gethostname()
        self.procid = str(os.getpid())
        # send_timeout bounds both writing a batch and waiting for the peer to acknowledge it.
        self.connect_timeout, self.send_timeout = connect_timeout, send_timeout
        self._sock: socket.socket | None = None

    def __repr__(self) -> str:
        return f"SyslogSink({'tls' if self.tls else 'tcp'}://{self.host}:{self.port})"

    # connection management -------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        try:
            raw = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise SinkError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        # Whole batches go out in one sendall: Nagle would only hold back each batch's tail.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            raw.settimeout(self.send_timeout)
            return raw
        try:
            sock = self.tls.wrap_socket(raw, server_hostname=self.host)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise SinkError(f"TLS handshake with {self.host}:{self.port} failed: {exc}") from exc
        sock.settimeout(self.send_timeout)
        return sock

    def _peer_gone(self, sock: socket.socket) -> bool:
        """True when the peer closed or reset the connection (receivers never send data)."""
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        poller = select.poll()  # not select(): that fails on descriptors >= 1024
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        try:
            ready = poller.poll(0)
        except OSError:
            return True
        if not ready and not pending:
            return False
        if any(mask & (select.POLLERR | select.POLLHUP) for _, mask in ready):
            return True
        sock.setblocking(False)
        try:
            data = sock.recv(4096)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return False  # only TLS housekeeping (e.g. TLS 1.3 session tickets) arrived
        except OSError:
            return True
        finally:
            sock.settimeout(self.send_timeout)
        return data == b""

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        """Close the connection (TLS: after close_notify, so the peer sees a clean end)."""
        sock = self._sock
        if isinstance(sock, ssl.SSLSocket):
            with contextlib.suppress(OSError, ValueError):
                sock.settimeout(1.0)
                sock.unwrap()
        self._drop()

    # delivery ------------------------------------------------------------------------------

    def _wait_acked(self, sock: socket.socket, size: int) -> None:
        """Block until the peer's TCP acknowledged everything we wrote (Linux only)."""
        if _TIOCOUTQ is None:
            return
        deadline = time.monotonic() + self.send_timeout
        delay = 0.0002
        while True:
            unacked = struct.unpack("i", fcntl.ioctl(sock.fileno(), _TIOCOUTQ, b"\0" * 4))[0]
            if unacked == 0:
                return
            if self._peer_gone(sock):
                raise SinkError(f"{self.host}:{self.port} closed the connection with "
                                f"{unacked} of {size} bytes unacknowledged")
            if time.monotonic() > deadline:
                raise SinkError(f"{self.host}:{self.port} did not acknowledge {unacked} of "
                                f"{size} bytes within {self.send_timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.01)

    def send(self, batch: Sequence[Record]) -> None:
        """Frame and write the batch on one connection; return once the peer acknowledged it."""
        if not batch:
            return
        data = b"".join(
            octet_frame(rfc5424_message(r, facility=self.facility, hostname=self.hostname,
                                        procid=self.procid, fmt=self.fmt))
            for r in batch)
        if self._sock is not None and self._peer_gone(self._sock):
            self._drop()
        if self._sock is None:
            self._sock = self._connect()
        sock = self._sock
        try:
            sock.sendall(data)
            self._wait_acked(sock, len(data))
        except SinkError:
            self._drop()
            raise
        except (OSError, ssl.SSLError) as exc:
            self._drop()
            raise SinkError(f"sending to {self.host}:{self.port} failed: {exc}") from exc


# --- JSON-lines file ----------------------------------------------------------------------------


class FileSink:
    """One event per line, appended, fsync'ed before the batch counts as delivered.

    A crash can leave a torn last line (written without its newline); the next open cuts it
    off, and the forwarder re-sends those events because their batch was never committed.
    """

    def __init__(self, *, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"FileSink({self.path})"

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            self._repair_tail(fd)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the file's directory entry survives a crash too
            finally:
                os.close(dir_fd)
        except OSError:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _repair_tail(fd: int) -> None:
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        # Find the last complete line and cut the partial one after it.
        end = size
        while end > 0:
            start = max(0, end - 65536)
            chunk = os.pread(fd, end - start, start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                os.ftruncate(fd, start + nl + 1)
                break
            end = start
        else:
            os.ftruncate(fd, 0)
        os.fsync(fd)

    def send(self, batch: Sequence[Record]) -> None:
        """Append the batch and fsync; a failure leaves the batch undelivered."""
        if not batch:
            return
        data = "".join(f"{r.payload}\n" for r in batch).encode()
        try:
            if self._fd is None:
                self._fd = self._open()
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:
            self.close()
            raise SinkError(f"writing {self.path} failed: {exc}") from exc

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def build_sink(spec: SinkSpec, *, fmt: str, tls: ssl.SSLContext | None = None) -> Sink:
    """A sink for ``spec``; syslog+tls needs ``tls`` (see config.tls_context)."""
    if spec.scheme == "file":
        return FileSink(path=spec.path)
    if spec.scheme == "syslog+tls" and tls is None:
        raise SiemConfigError("a syslog+tls sink needs a TLS context")
    return SyslogSink(host=spec.host, port=spec.port, facility=spec.facility, fmt=fmt,
                      tls=tls if spec.scheme == "syslog+tls" else None)
