"""A missing syslog peer never crashes one test into another (issue 15, item 11).

On a machine without rsyslog the witness test errored with ``FileNotFoundError`` and left its log
file open; the ResourceWarning then failed the next test through warnings-as-errors. These run
without rsyslog: they point the fixture at a binary that does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.audit import test_siem_syslog as siem


def _open_paths() -> set[str]:
    fds = Path("/proc/self/fd")
    paths = set()
    for fd in fds.iterdir():
        try:
            paths.add(os.readlink(fd))
        except OSError:
            continue
    return paths


def test_a_failed_start_leaves_no_open_log_file(tmp_path, monkeypatch):
    # given an rsyslogd path that does not exist
    monkeypatch.setattr(siem, "RSYSLOGD", str(tmp_path / "no-such-rsyslogd"))
    server = siem.Rsyslog(tmp_path / "peer")
    # when the peer is started
    with pytest.raises(FileNotFoundError):
        server.start()
    # then its output file was created and is closed again: nothing left for the next test
    out = tmp_path / "peer" / "rsyslogd.out"
    assert out.exists()
    assert str(out) not in _open_paths()
    assert server.proc is None


def test_the_fixture_skips_when_rsyslog_is_not_installed(tmp_path, monkeypatch):
    # given no rsyslogd
    monkeypatch.setattr(siem, "RSYSLOGD", str(tmp_path / "no-such-rsyslogd"))
    # when a test asks for the peer, then it is skipped with the command that installs it
    with pytest.raises(pytest.skip.Exception, match="make system-packages"):
        siem._require_rsyslogd()
