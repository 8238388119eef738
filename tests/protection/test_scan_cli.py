"""`safeguard scan`: formats, redaction, type filter, exit codes, clear input errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.protection.conftest import PAN_VISA

LINE = f"card {PAN_VISA} mail ann@example.com"


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("scan", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_text_files_are_scanned_line_by_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(f"nothing here\n{LINE}\n")
    out, _ = _run(str(path))
    assert _jsonl(out) == [
        {"id": f"{path}:2", "type": "PAN", "start": 5, "end": 21, "score": 1.0},
        {"id": f"{path}:2", "type": "EMAIL", "start": 27, "end": 42, "score": 1.0},
    ]
    assert PAN_VISA not in out


def test_types_filter_and_redact(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(LINE + "\n")
    out, _ = _run(str(path), "--types", "PAN")
    assert [f["type"] for f in _jsonl(out)] == ["PAN"]
    out, _ = _run(str(path), "--redact")
    assert out == "card [PAN] mail [EMAIL]\n"
    out, _ = _run(str(path), "--redact", "--types", "EMAIL")
    assert out == f"card {PAN_VISA} mail [EMAIL]\n"


def test_jsonl_records_keep_their_ids(tmp_path):
    path = tmp_path / "msgs.jsonl"
    path.write_text(json.dumps({"id": "m-1", "text": LINE}) + "\n\n"
                    + json.dumps({"id": 2, "text": "hello"}) + "\n")
    out, _ = _run(str(path))
    assert {(f["id"], f["type"]) for f in _jsonl(out)} == {("m-1", "PAN"), ("m-1", "EMAIL")}
    out, _ = _run(str(path), "--redact")
    assert _jsonl(out) == [{"id": "m-1", "text": "card [PAN] mail [EMAIL]"},
                           {"id": 2, "text": "hello"}]


def test_csv_columns_are_scanned_and_redacted(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(f'id,note,email\n1,"{LINE}",bob@example.com\n2,fine,\n')
    out, _ = _run(str(path), "--columns", "note")
    assert {(f["id"], f["column"], f["type"]) for f in _jsonl(out)} == {
        (f"{path}:2", "note", "PAN"), (f"{path}:2", "note", "EMAIL")}
    out, _ = _run(str(path), "--redact")
    assert out.splitlines() == ["id,note,email", "1,card [PAN] mail [EMAIL],[EMAIL]", "2,fine,"]


def test_fail_on_findings_exits_1_and_clean_input_exits_0(tmp_path):
    dirty, clean = tmp_path / "dirty.txt", tmp_path / "clean.txt"
    dirty.write_text(LINE + "\n")
    clean.write_text("all good\n")
    with pytest.raises(SystemExit) as exited:
        _run(str(dirty), "--fail-on-findings")
    assert exited.value.code == 1
    out, _ = _run(str(clean), "--fail-on-findings")
    assert out == ""


@pytest.mark.parametrize(("content", "fmt", "message"), [
    ('{"id": 1, "text": "ok"}\n{not json\n', "jsonl", r":2: not valid JSON"),
    ('{"id": 1}\n', "jsonl", r':1: expected an object with "id" and "text"'),
    ('{"id": 1, "text": 5}\n', "jsonl", r'"text" must be a string'),
    ("a,b\n1,2,3\n", "csv", r":2: 3 cells, the header has 2"),
])
def test_malformed_input_is_a_clear_error_with_exit_code_2(tmp_path, content, fmt, message):
    path = tmp_path / f"input.{fmt}"
    path.write_text(content)
    with pytest.raises(CommandError, match=message) as failed:
        _run(str(path))
    assert failed.value.returncode == 2


def test_unreadable_inputs_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="cannot read: No such file") as failed:
        _run(str(tmp_path / "missing.txt"))
    assert failed.value.returncode == 2
    with pytest.raises(CommandError, match="is a directory"):
        _run(str(tmp_path))
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"ok\n\xff\xfe\x00bad\n")
    with pytest.raises(CommandError, match="not UTF-8"):
        _run(str(binary))
    with pytest.raises(CommandError, match="unknown finding types"):
        _run(str(binary), "--types", "NOPE")
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match=r"no column\(s\) \['zz'\]"):
        _run(str(path), "--columns", "zz")


def test_the_console_script_reports_exit_codes_end_to_end(tmp_path):
    dirty = tmp_path / "dirty.txt"
    dirty.write_text(LINE + "\n")
    env = {**os.environ, "SAFEGUARD_ENV": "test", "SAFEGUARD_DATA_DIR": str(tmp_path / "data")}
    base = [sys.executable, "-m", "safeguard.cli", "scan"]
    found = subprocess.run([*base, str(dirty), "--fail-on-findings"], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert found.returncode == 1, found.stderr
    assert len(_jsonl(found.stdout)) == 2
    missing = subprocess.run([*base, str(tmp_path / "nope.txt")], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    piped = subprocess.run([*base, "-", "--redact"], env=env, input=LINE + "\n",
                           capture_output=True, text=True, timeout=120, check=False)
    assert (piped.returncode, piped.stdout) == (0, "card [PAN] mail [EMAIL]\n")


def test_large_inputs_show_progress_without_touching_stdout(tmp_path, monkeypatch):
    from safeguard.protection.management.commands import scan as command

    monkeypatch.setattr(command, "PROGRESS_BYTES", 10)
    path = tmp_path / "big.txt"
    path.write_text("hello world\n" * 50 + LINE + "\n")
    out, _ = _run(str(path), "--types", "PAN")
    assert [f["id"] for f in _jsonl(out)] == [f"{path}:51"]
