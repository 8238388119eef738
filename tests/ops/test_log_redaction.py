"""Every log line passes the redactor whatever the field type (issue 8 item 4, R-OPS-2):
``django.request`` records of 4xx responses, the development server's access log (safeguard
demo) and gunicorn's access and error logs."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.servers.basehttp import (
    WSGIRequestHandler,
    WSGIServer,
    get_internal_wsgi_application,
)
from django.test import Client
from gunicorn.config import Config

from safeguard.ops.logging import GunicornLogger, JsonFormatter, RedactingFilter, redact_text

pytestmark = pytest.mark.django_db

CARD = "4111111111111111"
CARD_SPACED = "4111 1111 1111 1111"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@contextmanager
def _captured(logger_name: str) -> Iterator[io.StringIO]:
    """The stream of the configured JSON handler serving ``logger_name`` (settings.LOGGING)."""
    logger: logging.Logger | None = logging.getLogger(logger_name)
    handlers: list[logging.Handler] = []
    while logger is not None:
        handlers += logger.handlers
        logger = logger.parent if logger.propagate else None
    handler = next(h for h in handlers if isinstance(h.formatter, JsonFormatter))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(old)


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("url", [
    f"/customers/{CARD}/",
    f"/no-such-page/?card={CARD}",
    "/no-such-page/?card=" + CARD_SPACED.replace(" ", "+"),
    "/no-such-page/?card=" + CARD_SPACED.replace(" ", "%20"),
    "/no-such-page/?card=" + "-".join(CARD[i:i + 4] for i in range(0, 16, 4)),
])
def test_a_4xx_record_of_django_request_holds_no_card_digits(url):
    # given a request for a page that does not exist, with a card number in its path or query
    with _captured("django.request") as buffer:
        # when Django answers 404 and logs the response (its record carries the request object)
        response = Client().get(url)
    # then the record was written, its request field rendered to text and redacted
    assert response.status_code == 404
    records = [r for r in _lines(buffer) if r.get("logger") == "django.request"]
    assert len(records) == 1
    record = records[0]
    assert record["status_code"] == 404
    assert isinstance(record["request"], str)
    assert record["request"].startswith("<WSGIRequest: GET ")
    assert "[REDACTED-PAN]" in record["request"]
    assert "[REDACTED-PAN]" in str(record["event"]) or "?" in url
    assert CARD not in _digits(buffer.getvalue())


def test_objects_and_numbers_in_fields_are_rendered_then_redacted():
    class Holder:
        def __repr__(self) -> str:
            return f"<Holder card={CARD_SPACED}>"

    record = logging.LogRecord("safeguard.test", logging.WARNING, __file__, 1, "event", (), None)
    record.holder = Holder()
    record.number = int(CARD)
    record.items = {CARD}
    record.count = 12
    data = json.loads(JsonFormatter().format(record))
    assert data["holder"] == "<Holder card=[REDACTED-PAN]>"
    assert data["number"] == "[REDACTED-PAN]"
    assert data["items"] == ["[REDACTED-PAN]"]
    assert data["count"] == 12  # an ordinary number stays a number


def test_url_encoded_text_is_redacted_in_its_decoded_form_only_when_it_hides_something():
    assert redact_text("GET /x?card=4111%201111%201111%201111") == "GET /x?card=[REDACTED-PAN]"
    assert redact_text("GET /x?q=a+b%20c") == "GET /x?q=a+b%20c"


def test_the_demo_servers_access_log_is_redacted():
    # given Django's development server (what `safeguard demo` runs) on loopback
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_internal_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        # when a request with a card number in its query is served
        with _captured("django.server") as buffer:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz?card={CARD}", timeout=10) as answer:
                body = json.load(answer)
            # the server logs the line after the response went out: wait for it
            deadline = time.monotonic() + 10
            while '"django.server"' not in buffer.getvalue() and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        server.shutdown()
        server.server_close()
    # then the access line went through the JSON formatter, redacted
    assert body == {"status": "ok"}
    access = [r for r in _lines(buffer) if r.get("logger") == "django.server"]
    assert len(access) == 1
    assert access[0]["event"] == '"GET /healthz?card=[REDACTED-PAN] HTTP/1.1" 200 16'
    assert access[0]["status_code"] == 200
    assert CARD not in _digits(buffer.getvalue())


def test_gunicorns_access_and_error_lines_are_redacted(capfd):
    # given gunicorn's logger class as docs/deploy/gunicorn.conf.py configures it
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("errorlog", "-")
    cfg.set("logger_class", "safeguard.ops.logging.GunicornLogger")
    logger = cfg.logger_class(cfg)
    assert isinstance(logger, GunicornLogger)
    # when a 404 for a URL with card numbers in path, query and Referer is logged
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": f"/cases/{CARD}/?pan=4111+1111+1111+1111",
        "PATH_INFO": f"/cases/{CARD}/", "QUERY_STRING": "pan=4111+1111+1111+1111",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://shop.test/?c={CARD}", "HTTP_USER_AGENT": "curl/8",
    }
    response = SimpleNamespace(status="404 Not Found", status_code=404, response_length=9,
                               headers=(), sent=9)
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"]),
                                       ("USER-AGENT", "curl/8")])
    logger.access(response, request, environ, timedelta(seconds=0.01))
    logger.error("Error handling request %s", f"/cases/{CARD}/")
    for handler in (*logger.access_log.handlers, *logger.error_log.handlers):
        handler.flush()
    out = capfd.readouterr()
    written = out.out + out.err
    # then the lines were written, with the card numbers replaced
    assert '"GET /cases/[REDACTED-PAN]/?pan=[REDACTED-PAN] HTTP/1.1" 404' in written
    assert "Error handling request /cases/[REDACTED-PAN]/" in written
    assert CARD not in _digits(written)


def test_every_configured_handler_formats_through_the_redactor():
    # given the logging configuration of settings.LOGGING on top of Django's defaults
    loggers = [logging.root] + [lg for lg in logging.root.manager.loggerDict.values()
                                if isinstance(lg, logging.Logger)]
    # then every handler that writes somewhere (libraries' NullHandlers and pytest's own
    # capture handlers aside) is ours
    handlers = {(lg.name, type(h).__name__, type(h.formatter).__name__,
                 any(isinstance(f, RedactingFilter) for f in lg.filters))
                for lg in loggers for h in lg.handlers
                if type(h).__module__.split(".")[0] != "_pytest"
                and not isinstance(h, logging.NullHandler)}
    assert handlers
    assert {h for h in handlers if h[2] != "JsonFormatter" and not h[3]} == set()


def test_lark_loaded_by_scim_leaves_no_handler_of_its_own():
    # scim2-models loads lark, which adds a bare StreamHandler on import: the SCIM package takes
    # it off so nothing writes around the redactor
    import safeguard.accounts.scim  # noqa: F401

    assert [h for h in logging.getLogger("lark").handlers
            if not isinstance(h, logging.NullHandler)] == []


# --- bounded lines (SAFEGUARD_LOG_FIELD_MAX_CHARS) -----------------------------------------


def _format(**fields: object) -> dict[str, object]:
    record = logging.LogRecord("safeguard.test", logging.WARNING, __file__, 1, "event", (), None)
    for name, value in fields.items():
        setattr(record, name, value)
    return json.loads(JsonFormatter().format(record))


def test_a_long_field_is_cut_after_redaction_and_says_how_much_was_left_out(settings):
    settings.SAFEGUARD_LOG_FIELD_MAX_CHARS = 300
    # a card number at the start, then 20,000 characters
    data = _format(query=f"card={CARD_SPACED}&pad=" + "x" * 20_000,
                   items=["y" * 1_000, "short"], short="kept as it is")
    query = data["query"]
    assert query.startswith("card=[REDACTED-PAN]&pad=xxx")
    kept = 300
    left_out = len("card=[REDACTED-PAN]&pad=" + "x" * 20_000) - kept
    assert query == ("card=[REDACTED-PAN]&pad=" + "x" * 20_000)[:kept] + \
        f"…[{left_out} more characters not logged]"
    assert data["items"] == ["y" * 300 + "…[700 more characters not logged]", "short"]
    assert data["short"] == "kept as it is"


def test_a_card_number_across_the_cut_is_redacted_whole_not_left_as_a_fragment(settings):
    settings.SAFEGUARD_LOG_FIELD_MAX_CHARS = 256
    for start in range(240, 258):  # the number begins just before, at and after the cut
        text = "a" * start + " " + CARD + " " + "b" * 400
        line = JsonFormatter().format(logging.LogRecord(
            "safeguard.test", logging.WARNING, __file__, 1, "%s", (text,), None))
        event = json.loads(line)["event"]
        # no run of card digits survives: the whole number was replaced before the cut
        assert not re.search(r"\d{6,}", event.split("…[")[0]), (start, event[230:300])
        assert "more characters not logged]" in event


def test_a_huge_query_string_gives_a_bounded_django_request_line(settings):
    settings.SAFEGUARD_LOG_FIELD_MAX_CHARS = 1000
    with _captured("django.request") as buffer:
        response = Client().get("/no-such-page/", {f"k{i}": "x" * 10_000 for i in range(20)})
    assert response.status_code == 404
    (line,) = [x for x in buffer.getvalue().splitlines() if '"django.request"' in x]
    assert len(line) < 3_000  # the 200,000-character request rendered, cut to 1,000
    assert "more characters not logged]" in json.loads(line)["request"]


@pytest.mark.parametrize("value", [0, 255, 1_000_001, "8192"])
def test_the_field_cap_out_of_range_is_a_system_check_error(settings, value):
    from safeguard.ops.health_history import check_settings

    settings.SAFEGUARD_LOG_FIELD_MAX_CHARS = value
    assert [e.id for e in check_settings()] == ["safeguard.E571"]
