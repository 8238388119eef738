"""/readyz is not ready while keys are sealed, migrations pend or the audit signer is missing
(issue 17 item 2, R-OPS-4, R-IR-5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from safeguard.audit.contracts import Actor
from safeguard.protection import keyring, services

pytestmark = pytest.mark.django_db


def _ready() -> tuple[int, dict[str, str]]:
    response = Client().get("/readyz")
    return response.status_code, response.json()["checks"]


def test_readyz_is_not_ready_while_the_keys_are_sealed(settings):
    # given keys initialised with split knowledge and not unsealed on this machine
    settings.SAFEGUARD_KEK_PROVIDER = "local"
    services.keys_init(provider="local", shares=3, threshold=2, actor=Actor.system("tests"))
    keyring.reset_caches()
    # when the probe runs, then it is not ready and names the keys
    status, checks = _ready()
    assert status == 503
    assert checks["keys"] == "fail"
    assert checks["database"] == "ok"


def test_readyz_is_not_ready_without_an_audit_signing_key(settings, tmp_path):
    # given production behaviour (no key created by itself) and no key file
    settings.PRODUCTION = True
    settings.SAFEGUARD_AUDIT_SIGNER = "safeguard.audit.signing.file_signer"
    settings.SAFEGUARD_AUDIT_KEY_FILE = str(tmp_path / "missing.key")
    status, checks = _ready()
    assert status == 503
    assert checks["audit_signer"] == "fail"
    assert not (tmp_path / "missing.key").exists()


def test_readyz_is_not_ready_on_an_unmigrated_database(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(SAFEGUARD_ENV="test", SAFEGUARD_DATA_DIR=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
               DJANGO_SETTINGS_MODULE="safeguard.settings")
    code = ("import django, json; django.setup(); from django.test import Client; "
            "r = Client().get('/readyz', HTTP_HOST='localhost'); "
            "print(r.status_code, json.dumps(r.json()['checks']))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    status, checks = out.stdout.split(" ", 1)
    assert status == "503"
    assert json.loads(checks)["migrations"] == "fail"
