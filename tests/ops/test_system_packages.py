"""One list of the Debian packages the suite needs, used by `make test` and `.ci/run` (issue 15,
item 11)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "system-packages"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          check=False, cwd=ROOT)


def test_the_list_names_every_peer_of_the_suite():
    listed = _run("--list").stdout.split()
    assert listed == ["chromium", "rsyslog", "rsyslog-openssl", "dovecot-imapd", "redis-server",
                      "tesseract-ocr", "postgresql-client", "libpango-1.0-0",
                      "libpangoft2-1.0-0", "poppler-utils"]


def test_make_test_and_ci_use_the_same_target():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: system-packages install-test$", makefile, re.M)
    assert re.search(r"^system-packages:\n\t@\.ci/system-packages$", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make --no-print-directory system-packages" in ci
    assert "apt-get install" not in ci  # no second list


def test_check_reports_missing_packages_with_the_command_or_all_present():
    run = _run("--check")
    if run.returncode == 0:
        assert run.stdout.startswith("system packages: all present")
    else:
        assert "install them with: sudo apt-get update && sudo apt-get install -y" in run.stderr


def test_a_bad_argument_is_refused():
    run = _run("--everything")
    assert run.returncode == 2
    assert "usage:" in run.stderr
