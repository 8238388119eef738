"""Parsers of GoPhish campaign results (R-KPI-7, R-WORK-2; decision 0244).

Pure: no Django. ``parse(raw)`` reads either of the two forms GoPhish gives out and returns one
``ParsedCampaign``; a bad file raises ``ResultsRefused`` naming the line (CSV), the line and
column (malformed JSON) or the JSON path of the offending value, and why. The caller imports
nothing from a refused file.

* CSV — the campaign page's "Export CSV" of results: one row per recipient with the columns
  ``id,email,first_name,last_name,position,status,ip,latitude,longitude,send_date,reported,
  modified_date`` (the JSON fields of GoPhish's ``models.Result``, in any order).
* JSON — ``GET /api/campaigns/:id/results`` (``models.CampaignResults``: ``id``, ``name``,
  ``status``, ``results[]``, ``timeline[]``), or the full campaign of ``GET /api/campaigns/:id``,
  which carries the same keys.

What a recipient did follows GoPhish's own counting (``getCampaignStats``): a status of
``Clicked Link`` or ``Submitted Data`` is a click, ``reported`` is a report; the JSON timeline
adds its ``Clicked Link`` / ``Submitted Data`` / ``Email Reported`` events. Only statuses of a
delivered e-mail count as sent. IP addresses, locations and event details (a ``Submitted Data``
event carries the form payload) are never read into the result.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# GoPhish models/models.go: the statuses a result can hold.
SENT_STATUSES = frozenset({"Email Sent", "Email Opened", "Clicked Link", "Submitted Data",
                           "Email Reported"})
UNSENT_STATUSES = frozenset({"Scheduled", "Queued", "Sending", "Retrying", "Error", "Unknown"})
CLICK_EVENTS = frozenset({"Clicked Link", "Submitted Data"})
REPORT_EVENT = "Email Reported"
CSV_REQUIRED = ("email", "status", "send_date", "reported")
CSV_COLUMNS = ("id", "email", "first_name", "last_name", "position", "status", "ip",
               "latitude", "longitude", "send_date", "reported", "modified_date")
MAX_RECIPIENTS = 100_000
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_ZERO_YEAR = 1  # Go's zero time.Time is 0001-01-01T00:00:00Z: "never"


class ResultsRefused(ValueError):
    """The file cannot be imported; ``where`` is a line, a line and column, or a JSON path."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class ParsedRecipient:
    email: str  # lower case
    first_name: str
    last_name: str
    position: str
    status: str
    sent_at: datetime | None  # None: not delivered
    clicked: bool
    submitted: bool
    reported: bool
    where: str = ""  # the line (CSV) or JSON path it came from, for a later refusal

    @property
    def sent(self) -> bool:
        return self.sent_at is not None


@dataclass(frozen=True)
class ParsedCampaign:
    fmt: str  # "csv" or "json"
    name: str  # from the JSON; "" for a CSV (the caller names it)
    gophish_id: int | None
    recipients: tuple[ParsedRecipient, ...]


def _when(value: Any, where: str) -> datetime | None:
    """A Go RFC 3339 time (nanoseconds allowed); Go's zero time and "" are None."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ResultsRefused(where, "expected an RFC 3339 date-time string")
    text = value.strip()
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        raise ResultsRefused(where, f"not an RFC 3339 date-time: {value!r}")
    frac = (m.group(2) or "")[:7]  # Python keeps microseconds: cut nanoseconds
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        parsed = datetime.fromisoformat(m.group(1) + frac + zone)
    except ValueError:
        raise ResultsRefused(where, f"not an RFC 3339 date-time: {value!r}") from None
    if parsed.year == _ZERO_YEAR:
        return None
    return parsed.astimezone(UTC)


def _email(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise ResultsRefused(where, f"not an e-mail address: {value!r}")
    return value.strip().lower()


def _status(value: Any, where: str) -> str:
    if not isinstance(value, str) or value not in SENT_STATUSES | UNSENT_STATUSES:
        raise ResultsRefused(where, f"unknown GoPhish status {value!r}")
    return value


def _recipient(*, email: str, status: str, send_date: datetime | None, reported: bool,
               names: tuple[str, str, str], where: str, clicked_event: bool = False,
               reported_event: bool = False) -> ParsedRecipient:
    sent = status in SENT_STATUSES
    if sent and send_date is None:
        raise ResultsRefused(where, f"status {status!r} but no send_date")
    clicked = status in CLICK_EVENTS or clicked_event
    if (clicked or reported or reported_event) and not sent:
        raise ResultsRefused(where, f"clicked or reported but status {status!r} is not a "
                                    "delivered e-mail")
    return ParsedRecipient(email=email, first_name=names[0][:100], last_name=names[1][:100],
                           position=names[2][:100], status=status,
                           sent_at=send_date if sent else None, clicked=clicked,
                           submitted=status == "Submitted Data",
                           reported=reported or reported_event, where=where)


def parse_csv(raw: bytes) -> ParsedCampaign:
    """GoPhish's "Export CSV" of a campaign's results."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResultsRefused(f"byte {exc.start}", "the file is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ResultsRefused("line 1", "the file is empty")
        header = [h.strip().lower() for h in header]
        missing = [c for c in CSV_REQUIRED if c not in header]
        if missing:
            raise ResultsRefused("line 1", f"not a GoPhish results export: no column "
                                           f"{', '.join(missing)}")
        if len(set(header)) != len(header):
            raise ResultsRefused("line 1", "a column name appears twice")
        col = {name: i for i, name in enumerate(header)}
        seen: set[str] = set()
        out: list[ParsedRecipient] = []
        for row in reader:
            where = f"line {reader.line_num}"
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ResultsRefused(where, f"{len(row)} fields, the header has {len(header)}")
            email = _email(row[col["email"]], where)
            if email in seen:
                raise ResultsRefused(where, f"{email} appears twice")
            seen.add(email)
            flag = row[col["reported"]].strip().lower()
            if flag not in ("true", "false"):
                raise ResultsRefused(where, f"reported must be true or false, not "
                                            f"{row[col['reported']]!r}")
            names = tuple(row[col[k]].strip() if k in col else ""
                          for k in ("first_name", "last_name", "position"))
            out.append(_recipient(email=email, status=_status(row[col["status"]].strip(), where),
                                  send_date=_when(row[col["send_date"]], where),
                                  reported=flag == "true", names=names,  # type: ignore[arg-type]
                                  where=where))
            if len(out) > MAX_RECIPIENTS:
                raise ResultsRefused(where, f"more than {MAX_RECIPIENTS} recipients")
    except csv.Error as exc:
        raise ResultsRefused(f"line {reader.line_num}", f"malformed CSV: {exc}") from None
    if not out:
        raise ResultsRefused("line 2", "no recipient rows")
    return ParsedCampaign(fmt="csv", name="", gophish_id=None, recipients=tuple(out))


def _load_json(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ResultsRefused(f"byte {exc.start}", "the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ResultsRefused(f"line {exc.lineno} column {exc.colno}",
                             f"malformed JSON: {exc.msg}") from None
    except RecursionError:  # a JSON bomb of deep nesting; GoPhish nests three levels
        raise ResultsRefused("$", "malformed JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise ResultsRefused("$", "expected the campaign results object")
    return doc


def _index(results: list[Any]) -> dict[str, int]:
    """Each recipient's e-mail and its position in ``results``; duplicates refused."""
    emails: dict[str, int] = {}
    for i, r in enumerate(results):
        where = f"$.results[{i}]"
        if not isinstance(r, dict):
            raise ResultsRefused(where, "expected an object")
        email = _email(r.get("email"), f"{where}.email")
        if email in emails:
            raise ResultsRefused(f"{where}.email", f"{email} appears twice")
        emails[email] = i
    return emails


def _timeline(events: Any, emails: dict[str, int]) -> tuple[set[str], set[str]]:
    """Recipients with a click (or data submission) event, and with a report event."""
    clicked: set[str] = set()
    reported: set[str] = set()
    if not isinstance(events, list):
        raise ResultsRefused("$.timeline", "expected a list of events")
    for i, e in enumerate(events):
        where = f"$.timeline[{i}]"
        if not isinstance(e, dict) or not isinstance(e.get("message"), str):
            raise ResultsRefused(where, "expected an event with a message")
        if not e.get("email"):  # "Campaign Created" and other campaign-wide events
            continue
        email = _email(e["email"], f"{where}.email")
        if email not in emails:
            raise ResultsRefused(f"{where}.email", f"{email} is not among the results")
        if e["message"] in CLICK_EVENTS:
            clicked.add(email)
        elif e["message"] == REPORT_EVENT:
            reported.add(email)
    return clicked, reported


def _names(r: dict[str, Any], where: str) -> tuple[str, str, str]:
    out = []
    for key in ("first_name", "last_name", "position"):
        v = r.get(key) or ""
        if not isinstance(v, str):
            raise ResultsRefused(f"{where}.{key}", "expected a string")
        out.append(v.strip())
    return out[0], out[1], out[2]


def parse_json(raw: bytes) -> ParsedCampaign:
    """GoPhish's ``/api/campaigns/:id/results`` (or ``/api/campaigns/:id``) JSON."""
    doc = _load_json(raw)
    results = doc.get("results")
    if not isinstance(results, list) or not results:
        raise ResultsRefused("$.results", "expected a non-empty list of results")
    if len(results) > MAX_RECIPIENTS:
        raise ResultsRefused("$.results", f"more than {MAX_RECIPIENTS} recipients")
    name = doc.get("name", "")
    if not isinstance(name, str):
        raise ResultsRefused("$.name", "expected a string")
    gid = doc.get("id")
    if gid is not None and (not isinstance(gid, int) or isinstance(gid, bool) or gid < 0):
        raise ResultsRefused("$.id", "expected a campaign number")
    emails = _index(results)
    clicked, reported = _timeline(doc.get("timeline") or [], emails)
    out = []
    for email, i in emails.items():
        r, where = results[i], f"$.results[{i}]"
        flag = r.get("reported", False)
        if not isinstance(flag, bool):
            raise ResultsRefused(f"{where}.reported", "expected true or false")
        out.append(_recipient(email=email, status=_status(r.get("status"), f"{where}.status"),
                              send_date=_when(r.get("send_date"), f"{where}.send_date"),
                              reported=flag, names=_names(r, where), where=where,
                              clicked_event=email in clicked,
                              reported_event=email in reported))
    return ParsedCampaign(fmt="json", name=name.strip(), gophish_id=gid, recipients=tuple(out))


def parse(raw: bytes) -> ParsedCampaign:
    """Either form: a file whose first non-blank character is ``{`` is JSON, else CSV."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return parse_json(raw) if head == b"{" else parse_csv(raw)
