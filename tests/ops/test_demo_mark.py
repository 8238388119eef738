"""A database knows whether it is a demo (issue 17 item 1, R-OPS-1).

Demo loading and ``safeguard totp`` refuse a database without the demo mark (a production one or
an unmarked one holding real data); production refuses to start on a demo-marked database or one
holding demo users. Each runs the real command in a subprocess against a real SQLite file.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from safeguard.ops import selectors, services
from safeguard.ops.contracts import InstallationRefused
from tests.factories import make_user

STRONG = {"SAFEGUARD_SECRET_KEY": secrets.token_urlsafe(64),
          "SAFEGUARD_MFA_SECRET_KEY": secrets.token_urlsafe(64)}


def _env(mode: str, data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(SAFEGUARD_ENV=mode, SAFEGUARD_DATA_DIR=str(data), SAFEGUARD_DEMO_SCALE="0.02",
               **extra)
    if mode == "production":
        env.update(STRONG, SAFEGUARD_AUDIT_WITNESS_SYSLOG="syslog+tcp://127.0.0.1:6514")
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _safeguard(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(["-m", "safeguard.cli", *args], env)


def _user_count(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM accounts_user").fetchone()[0]


@pytest.mark.slow
def test_demo_refuses_a_production_marked_database(tmp_path):
    # given a database migrated by production (which marks it production), in the demo's place
    data = tmp_path / "var"
    url = f"sqlite:///{data / 'safeguard.sqlite3'}"
    data.mkdir()
    migrated = _safeguard(["migrate", "-v0"], _env("production", data, DATABASE_URL=url))
    assert migrated.returncode == 0, migrated.stderr
    # when the demo is run on that data directory
    demo = _safeguard(["demo", "--no-serve"], _env("demo", data))
    # then it refuses before touching it, and totp refuses too
    assert demo.returncode != 0
    assert "marked as a production database" in demo.stderr
    assert _user_count(data / "safeguard.sqlite3") == 0
    totp = _safeguard(["totp", "admin@demo.safeguard.test"], _env("demo", data))
    assert totp.returncode != 0
    assert "not marked as a demo database" in totp.stderr


@pytest.mark.slow
def test_demo_and_totp_refuse_an_unmarked_database_holding_real_data(tmp_path):
    # given an unmarked database with a real user (migrated and used in test mode: no mark)
    data = tmp_path / "var"
    test_env = _env("test", data)
    assert _safeguard(["migrate", "-v0"], test_env).returncode == 0
    code = ("import django; django.setup(); "
            "from safeguard.accounts import services; "
            "from safeguard.audit.contracts import Actor; "
            "services.user_create(actor=Actor.system('t'), email='real.person@example.com',"
            " full_name='Real Person', password='A-long-passphrase-42', roles=['agent'])")
    created = _run(["-c", code],
                   {**test_env, "DJANGO_SETTINGS_MODULE": "safeguard.settings"})
    assert created.returncode == 0, created.stderr + created.stdout
    # when the demo and totp run on it
    demo = _safeguard(["demo", "--no-serve"], _env("demo", data))
    totp = _safeguard(["totp", "real.person@example.com"], _env("demo", data))
    # then both refuse; no demo user was created, no code printed
    assert demo.returncode != 0
    assert "already holds data" in demo.stderr
    assert "accounts.user" in demo.stderr
    assert _user_count(data / "safeguard.sqlite3") == 1
    assert totp.returncode != 0
    assert "not marked as a demo database" in totp.stderr
    assert totp.stdout == ""


def test_demo_refuses_a_database_url(tmp_path):
    demo = _safeguard(["demo", "--no-serve"],
                      _env("demo", tmp_path / "var",
                           DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}"))
    assert demo.returncode != 0
    assert "uses its own SQLite database" in demo.stderr
    assert not (tmp_path / "prod.sqlite3").exists()


@pytest.mark.slow
def test_production_refuses_to_start_on_a_demo_database(tmp_path):
    # given the demo's own database, marked by `safeguard demo`
    data = tmp_path / "var"
    demo = _safeguard(["demo", "--no-serve"], _env("demo", data))
    assert demo.returncode == 0, demo.stderr
    url = f"sqlite:///{data / 'safeguard.sqlite3'}"
    # when production gunicorn's entry point or a worker starts on it
    web = _run(["-c", "import safeguard.wsgi"], _env("production", data, DATABASE_URL=url))
    worker = _safeguard(["worker"], _env("production", data, DATABASE_URL=url))
    # and the mail receivers, long-running production processes too (port 9: never reached)
    receivers = [_safeguard(args, _env("production", data, DATABASE_URL=url,
                                       SAFEGUARD_IMAP_HOST="127.0.0.1", SAFEGUARD_IMAP_PORT="9"))
                 for args in (["smtpd", "--port", "9"], ["imap-poll", "--once"])]
    # then all refuse to start
    assert web.returncode != 0
    assert "marked as a demo database" in web.stderr
    assert worker.returncode != 0
    assert "marked as a demo database" in worker.stderr
    assert [(r.returncode, "marked as a demo database" in r.stderr) for r in receivers] == [
        (1, True), (1, True)]
    # and without a witness production does not start at all
    no_witness = {k: v for k, v in _env("production", data, DATABASE_URL=url).items()
                  if k != "SAFEGUARD_AUDIT_WITNESS_SYSLOG"}
    web = _run(["-c", "import safeguard.wsgi"], no_witness)
    assert web.returncode != 0
    assert "Production requires an audit witness" in web.stderr
    smtpd = _safeguard(["smtpd", "--port", "9"], no_witness)
    assert (smtpd.returncode, "Production requires an audit witness" in smtpd.stderr) == (1, True)


@pytest.mark.django_db
def test_demo_mark_is_refused_on_a_database_with_real_data():
    # given a database with a real user and no mark
    make_user(email="someone@example.com")
    # when the demo mark is requested, then it is refused and nothing is marked
    with pytest.raises(InstallationRefused, match="already holds data"):
        services.installation_mark_demo()
    assert selectors.installation_kind() is None


@pytest.mark.django_db
def test_fresh_database_is_marked_demo_once_and_production_cannot_take_it():
    services.installation_mark_demo()
    services.installation_mark_demo()  # a re-run of the demo is fine
    services.installation_mark_production()  # never overwrites the demo mark
    assert selectors.installation_kind() == "demo"
    with pytest.raises(InstallationRefused, match="marked as a demo database"):
        services.installation_require_production()


@pytest.mark.django_db
def test_production_refuses_demo_users_on_an_unmarked_database():
    make_user(email="agent@demo.safeguard.test")
    services.installation_mark_production()
    assert selectors.installation_kind() == "production"
    with pytest.raises(InstallationRefused, match="1 demo user"):
        services.installation_require_production()
    with pytest.raises(InstallationRefused, match="marked as a production database"):
        services.installation_mark_demo()


def test_other_commands_on_the_demo_directory_without_an_env_say_how_to_run_them(tmp_path):
    """After `make demo`, `.venv/bin/safeguard governance check` (SAFEGUARD_ENV unset) does not
    end in a production-settings traceback: it names the demo command line and exits 2,
    without switching to demo mode by itself; a non-demo directory is left to the settings."""
    data = tmp_path / "var"
    data.mkdir()
    (data / "DEMO").write_text("demo\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env["SAFEGUARD_DATA_DIR"] = str(data)
    result = _safeguard(["governance", "check"], env)
    assert result.returncode == 2
    assert "SAFEGUARD_ENV=demo" in result.stderr
    assert "governance check" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (data / "safeguard.sqlite3").exists()
    (data / "DEMO").unlink()
    plain = _safeguard(["governance", "check"], env)
    assert plain.returncode != 0
    assert "SAFEGUARD_SECRET_KEY is required in production" in plain.stderr
