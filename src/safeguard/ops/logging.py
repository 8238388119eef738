"""Structured JSON logs through a redactor: no card number reaches a log line (R-OPS-2).

The redactor masks every 13–19 digit run (spaces or dashes allowed) that passes the Luhn check,
in the message and in every field whatever its type — a floor that works even before Django is
set up — then, once the apps are loaded, every type in SAFEGUARD_LOG_REDACT_TYPES through the
protection scanner (card numbers in words, IBANs, SSNs, ...).

Fields that are not JSON values (the ``request`` of ``django.request`` records, the socket of the
development server's access lines, exceptions, ...) are rendered to text first and the text is
redacted; numbers are redacted through their decimal text. Percent- or plus-encoded text (a URL
path or query) is decoded when the decoded form hides something the raw form does not, so
``?card=4532%200151...`` is caught too. The development server's access log (``django.server``)
goes through the same formatter (settings.LOGGING), and :class:`GunicornLogger` does the same for
gunicorn's access and error logs (docs/deploy.md).

After redaction, a text field longer than ``SAFEGUARD_LOG_FIELD_MAX_CHARS`` is cut and says how
many characters were left out: a client sending a 200 kB query string gets a bounded log line,
not one that size on every 4xx. Cutting after redaction means no card number is split into a
fragment the redactor would no longer recognise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote_plus

import structlog
from django.apps import apps

# The scanner's checks are pure (no Django), so the floor can use them before apps load.
from safeguard.protection.scanner.checks import luhn_valid

_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")


def redact_text(text: str) -> str:
    """Replace Luhn-valid card-like digit runs with [REDACTED-PAN], then (once the apps are
    loaded) every type the protection scanner is told to redact in logs.

    Text that carries URL encoding (``%20``, ``+``) is also redacted in its decoded form; when
    that form hides something the raw text does not, the decoded, redacted text is what is logged.
    """
    redacted = _redact_plain(text)
    if "%" in text or "+" in text:
        decoded = unquote_plus(text)
        if decoded != text:
            decoded_redacted = _redact_plain(decoded)
            if decoded_redacted != decoded:
                return decoded_redacted
    return redacted


def _redact_plain(text: str) -> str:
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
    """Redact a field value whatever its type: containers item by item, numbers through their
    decimal text, every other object through its text (``str``, else ``repr``)."""
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        text = str(value)
        redacted = redact_text(text)
        return value if redacted == text else redacted
    if isinstance(value, dict):
        return {redact_text(str(k)): _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(v) for v in value]
    return redact_text(_render(value))


def _render(value: Any) -> str:
    """The text an object would have been logged as (JSONRenderer falls back to repr)."""
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 — a broken __repr__ must not lose the log line
        return f"<unrenderable {type(value).__name__}>"


# Fields the pipeline itself writes; scanning them would only find false positives.
_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "request_id"})
# Used before the settings are configured (the value of SAFEGUARD_LOG_FIELD_MAX_CHARS's default).
DEFAULT_FIELD_MAX_CHARS = 8192


def _field_max_chars() -> int:
    from django.conf import settings

    if not settings.configured:
        return DEFAULT_FIELD_MAX_CHARS
    return int(getattr(settings, "SAFEGUARD_LOG_FIELD_MAX_CHARS", DEFAULT_FIELD_MAX_CHARS))


def cap_text(value: Any, limit: int) -> Any:
    """``value`` with every string (also inside lists and dicts) cut to ``limit`` characters, the
    cut saying how many were left out. Only ever applied to redacted values."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}…[{len(value) - limit} more characters not logged]"
    if isinstance(value, dict):
        return {k: cap_text(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [cap_text(v, limit) for v in value]
    return value


def redact_processor(logger: Any, method: str,
                     event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    limit = _field_max_chars()
    return {k: v if k in _OWN_FIELDS else cap_text(_redact(v), limit)
            for k, v in event_dict.items()}


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


class RedactingFilter(logging.Filter):
    """Interpolate a record's message and redact it (and its string ``extra`` fields) in place.

    For handlers whose formatter is not ours (gunicorn's access and error logs): the line they
    write is built from the redacted message.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True


try:  # gunicorn is a production dependency; the class is only meaningful where it is installed
    from gunicorn.glogging import Logger as _GunicornBase  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover — gunicorn is in the main dependencies
    _GunicornBase = None


if _GunicornBase is not None:

    class GunicornLogger(_GunicornBase):
        """gunicorn ``logger_class``: access and error lines pass the redactor (R-OPS-2).

        The access line's atoms (request line, path, query, Referer, User-Agent, ...) are
        redacted one by one before gunicorn formats them, so a card number in a URL never
        reaches the access log; error lines pass :class:`RedactingFilter`.
        """

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                if not any(isinstance(f, RedactingFilter) for f in log.filters):
                    log.addFilter(RedactingFilter())

        def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
            found = super().atoms(resp, req, environ, request_time)
            return {k: redact_text(v) if isinstance(v, str) else v for k, v in found.items()}
