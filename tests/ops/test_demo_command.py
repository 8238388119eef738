"""`safeguard demo --no-serve` and `safeguard totp` (section 12)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


def _env(tmp_path, mode):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(SAFEGUARD_ENV=mode, SAFEGUARD_DATA_DIR=str(tmp_path / "var"),
               SAFEGUARD_DEMO_SCALE="0.02")
    return env


def _safeguard(args, env):
    return subprocess.run([sys.executable, "-m", "safeguard.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_demo_prepares_data_dir_users_and_codes_and_is_idempotent(tmp_path):
    env = _env(tmp_path, "demo")
    first = _safeguard(["demo", "--no-serve"], env)
    assert first.returncode == 0, first.stderr
    assert "admin@demo.safeguard.test" in first.stdout
    assert (tmp_path / "var" / "safeguard.sqlite3").exists()
    assert oct((tmp_path / "var" / "secret_key").stat().st_mode & 0o777) == "0o600"
    second = _safeguard(["demo", "--no-serve"], env)
    assert second.returncode == 0, second.stderr
    code = _safeguard(["totp", "admin@demo.safeguard.test"], env)
    assert re.fullmatch(r"\d{6}\n", code.stdout), code.stderr


@pytest.mark.slow
def test_first_run_prints_users_last_warns_once_and_totp_needs_no_variable(tmp_path):
    """Issue 15 (R-OPS-5 first run): the demo users and the code command come after the load,
    the dev-key warning prints once, job logs go to the data directory's file, and the README's
    `safeguard totp EMAIL` works without SAFEGUARD_ENV because the data directory says it is a
    demo (the database's mark is still checked)."""
    env = _env(tmp_path, "demo")
    run = _safeguard(["demo", "--no-serve", "--port", "8765"], env)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    # the channel addresses name the port given, not the SAFEGUARD_PORT default
    assert "web chat      http://127.0.0.1:8765/chat/" in out
    assert out.index("Contact centre: loaded in") < out.index("Demo users (password for all")
    assert out.rstrip().splitlines()[-1].startswith("Current code of a demo user's authenticator")
    assert out.count("admin@demo.safeguard.test") == 2  # the list, then the code command
    # every channel is named with how to reach it, before the users (issue 15, item 10)
    assert out.index("Channels (all live") < out.index("Demo users (password for all")
    assert "SMTP on 127.0.0.1:2525 for billing@northwind.example" in out
    assert "REST ingest   POST http://127.0.0.1:" in out
    assert re.search(r"Authorization: Bearer \S{40,}", out)
    secret = tmp_path / "var" / "webhook_secret"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    assert len(secret.read_text().strip()) == 64
    assert run.stderr.count("DEV KEY-ENCRYPTION KEY IN USE") == 1
    assert '"event"' not in run.stderr  # no JSON log lines on the console
    log = (tmp_path / "var" / "logs" / "safeguard.log").read_text()
    assert "protection.dev_kek_in_use" in log
    assert (tmp_path / "var" / "DEMO").is_file()
    del env["SAFEGUARD_ENV"]
    code = _safeguard(["totp", "agent@demo.safeguard.test"], env)
    assert re.fullmatch(r"\d{6}\n", code.stdout), code.stderr


def test_totp_without_a_demo_data_directory_says_why(tmp_path):
    """No SAFEGUARD_ENV and no demo mark file: a plain refusal, not a settings traceback."""
    env = _env(tmp_path, "demo")
    del env["SAFEGUARD_ENV"]
    run = _safeguard(["totp", "admin@demo.safeguard.test"], env)
    assert run.returncode == 2
    assert "is not a demo data directory" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "var").exists()  # nothing created


def test_a_demo_mode_command_away_from_the_demo_says_where_it_is(tmp_path):
    """SAFEGUARD_ENV=demo run from another folder (./var absent there): a plain refusal naming
    the way out, not an empty database created in that folder and a missing-table traceback."""
    env = _env(tmp_path, "demo")
    run = _safeguard(["governance", "import-phishing", "results.csv"], env)
    assert run.returncode == 2
    assert f"there is no demo here ({tmp_path / 'var'} does not exist)" in run.stderr
    assert "SAFEGUARD_DATA_DIR" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "var").exists()  # nothing created


def test_demo_and_totp_refuse_outside_demo_mode(tmp_path):
    env = _env(tmp_path, "production")
    env["SAFEGUARD_SECRET_KEY"] = "s" * 64
    env["SAFEGUARD_MFA_SECRET_KEY"] = "m" * 64
    demo = _safeguard(["demo", "--no-serve"], env)
    assert demo.returncode != 0
    assert "runs only with SAFEGUARD_ENV=demo" in demo.stderr
    totp = _safeguard(["totp", "admin@demo.safeguard.test"], env)
    assert totp.returncode != 0
    assert "only in demo mode" in totp.stderr


def test_the_demo_consumer_knows_every_apps_jobs(tmp_path):
    """The consumer `make demo` runs in process registers every app's ``tasks`` module before it
    starts (R-OPS-5 demo): in a real demo `safeguard keys rotate` queued ``protection.reencrypt``
    and the consumer dropped it as "not found in TaskRegistry". A fresh process, so no import
    made by another test can stand in for the registration."""
    from pathlib import Path

    import safeguard

    src = Path(safeguard.__file__).parent
    modules = sorted(f"safeguard.{p.parent.name}.tasks" for p in src.glob("*/tasks.py"))
    assert "safeguard.protection.tasks" in modules
    code = ("import django; django.setup(); "
            "from safeguard.ops.management.commands.demo import embedded_consumer; "
            "c = embedded_consumer(); "
            "print('\\n'.join(sorted(c.huey._registry._registry)))")
    env = _env(tmp_path, "test")
    env["DJANGO_SETTINGS_MODULE"] = "safeguard.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(src.parent), env.get("PYTHONPATH", "")])
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    registered = run.stdout.split()
    assert "safeguard.protection.tasks.protection.reencrypt" in registered
    for module in modules:  # every app's jobs, not only the ones the web process imports
        assert any(name.startswith(module + ".") for name in registered), module
