"""Structured JSON logs through a redactor: no card number reaches a log line (R-OPS-2).

The redactor masks every 13–19 digit run (spaces or dashes allowed) that passes the Luhn check,
in the message and in every string field — a floor that works even before Django is set up —
then, once the apps are loaded, every type in SAFEGUARD_LOG_REDACT_TYPES through the protection
scanner (card numbers in words, IBANs, SSNs, ...).
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog
from django.apps import apps

# The scanner's checks are pure (no Django), so the floor can use them before apps load.
from safeguard.protection.scanner.checks import luhn_valid

_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")


def redact_text(text: str) -> str:
    """Replace Luhn-valid card-like digit runs with [REDACTED-PAN], then (once the apps are
    loaded) every type the protection scanner is told to redact in logs."""
    text = _redact_pans(text)
    if apps.ready:
        from safeguard.protection import services as protection

        text = protection.redact_for_logs(text)
    return text


def _redact_pans(text: str) -> str:
    """The floor that works before Django is set up: Luhn-valid card-like digit runs."""

    def repl(m: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", m.group(0))
        return "[REDACTED-PAN]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else m.group(0)

    return _CANDIDATE.sub(repl, text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


# Fields the pipeline itself writes; scanning them would only find false positives.
_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "request_id"})


def redact_processor(logger: Any, method: str,
                     event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: v if k in _OWN_FIELDS else _redact(v) for k, v in event_dict.items()}


def _add_request_context(logger: Any, method: str,
                         event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    from safeguard.audit import context

    ctx = context.current()
    if ctx.request_id:
        event_dict.setdefault("request_id", ctx.request_id)
    return event_dict


_PRE_CHAIN: list[Any] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
    _add_request_context,
]


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """stdlib logging formatter: one JSON object per line, redacted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_processor,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=_PRE_CHAIN,
        )

    def format(self, record: logging.LogRecord) -> str:
        # Arguments are interpolated before redaction so a PAN passed as %s is caught too.
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        return super().format(record)


structlog.configure(
    processors=[structlog.stdlib.filter_by_level, *_PRE_CHAIN,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
