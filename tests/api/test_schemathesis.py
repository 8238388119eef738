"""The bounded schemathesis gate (issue 9 item 11; R-OPS-1, R-OPS-8; docs/api.md).

A live server on loopback (gunicorn, test mode, a fresh database: a new SQLite file, or a new
PostgreSQL database beside the suite's when DATABASE_URL names one) is fuzzed from its own
OpenAPI document with a fixed seed and a few examples per operation. The run fails on any 5xx,
any response that breaks its documented schema or content type, and any undocumented status.

Principals: the demo administrator (TOTP enrolled, as R-OPS-1 requires of staff) with an API
token holding every permission the role has — the gate the issue asks for — and, since least
privilege (R-OPS-8) keeps an administrator out of cases, customers and the audit log, the demo
supervisor and auditor (TOTP enrolled too) on the operations the administrator is refused. Each
token is issued by the operator's path (``token_issue`` by a system actor), as the CLI does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from safeguard.accounts import rbac

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SEED = 20260309
EXAMPLES = 3  # per operation and phase: a bounded run, not an exhaustive one
CHECKS = ",".join([
    "not_a_server_error",           # any 5xx
    "status_code_conformance",      # a status the document does not declare
    "content_type_conformance",     # a content type the document does not declare
    "response_schema_conformance",  # a body that breaks its declared schema
])
PHASES = "examples,coverage,fuzzing"
# A guard against a hung run, not a speed assertion: the runs together take about 25 s on an
# idle two-core machine, two minutes on a loaded one (docs/api.md); past this the gate fails.
RUN_TIMEOUT = int(os.environ.get("SAFEGUARD_FUZZ_TIMEOUT", "540"))  # a loaded CI host may raise it
PRINCIPALS = ("admin@demo.safeguard.test", "supervisor@demo.safeguard.test",
              "auditor@demo.safeguard.test", "analyst@demo.safeguard.test")
# A payment-gateway/integration service account for the operations no person may call (tokenize,
# detokenize, message ingest: R-OPS-8, issue 9 item 3): the gate fuzzes those too.
GATEWAY = "gateway@schemathesis.test"
GATEWAY_SCOPES = ("protection.tokenize", "protection.detokenize", "channels.ingest")

# Run inside the server's environment: migrate the fresh database, load the accounts and
# protection demo data (users with TOTP enrolled; keys), issue one token per principal.
BOOTSTRAP = """
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from safeguard.accounts import demo as accounts_demo, selectors, services
from safeguard.protection import demo as protection_demo
from safeguard.audit.contracts import Actor
accounts_demo.load(say=lambda s: None)
protection_demo.load(say=lambda s: None)
actor = Actor.system("schemathesis")
out = {}
for email in sys.argv[1:]:
    user = selectors.user_get_by_email(email=email)
    scopes = sorted(selectors.user_permissions(user_id=user.id))
    out[email] = {"token": services.token_issue(actor=actor, user_id=user.id, name="fuzzing",
                                                scopes=scopes, expires_in_days=1).secret,
                  "permissions": scopes}
services.role_create(actor=actor, slug="gateway", name="Gateway", permissions=GATEWAY_SCOPES)
gateway = services.user_create(actor=actor, email=GATEWAY, is_service_account=True,
                               roles=["gateway"])
out[GATEWAY] = {"token": services.token_issue(actor=actor, user_id=gateway.id, name="fuzzing",
                                              scopes=list(GATEWAY_SCOPES),
                                              expires_in_days=1).secret,
                "permissions": list(GATEWAY_SCOPES)}
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _fresh_database(tmp: Path) -> Iterator[str]:
    """A DATABASE_URL for a database nobody else uses (dropped afterwards on PostgreSQL)."""
    current = os.environ.get("DATABASE_URL", "")
    if not current.startswith("postgres"):
        yield f"sqlite:///{tmp / 'fuzz.sqlite3'}"
        return
    import psycopg

    name = f"sg_fuzz_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(current)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def live_api(tmp_path_factory) -> Iterator[tuple[str, dict[str, dict], Path]]:
    """(base URL, {email: {token, permissions}}, server log) of a gunicorn server on a free
    loopback port."""
    tmp = tmp_path_factory.mktemp("fuzz")
    with _fresh_database(tmp) as database_url:
        yield from _serve(tmp, database_url)


def _serve(tmp: Path, database_url: str) -> Iterator[tuple[str, dict[str, dict], Path]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env.update(SAFEGUARD_ENV="test", SAFEGUARD_DATA_DIR=str(tmp / "data"),
               DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="safeguard.settings",
               # Test mode runs jobs inline (HUEY_IMMEDIATE), so a key rotation's settle wait
               # (the keyset cache period) would hold the request; as in the suite's conftest,
               # no process cache: rotations settle at once.
               SAFEGUARD_KEYSET_CACHE_SECONDS="0",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    boot = subprocess.run([sys.executable, "-c",
                           f"GATEWAY = {GATEWAY!r}\nGATEWAY_SCOPES = {GATEWAY_SCOPES!r}\n"
                           + BOOTSTRAP, *PRINCIPALS], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert boot.returncode == 0, boot.stderr[-3000:]
    principals = json.loads(boot.stdout.strip().splitlines()[-1])
    port = _free_port()
    log_path = tmp / "gunicorn.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "safeguard.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--timeout", "60", "--access-logfile", "-"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=5) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield base, principals, log_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def _schemathesis(base: str, token: str, report: Path, *, operation_ids: list[str] | None,
                  timeout: float) -> subprocess.CompletedProcess[str]:
    command = [
        str(BIN / "schemathesis"), "run", base + "/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS, "--phases", PHASES,
        "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--generation-deterministic",
        # One worker: hypothesis's lambda descriptions call ast.parse, which is not thread-safe
        # on CPython 3.11 ("AST constructor recursion depth mismatch").
        "--no-shrink", "--workers", "1",
        "--request-timeout", "30", "--no-color", "--suppress-health-check", "all",
        "--report", "junit", "--report-junit-path", str(report),
    ]
    for operation_id in operation_ids or ():
        command += ["--include-operation-id", operation_id]
    # Run in the test's directory: schemathesis keeps a crash cache in ./.schemathesis.
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                          cwd=report.parent)


def test_schemathesis_finds_no_5xx_schema_violation_or_undocumented_status(live_api, tmp_path):
    base, principals, server_log = live_api
    with urllib.request.urlopen(base + "/api/v1/openapi.json") as r:  # noqa: S310 - loopback
        document = json.load(r)
    operations = {d["operationId"]: d["x-permission"]
                  for methods in document["paths"].values() for d in methods.values()}
    admin, *others = PRINCIPALS
    started = time.monotonic()
    # given the administrator's token: every operation, refused or not
    runs = [(admin, None)]
    # and, for the operations it is refused, a principal holding their permission
    uncovered = {op for op, perm in operations.items()
                 if perm not in principals[admin]["permissions"] and perm != rbac.AUTHENTICATED}
    for email in (*others, GATEWAY):
        mine = sorted(op for op in uncovered
                      if operations[op] in principals[email]["permissions"])
        uncovered -= set(mine)
        if mine:
            runs.append((email, mine))
    # every operation is fuzzed by someone allowed to call it (the gateway: service-only ones)
    assert uncovered == set()
    assert runs[-1] == (GATEWAY, sorted(op for op, perm in operations.items()
                                        if perm in GATEWAY_SCOPES))
    # when schemathesis fuzzes each run, within one time budget
    outputs = []
    for index, (email, operation_ids) in enumerate(runs):
        remaining = RUN_TIMEOUT - (time.monotonic() - started)
        assert remaining > 10, "the schemathesis budget is spent"
        t0 = time.monotonic()
        result = _schemathesis(base, principals[email]["token"], tmp_path / f"run{index}.xml",
                               operation_ids=operation_ids, timeout=remaining)
        cases = re.search(r"(\d+) generated", result.stdout)
        print(f"schemathesis as {email}: {time.monotonic() - t0:.1f} s, "  # noqa: T201
              f"{cases.group(1) if cases else '?'} cases")
        outputs.append((email, result))
    # then every run passed: no 5xx, no schema or content-type violation, no undocumented status
    failed = [f"--- {email}\n{r.stdout[-6000:]}\n{r.stderr[-2000:]}"
              for email, r in outputs if r.returncode != 0]
    errors = [line for line in server_log.read_text().splitlines()
              if '"level": "error"' in line][-5:]
    assert failed == [], "\n".join([*failed, "--- server errors", *errors])
    tested = [int(re.search(r"Tested: (\d+)", r.stdout).group(1)) for _, r in outputs]
    assert tested == [len(operations), *(len(ids or ()) for _, ids in runs[1:])]
