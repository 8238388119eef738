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
