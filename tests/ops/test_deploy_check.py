"""`safeguard check --deploy` fails on every item of issue 17's list 2, naming the setting.

Each case runs the real command in a subprocess with a production environment that differs from
a baseline in one respect only; the baseline run proves that respect is what trips the check
(R-OPS-1, R-OPS-3, R-OPS-4, R-IR-5).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SAFEGUARD = [sys.executable, "-m", "safeguard.cli"]
SHM = Path("/dev/shm")  # noqa: S108 - tmpfs on purpose: the KEK and witness checks need it
SECRET = secrets.token_urlsafe(64)
MFA = secrets.token_urlsafe(64)


def _base(tmp: Path) -> dict[str, str]:
    """Settings that pass every settings-level check (the database ones need a real install)."""
    witness_dir = SHM / f"sg-witness-{os.getpid()}"  # another volume than tmp
    return {
        "SAFEGUARD_ENV": "production", "SAFEGUARD_SECRET_KEY": SECRET,
        "SAFEGUARD_MFA_SECRET_KEY": MFA, "SAFEGUARD_ALLOWED_HOSTS": "safeguard.example.com",
        "SAFEGUARD_DATA_DIR": str(tmp / "data"),
        "SAFEGUARD_REDIS_URL": "redis://127.0.0.1:6379/15",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/sg_deploy_unused",
        "SAFEGUARD_AUDIT_WITNESS_FILE": str(witness_dir / "heads.jsonl"),
        "SAFEGUARD_KEK_RUNTIME_DIR": str(SHM / f"sg-kek-{os.getpid()}"),
        # security.txt's Expires (metrics, E561/E562): a year ahead of the run.
        "SAFEGUARD_SECURITY_TXT_EXPIRES": (datetime.now(tz=UTC) + timedelta(days=365)
                                           ).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _check(env_vars: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(env_vars)
    return subprocess.run([*SAFEGUARD, "check", "--deploy"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("deploy")
    (tmp / "data").mkdir()
    result = _check(_base(tmp))
    return tmp, result.stdout + result.stderr


# item of list 2 -> (environment change, id, the setting the message must name)
SETTINGS_CASES = {
    "allowed-hosts-wildcard": ({"SAFEGUARD_ALLOWED_HOSTS": "*"}, "E002",
                               "SAFEGUARD_ALLOWED_HOSTS"),
    "repeated-secret-key": ({"SAFEGUARD_SECRET_KEY": "k" * 20 + "Zq9!x" * 10}, "E004",
                            "SAFEGUARD_SECRET_KEY"),
    "periodic-secret-key": ({"SAFEGUARD_SECRET_KEY": "abcdefghijklmnopqrstuvwxyz" * 3}, "E004",
                            "SAFEGUARD_SECRET_KEY"),
    "mfa-key-equals-secret-key": ({"SAFEGUARD_MFA_SECRET_KEY": SECRET}, "E005",
                                  "SAFEGUARD_MFA_SECRET_KEY"),
    "sqlite": ({"DATABASE_URL": ""}, "E007", "DATABASE_URL"),
    "no-redis": ({"SAFEGUARD_REDIS_URL": ""}, "E008", "SAFEGUARD_REDIS_URL"),
    "console-email": ({"SAFEGUARD_EMAIL_BACKEND":
                       "django.core.mail.backends.console.EmailBackend"}, "E009",
                      "SAFEGUARD_EMAIL_BACKEND"),
    "client-ip-header-without-proxy": ({"SAFEGUARD_BEHIND_PROXY": "0",
                                        "SAFEGUARD_CLIENT_IP_HEADER": "X-Forwarded-For"},
                                       "E010", "SAFEGUARD_CLIENT_IP_HEADER"),
    "webauthn-for-admins-off": ({"SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS": "0"}, "E011",
                                "SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS"),
    "idle-window-100000": ({"SAFEGUARD_SESSION_IDLE_MINUTES": "100000"}, "E012",
                           "SAFEGUARD_SESSION_IDLE_MINUTES"),
    "step-up-window-100000": ({"SAFEGUARD_STEP_UP_MINUTES": "100000"}, "E013",
                              "SAFEGUARD_STEP_UP_MINUTES"),
    "no-witness": ({"SAFEGUARD_AUDIT_WITNESS_FILE": ""}, "E014",
                   "SAFEGUARD_AUDIT_WITNESS_FILE"),
    "csrf-origin-wildcard": ({"SAFEGUARD_CSRF_TRUSTED_ORIGINS": "http://*"}, "E003",
                             "SAFEGUARD_CSRF_TRUSTED_ORIGINS"),
    "not-production": ({"SAFEGUARD_ENV": "demo"}, "E001", "SAFEGUARD_ENV"),
}


@pytest.mark.parametrize("case", sorted(SETTINGS_CASES))
def test_deploy_check_fails_on_each_settings_item(case, baseline):
    tmp, base_output = baseline
    change, number, setting = SETTINGS_CASES[case]
    # given the baseline does not raise this item
    assert f"safeguard.{number}" not in base_output
    # when one setting is made unsafe
    result = _check({**_base(tmp), **change})
    output = result.stdout + result.stderr
    # then the check fails with that item, naming the setting to change
    assert result.returncode != 0
    line = next(x for x in output.splitlines() if f"(safeguard.{number})" in x)
    assert setting in line


def test_deploy_check_fails_on_a_kek_runtime_dir_on_disk(baseline, tmp_path):
    tmp, base_output = baseline
    assert "safeguard.E016" not in base_output
    result = _check({**_base(tmp), "SAFEGUARD_KEK_RUNTIME_DIR": str(tmp_path / "run")})
    line = next(x for x in (result.stdout + result.stderr).splitlines()
                if "(safeguard.E016)" in x)
    assert result.returncode != 0
    assert "SAFEGUARD_KEK_RUNTIME_DIR" in line


def test_deploy_check_fails_on_a_witness_beside_the_data(baseline):
    tmp, _ = baseline
    result = _check({**_base(tmp),
                     "SAFEGUARD_AUDIT_WITNESS_FILE": str(tmp / "data" / "witness.jsonl")})
    assert result.returncode != 0
    assert "(safeguard.E015)" in result.stdout + result.stderr


# --- the database: a real SQLite file per case, migrated by production ---------------------


def _db_env(tmp: Path, db: Path, **extra: str) -> dict[str, str]:
    return {**_base(tmp), "DATABASE_URL": f"sqlite:///{db}", **extra}


def _django(code: str, env_vars: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(env_vars, DJANGO_SETTINGS_MODULE="safeguard.settings")
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code],
                          env=env, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def migrated(baseline) -> Path:
    """A production-migrated database (marked production), keys not initialised."""
    tmp, _ = baseline
    db = tmp / "migrated.sqlite3"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(_db_env(tmp, db))
    subprocess.run([*SAFEGUARD, "migrate", "-v0"], env=env, check=True, timeout=300)
    return db


def _copy(db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.sqlite3"
    shutil.copy(db, target)
    return target


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def test_deploy_check_fails_on_an_unmigrated_database(baseline, tmp_path):
    tmp, _ = baseline
    result = _check(_db_env(tmp, tmp_path / "empty.sqlite3"))
    assert result.returncode != 0
    assert "(safeguard.E018) The database is not migrated" in _output(result)


def test_deploy_check_fails_when_keys_are_not_initialised_and_no_signer(baseline, migrated):
    tmp, _ = baseline
    result = _check(_db_env(tmp, migrated))
    output = _output(result)
    assert result.returncode != 0
    assert "safeguard.E018" not in output
    assert "(safeguard.E021) The keys are not usable: not initialised" in output
    assert "(safeguard.E022) No usable audit signing key" in output


def test_deploy_check_fails_when_keys_are_sealed(baseline, migrated, tmp_path):
    tmp, _ = baseline
    db = _copy(migrated, tmp_path)
    _django("from django.core.management import call_command; "
            "call_command('keys', 'init', '--shares', '3', '--threshold', '2')",
            _db_env(tmp, db))
    result = _check(_db_env(tmp, db))
    assert result.returncode != 0
    assert "(safeguard.E021) The keys are not usable: The keys are sealed" in _output(result)


def test_deploy_check_fails_on_demo_users_and_a_demo_mark(baseline, migrated, tmp_path):
    tmp, _ = baseline
    db = _copy(migrated, tmp_path)
    _django("from safeguard.accounts import services; "
            "from safeguard.audit.contracts import Actor; "
            "services.user_create(actor=Actor.system('t'), email='admin@demo.safeguard.test', "
            "full_name='Ada', password='Safeguard-demo-2026', roles=['administrator']); "
            "from safeguard.ops.models import InstallationMark as M; "
            "M.objects.filter(id=1).update(kind='demo')", _db_env(tmp, db))
    output = _output(_check(_db_env(tmp, db)))
    assert "(safeguard.E019) This database is marked as a demo database" in output
    assert "(safeguard.E020) 1 demo user(s)" in output
    assert "setting: DATABASE_URL" in output


# --- and a complete installation passes ---------------------------------------------------


def test_a_complete_production_installation_passes_the_deploy_check(tmp_path):
    """The operator's path of docs/deploy.md on PostgreSQL: the check is not misleading the
    other way either — a correct installation reports no issues."""
    name = f"sg_deploy_full_{os.getpid()}"
    createdb, dropdb = shutil.which("createdb"), shutil.which("dropdb")
    if createdb is None or dropdb is None:
        pytest.skip("PostgreSQL client tools are not installed")
    created = subprocess.run([createdb, "-h", "127.0.0.1", "-U", "postgres", name],
                             capture_output=True, text=True, check=False)
    if created.returncode != 0:
        pytest.skip(f"no PostgreSQL on 127.0.0.1: {created.stderr.strip()}")
    (tmp_path / "data").mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(_base(tmp_path), DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}")
    witness = Path(env["SAFEGUARD_AUDIT_WITNESS_FILE"])
    runtime = Path(env["SAFEGUARD_KEK_RUNTIME_DIR"])

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SAFEGUARD, *args], env=env, capture_output=True, text=True,
                              timeout=300, check=False)

    try:
        assert manage("migrate", "-v0").returncode == 0
        init = manage("keys", "init", "--shares", "3", "--threshold", "2")
        shares = [x.strip() for x in init.stdout.splitlines() if len(x.split()) == 33]
        assert len(shares) == 3, init.stderr
        (tmp_path / "shares.txt").write_text("\n".join(shares[:2]) + "\n")
        unseal = manage("keys", "unseal", "--share-file", str(tmp_path / "shares.txt"))
        assert unseal.returncode == 0, unseal.stderr
        assert manage("audit", "keygen").returncode == 0
        witness.parent.mkdir(mode=0o700, exist_ok=True)
        witness.touch(mode=0o640)
        result = manage("check", "--deploy")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout
    finally:
        subprocess.run([dropdb, "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name],
                       capture_output=True, check=False)
        shutil.rmtree(witness.parent, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)
