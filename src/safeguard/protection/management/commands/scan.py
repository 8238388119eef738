"""``safeguard scan PATH... [--format text|jsonl|csv] [--redact] [--types PAN,EMAIL]``.

Scans files with the configured scanner (no database, no keys needed):

* ``text``: every line is a record, id ``PATH:LINE``;
* ``jsonl``: one ``{"id": ..., "text": ...}`` object per line;
* ``csv``: a header row, then every cell (or ``--columns``) of every row, id ``PATH:ROW``.

Prints findings as JSON lines (``id``, ``type``, ``start``, ``end``, ``score``, and ``column``
for CSV) or, with ``--redact``, the input with findings replaced by ``[TYPE]``. Values are never
printed. Exit codes: 0 done, 1 findings with ``--fail-on-findings``, 2 bad input or usage.
The format defaults to the file extension (``.jsonl``/``.ndjson``, ``.csv``), else text;
``-`` reads standard input.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.protection.scanner import Finding, ScannerError

PROGRESS_BYTES = 1 << 20  # show a progress bar from 1 MiB of input on
_FORMATS = ("text", "jsonl", "csv")


class InputError(CommandError):
    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=2)


def _format_for(path: str, chosen: str | None) -> str:
    if chosen:
        return chosen
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lower.endswith(".csv"):
        return "csv"
    return "text"


def _open(path: str) -> tuple[TextIO, int]:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict"), 0
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory; pass files")
    try:
        size = os.path.getsize(path)
        return open(path, encoding="utf-8", errors="strict", newline=""), size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def _redacted(text: str, findings: list[Finding]) -> str:
    out, last = [], 0
    for f in findings:
        out += [text[last:f.start], f"[{f.type}]"]
        last = f.end
    out.append(text[last:])
    return "".join(out)


class Command(BaseCommand):
    help = "Scan files for sensitive data: findings as JSON lines, or the redacted text."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or - for stdin")
        parser.add_argument("--format", choices=_FORMATS, default=None,
                            help="input format (default: by extension, else text)")
        parser.add_argument("--redact", action="store_true",
                            help="print the input with findings replaced by [TYPE]")
        parser.add_argument("--types", default=None, help="comma-separated types, e.g. PAN,EMAIL")
        parser.add_argument("--columns", default=None, help="csv: only these columns")
        parser.add_argument("--regions", default=None, help="phone regions, e.g. US,GB,DE")
        parser.add_argument("--min-score", type=float, default=None)
        parser.add_argument("--fail-on-findings", action="store_true",
                            help="exit 1 when anything is found (for pipelines)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        from safeguard.protection import scanning

        types = ([t.strip() for t in opts["types"].split(",") if t.strip()]
                 if opts["types"] else None)
        regions = ([r.strip() for r in opts["regions"].split(",") if r.strip()]
                   if opts["regions"] else None)
        try:
            scanner = scanning.scanner(min_score=opts["min_score"])
            scanner.scan("", types=types, regions=regions)  # validate the options up front
        except ScannerError as exc:
            raise InputError(str(exc)) from None
        self._scanner, self._types, self._regions = scanner, types, regions
        found = 0
        for path in opts["paths"]:
            found += self._file(path, opts)
        if found and opts["fail_on_findings"]:
            self.stderr.write(f"{found} finding(s).")
            raise SystemExit(1)

    def _scan(self, text: str) -> list[Finding]:
        return self._scanner.scan(text, types=self._types, regions=self._regions)

    def _file(self, path: str, opts: dict[str, Any]) -> int:
        fmt = _format_for(path, opts["format"])
        handle, size = _open(path)
        progress = None
        try:
            if size >= PROGRESS_BYTES and not opts["no_progress"]:
                from rich.console import Console
                from rich.progress import Progress

                progress = Progress(console=Console(stderr=True), transient=True)
                progress.start()
                task = progress.add_task(f"scanning {path}", total=size)
                tick = lambda n: progress.update(task, advance=n)  # noqa: E731
            else:
                tick = lambda n: None  # noqa: E731
            reader = {"text": self._text, "jsonl": self._jsonl, "csv": self._csv}[fmt]
            return reader(path, handle, opts, tick)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start} of a line)") from None
        finally:
            if progress is not None:
                progress.stop()
            if path != "-":
                handle.close()

    def _emit(self, record_id: str, findings: list[Finding], column: str | None = None) -> None:
        for f in findings:
            row: dict[str, Any] = {"id": record_id, "type": f.type, "start": f.start,
                                   "end": f.end, "score": round(f.score, 3)}
            if column is not None:
                row["column"] = column
            self.stdout.write(json.dumps(row, ensure_ascii=False))

    def _text(self, path: str, handle: TextIO, opts: dict[str, Any], tick: Any) -> int:
        found = 0
        for number, line in enumerate(handle, start=1):
            tick(len(line.encode()))
            text = line.rstrip("\r\n")
            findings = self._scan(text)
            found += len(findings)
            if opts["redact"]:
                self.stdout.write(_redacted(text, findings))
            else:
                self._emit(f"{path}:{number}", findings)
        return found

    def _jsonl(self, path: str, handle: TextIO, opts: dict[str, Any], tick: Any) -> int:
        found = 0
        for number, line in enumerate(handle, start=1):
            tick(len(line.encode()))
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict) or "text" not in record or "id" not in record:
                raise InputError(f'{path}:{number}: expected an object with "id" and "text"')
            if not isinstance(record["text"], str):
                raise InputError(f'{path}:{number}: "text" must be a string')
            findings = self._scan(record["text"])
            found += len(findings)
            if opts["redact"]:
                self.stdout.write(json.dumps({**record, "text": _redacted(record["text"],
                                                                          findings)},
                                             ensure_ascii=False))
            else:
                self._emit(str(record["id"]), findings)
        return found

    def _csv(self, path: str, handle: TextIO, opts: dict[str, Any], tick: Any) -> int:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return 0
        except csv.Error as exc:
            raise InputError(f"{path}:1: malformed CSV ({exc})") from None
        wanted = ([c.strip() for c in opts["columns"].split(",")] if opts["columns"]
                  else header)
        missing = [c for c in wanted if c not in header]
        if missing:
            raise InputError(f"{path}: no column(s) {missing}; the header has {header}")
        indexes = [header.index(c) for c in wanted]
        writer = csv.writer(self.stdout, lineterminator="\n") if opts["redact"] else None
        if writer is not None:
            writer.writerow(header)
        found = 0
        rows: Iterator[list[str]] = reader
        number = 1
        try:
            for number, row in enumerate(rows, start=2):
                tick(sum(len(c) for c in row) + len(row))
                if len(row) != len(header):
                    raise InputError(f"{path}:{number}: {len(row)} cells, the header has "
                                     f"{len(header)}")
                out = list(row)
                for i in indexes:
                    findings = self._scan(row[i])
                    found += len(findings)
                    if writer is None:
                        self._emit(f"{path}:{number}", findings, column=header[i])
                    else:
                        out[i] = _redacted(row[i], findings)
                if writer is not None:
                    writer.writerow(out)
        except csv.Error as exc:
            raise InputError(f"{path}:{number + 1}: malformed CSV ({exc})") from None
        return found
