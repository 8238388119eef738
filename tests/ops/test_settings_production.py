"""Production mode fails safe: no secret, no start; `check --deploy` passes (R-OPS-3)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SAFEGUARD = [sys.executable, "-m", "safeguard.cli"]


def _run(args, **env):
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    base.update(env)
    return subprocess.run(SAFEGUARD + args, env=base, capture_output=True, text=True,
                          timeout=120, check=False)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run(["check"], SAFEGUARD_ENV="production", SAFEGUARD_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SAFEGUARD_SECRET_KEY is required in production" in result.stderr


def test_production_refuses_a_short_secret_key(tmp_path):
    result = _run(["check"], SAFEGUARD_ENV="production", SAFEGUARD_SECRET_KEY="short",
                  SAFEGUARD_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_unknown_mode_is_refused(tmp_path):
    result = _run(["check"], SAFEGUARD_ENV="staging", SAFEGUARD_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SAFEGUARD_ENV must be production, demo or test" in result.stderr


@pytest.mark.slow
def test_check_deploy_passes_djangos_checks_and_runs_ours(tmp_path):
    # given the production defaults with a repeated 50-character key on SQLite (issue 17)
    result = _run(["check", "--deploy", "--fail-level", "WARNING"],
                  SAFEGUARD_ENV="production", SAFEGUARD_SECRET_KEY="k" * 20 + "Zq9!x" * 10,
                  SAFEGUARD_MFA_SECRET_KEY="m" * 64,
                  SAFEGUARD_ALLOWED_HOSTS="safeguard.example.com",
                  SAFEGUARD_DATA_DIR=str(tmp_path))
    output = result.stdout + result.stderr
    # then Django's own deploy checks pass (no security.* item) but ours fail it
    assert result.returncode != 0
    assert "(security." not in output
    assert "(safeguard.E004) The secret key is weak" in output
    assert "(safeguard.E007) The database is SQLite" in output


def _in_django(code: str, tmp_path, *, check: bool = True, **env_vars: str):
    """Run ``code`` in a fresh process with Django set up under the given mode's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGUARD_")}
    env.update(SAFEGUARD_SECRET_KEY="x" * 64, SAFEGUARD_MFA_SECRET_KEY="m" * 64,
               SAFEGUARD_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="safeguard.settings",
               **env_vars)
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code],
                          env=env, capture_output=True, text=True, timeout=60, check=check)


def test_production_settings_values(tmp_path):
    code = ("from django.conf import settings as s; import json; print(json.dumps(["
            "s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
            "s.SECURE_HSTS_SECONDS, s.PASSWORD_HASHERS[0], "
            "s.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS, s.SAFEGUARD_SESSION_IDLE_MINUTES, "
            "'unsafe-inline' in str(s.CONTENT_SECURITY_POLICY)]))")
    out = _in_django(code, tmp_path, SAFEGUARD_ENV="production")
    assert out.stdout.strip() == (
        '[false, true, true, true, 63072000, '
        '"django.contrib.auth.hashers.Argon2PasswordHasher", true, 15, false]')


def test_plain_http_is_redirected_to_https_in_production(tmp_path):
    code = ("from django.test import Client; c = Client(); "
            "r = c.get('/', HTTP_HOST='localhost'); print(r.status_code, r['Location']); "
            "r = c.get('/', HTTP_HOST='localhost', HTTP_X_FORWARDED_PROTO='https'); "
            "print(r.status_code, r.get('Strict-Transport-Security'))")
    out = _in_django(code, tmp_path, SAFEGUARD_ENV="production")
    first, second = out.stdout.strip().splitlines()
    assert first == "301 https://localhost/"
    assert second == "302 max-age=63072000; includeSubDomains; preload"


def test_redis_url_switches_jobs_and_cache_to_redis_and_readyz_reaches_it(tmp_path):
    # given SAFEGUARD_REDIS_URL pointing at the machine's Redis (loopback)
    code = ("from django.test import Client; from django.conf import settings as s; "
            "from huey.contrib.djhuey import HUEY; "
            "print(type(HUEY).__name__, s.CACHES['default']['BACKEND'].rsplit('.', 1)[1]); "
            "print(Client().get('/readyz', HTTP_HOST='localhost').json()['checks']['jobs'])")
    # when the settings load and the readiness probe runs
    out = _in_django(code, tmp_path, check=False, SAFEGUARD_ENV="demo",
                     SAFEGUARD_REDIS_URL="redis://127.0.0.1:6379/15")
    if "ConnectionError" in out.stderr or "Connection refused" in out.stderr:
        pytest.skip("no Redis on 127.0.0.1:6379")
    # then jobs and cache use Redis and the probe reached it
    assert out.stdout.splitlines() == ["RedisHuey RedisCache", "ok"], out.stderr


def test_production_never_creates_a_signing_key_by_itself_and_keygen_does_once(tmp_path):
    env = {"SAFEGUARD_ENV": "production", "SAFEGUARD_SECRET_KEY": "s" * 64,
           "SAFEGUARD_MFA_SECRET_KEY": "m" * 64,
           # the plain-file provider: the sealed default needs an unsealed KEK (tests below)
           "SAFEGUARD_AUDIT_SIGNER": "safeguard.audit.signing.file_signer",
               "SAFEGUARD_DATA_DIR": str(tmp_path)}
    pubkey = _run(["audit", "pubkey"], **env)
    assert pubkey.returncode != 0
    assert "safeguard audit keygen" in pubkey.stderr
    created = _run(["audit", "keygen"], **env)
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "audit-signing.key").stat().st_mode & 0o777 == 0o600
    again = _run(["audit", "keygen"], **env)
    assert again.returncode != 0
    assert "never replaced" in again.stderr


def test_production_refuses_to_start_without_a_dedicated_mfa_key(tmp_path):
    result = _run(["check"], SAFEGUARD_ENV="production", SAFEGUARD_SECRET_KEY="s" * 64,
                  SAFEGUARD_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SAFEGUARD_MFA_SECRET_KEY" in result.stderr
