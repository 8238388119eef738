"""The affected-customer list on the demo data matches the audit log exactly (issue 12, "Tests
that must exist"; R-IR-6): the demo contact centre is loaded (``safeguard demo --no-serve`` at a
small scale, in its own data directory), then the demo agent opens every demo customer through
the real read path — some reads allowed, the rest denied by the agent's scope — and the
supervisor opens a few. The list computed for the agent must equal, customer by customer and
sequence number by sequence number, what a plain SQL read of the audit table says the agent
read successfully; the supervisor's reads and the denials must not appear, and every row must
carry a jurisdiction code from the address on file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCALE = "0.005"
READS = ("customer.viewed", "customer.revealed", "customer.searched", "customer.listed",
         "case.viewed")

# Runs inside the demo's environment (its data directory, its keys): the insider reads, then the
# list is computed by the incidents selector and printed as JSON.
SCRIPT = r"""
import json, django
django.setup()
from datetime import timedelta
from django.utils import timezone
from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.customers import selectors as customers
from safeguard.customers.contracts import CustomerNotFound
from safeguard.customers.models import Customer
from safeguard.incidents import selectors

def principal(email):
    user = accounts.user_get_by_email(email=email)
    return Principal(user_id=user.id, email=user.email, via="session",
                     permissions=accounts.user_permissions(user_id=user.id))

agent = principal("agent@demo.safeguard.test")
supervisor = principal("supervisor@demo.safeguard.test")
since = timezone.now() - timedelta(seconds=1)
ids = sorted(str(i) for i in Customer.objects.filter(kind="customer").values_list("id", flat=True))
allowed = denied = 0
for cid in ids:
    try:
        customers.customer_get(viewer=agent, customer_id=cid)
        allowed += 1
    except CustomerNotFound:
        denied += 1
for cid in ids[:3]:
    customers.customer_get(viewer=supervisor, customer_id=cid)
audit.integrate(wait=True)
until = timezone.now() + timedelta(seconds=1)
rows = selectors.affected_customers(actor=Actor.system("test"),
                                    suspect=selectors.Suspect("user", str(agent.user_id)),
                                    since=since, until=until)
print(json.dumps({"agent": agent.user_id, "since": since.isoformat(), "until": until.isoformat(),
                  "allowed": allowed, "denied": denied, "customers": len(ids),
                  "rows": {r.customer: {"seqs": list(r.event_seqs),
                                        "jurisdictions": list(r.jurisdictions)}
                           for r in rows}}))
"""


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
    env.update(SAFEGUARD_ENV="demo", SAFEGUARD_DATA_DIR=str(data), SAFEGUARD_DEMO_SCALE=SCALE,
               DJANGO_SETTINGS_MODULE="safeguard.settings")
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def _oracle(db: Path, agent_id: int) -> dict[str, list[int]]:
    """Straight from the audit table: customer id -> the agent's successful reads of it."""
    out: dict[str, list[int]] = {}
    marks = ",".join("?" for _ in READS)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            f"SELECT seq, action, subject_type, subject_id, data FROM audit_event "
            f"WHERE actor_kind = 'user' AND actor_id = ? AND outcome = 'success' "
            f"AND action IN ({marks}) ORDER BY seq", (str(agent_id), *READS)).fetchall()
    for seq, action, subject_type, subject_id, data in rows:
        body = json.loads(data or "{}")
        named = ([str(c) for c in body.get("customer_ids") or []]
                 if action in ("customer.searched", "customer.listed")
                 else [subject_id] if subject_type == "customer" else [])
        for cid in named:
            out.setdefault(cid, []).append(seq)
    return out


def test_the_affected_list_on_the_demo_data_matches_the_audit_log(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = _env(data)
    loaded = _run(["-m", "safeguard.cli", "demo", "--no-serve"], env)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    run = _run(["-c", SCRIPT], env)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # the insider read some customers and was refused the others
    assert result["allowed"] > 0
    assert result["allowed"] + result["denied"] == result["customers"]
    expected = _oracle(data / "safeguard.sqlite3", result["agent"])
    got = {cid: row["seqs"] for cid, row in result["rows"].items()}
    assert got == expected
    assert len(got) == result["allowed"]
    # every row names a jurisdiction from the address on file (demo US addresses have no state)
    codes = {c for row in result["rows"].values() for c in row["jurisdictions"]}
    assert codes <= {"UK-GDPR", "unknown"}
    assert codes
