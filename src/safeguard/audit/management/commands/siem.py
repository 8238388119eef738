"""``safeguard siem forward|status|reset``: ship the audit log to a SIEM, see and move cursors."""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.audit.contracts import Actor
from safeguard.audit.siem import config, services
from safeguard.audit.siem import selectors as siem_selectors
from safeguard.audit.siem.contracts import ForwarderSpec
from safeguard.audit.siem.formats import FORMATS
from safeguard.audit.siem.forwarder import Backoff, build_forwarder
from safeguard.audit.siem.sinks import SinkError, parse_sink_url
from safeguard.web.errors import ApplicationError


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {raw}")
    return value


class Command(BaseCommand):
    help = ("Ship the audit log to a SIEM (syslog over TCP/TLS or a JSON-lines file); "
            "see docs/siem.md.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        fwd = sub.add_parser(
            "forward", help="ship events from the forwarder's cursor, at least once")
        fwd.add_argument("--name", required=True,
                         help="cursor name; one forwarder per name (e.g. soc, archive)")
        fwd.add_argument("--sink", required=True,
                         help="syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or file:///PATH")
        fwd.add_argument("--format", dest="fmt", required=True, choices=FORMATS,
                         help="payload format")
        fwd.add_argument("--once", action="store_true",
                         help="ship what is in the log now and exit (exit 1 if the sink fails)")
        fwd.add_argument("--batch", type=_positive_int, default=500,
                         help="events per batch (default 500)")
        fwd.add_argument("--poll", type=_positive_float, default=1.0,
                         help="seconds between checks for new events (default 1)")
        fwd.add_argument("--backoff-max", type=_positive_float, default=60.0,
                         help="longest wait between retries while the sink is down (default 60)")
        fwd.add_argument("--metrics-port", type=int, default=0,
                         help="serve Prometheus metrics on 127.0.0.1:PORT (default: off)")
        status = sub.add_parser("status", help="show every forwarder's cursor and lag")
        status.add_argument("--json", action="store_true", help="machine-readable output")
        reset = sub.add_parser("reset", help="move a cursor to replay or skip events (audited)")
        reset.add_argument("--name", required=True)
        reset.add_argument("--to", type=int, required=True, help="new cursor position (seq)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "forward":
                self._forward(opts)
            elif opts["action"] == "status":
                self._status(as_json=opts["json"])
            elif opts["action"] == "reset":
                before = services.cursor_reset(name=opts["name"], to_seq=opts["to"],
                                               actor=Actor.system(f"cli:{getpass.getuser()}"))
                self.stdout.write(f"{opts['name']}: cursor {before} -> {opts['to']}")
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc

    def _forward(self, opts: dict[str, Any]) -> None:
        spec = ForwarderSpec(name=config.validate_name(opts["name"]), fmt=opts["fmt"],
                             sink=parse_sink_url(opts["sink"]))
        if not 0 <= opts["metrics_port"] <= 65535:
            raise CommandError("--metrics-port must be 0..65535")
        if opts["metrics_port"]:
            from prometheus_client import start_http_server

            start_http_server(opts["metrics_port"], addr="127.0.0.1")
        forwarder = build_forwarder(spec, batch_size=opts["batch"],
                                    backoff=Backoff(cap=opts["backoff_max"]))
        stop = threading.Event()
        if not opts["once"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        self.stderr.write(f"siem forwarder {spec.name}: {spec.fmt} to {spec.sink.describe()}, "
                          f"from seq {siem_selectors.cursor_position(name=spec.name) + 1}")
        try:
            result = forwarder.run(until_caught_up=opts["once"], retry=not opts["once"],
                                   stop=stop, poll_interval=opts["poll"])
        except SinkError as exc:
            cursor = siem_selectors.cursor_position(name=spec.name)
            raise CommandError(f"{exc}; cursor of {spec.name} stays at {cursor}, nothing is "
                               "lost: run again when the sink is back") from exc
        finally:
            forwarder.close()
        self.stdout.write(f"{spec.name}: shipped {result.shipped} events in {result.batches} "
                          f"batches, cursor at {result.cursor}")

    def _status(self, *, as_json: bool) -> None:
        cursors = siem_selectors.cursor_list()
        try:
            configured = config.configured_forwarders()
            config_error = ""
        except ApplicationError as exc:
            configured, config_error = [], exc.detail
        if as_json:
            self.stdout.write(json.dumps({
                "cursors": [{"name": c.name, "last_seq": c.last_seq, "lag": c.lag,
                             "updated_at": c.updated_at.isoformat() if c.updated_at else None}
                            for c in cursors],
                "configured": [{"name": s.name, "format": s.fmt, "sink": s.sink.describe()}
                               for s in configured],
                "config_error": config_error,
            }, indent=2))
            return
        if not cursors:
            self.stdout.write("no forwarder has shipped yet")
        for c in cursors:
            when = c.updated_at.isoformat(timespec="seconds") if c.updated_at else "-"
            self.stdout.write(f"{c.name:<24} cursor {c.last_seq:<10} lag {c.lag:<8} "
                              f"updated {when}")
        for s in configured:
            self.stdout.write(f"periodic job ships {s.name}: {s.fmt} to {s.sink.describe()}")
        if config_error:
            self.stderr.write(f"SAFEGUARD_SIEM_SINKS is invalid: {config_error}")
