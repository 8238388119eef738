"""A retention sweep with a legal hold, killed with SIGKILL in the middle of a batch in another
process and resumed (R-DATA-3; ARCHITECTURE invariant: a crashed job resumes without loss or
duplication): the batch in flight is rolled back, the committed ones stay, the resumed run acts
on every due record exactly once, never on the held one, and CSAT, FCR and ASA are the same
after the anonymisation as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from safeguard.audit.models import Event
from safeguard.cases import selectors as case_selectors
from safeguard.cases.contracts import Period
from safeguard.cases.models import Case
from safeguard.privacy import services
from safeguard.privacy.models import Disposition, SweepRun
from tests.factories import SYSTEM, make_user
from tests.privacy.conftest import T0, closed_mail_case, make_agent, make_queue, principal_for

LATER = T0 + timedelta(days=3 * 365)
KPI_PERIOD = Period(start=T0 - timedelta(days=1), end=T0 + timedelta(days=2))

# The child: a real sweep in batches of one whose third anonymisation does its work inside
# the batch's open transaction, says so, and then hangs until it is killed.
KILLED_SWEEP = f"""
import sys, time
import django
django.setup()
import time_machine
from datetime import datetime
from safeguard.audit.contracts import Actor
from safeguard.cases import services as case_services
from safeguard.privacy import services

real = case_services.case_anonymise
calls = {{"n": 0}}

def anonymise_then_hang(**kwargs):
    calls["n"] += 1
    changed = real(**kwargs)
    if calls["n"] == 3:
        with open(sys.argv[1], "w") as fh:
            fh.write(kwargs["case_id"])
        time.sleep(120)
    return changed

case_services.case_anonymise = anonymise_then_hang
with time_machine.travel(datetime.fromisoformat("{LATER.isoformat()}"), tick=False):
    services.sweep_run(actor=Actor.system("test.killed_sweep"), batch=1)
"""


def _kpis():
    return (case_selectors.csat(period=KPI_PERIOD), case_selectors.fcr(period=KPI_PERIOD),
            case_selectors.asa(period=KPI_PERIOD))


@pytest.mark.django_db(transaction=True)
def test_a_sweep_killed_mid_batch_resumes_without_loss_duplication_or_touching_the_hold(
        tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("a second process on the same database needs a server database "
                    "(run with DATABASE_URL=postgres)")
    # a transactional test starts from a flushed database: the built-in roles are gone
    from safeguard.accounts import services as accounts

    accounts.roles_ensure_builtin()
    # given five closed cases due for anonymisation, with survey answers, and one under a hold
    make_queue("billing")
    agent = make_agent("billing")
    due = [closed_mail_case(agent, email=f"c{i}@example.com", csat=1 + i) for i in range(5)]
    held = closed_mail_case(agent, email="held@example.com", csat=5)
    services.legal_hold_place(principal=principal_for(make_user(roles=("privacy_officer",))),
                              scope="customer", target_id=str(held.customer_id),
                              reason="Litigation 2025-17")
    kpis_before = _kpis()
    assert kpis_before[0].total == 6
    # when a sweep process is killed (SIGKILL) with its third case's batch open
    db = connection.settings_dict
    url = (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
           f"{db['NAME']}")
    marker = tmp_path / "mid-batch"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "safeguard.settings",
           "SAFEGUARD_ENV": "test",
           # the same dev key-encryption key as this test (tests/conftest.py gives each its own)
           "SAFEGUARD_DEV_KEK_FILE": str(settings.SAFEGUARD_DEV_KEK_FILE),
           "SAFEGUARD_KEK_RUNTIME_DIR": str(settings.SAFEGUARD_KEK_RUNTIME_DIR),
           "SAFEGUARD_KEK_RUNTIME_ALLOW_DISK": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(services.__file__).parents[2]),
                                          os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", KILLED_SWEEP, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the sweep never reached its third case"
        in_flight = marker.read_text()
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    # then the two committed batches stay, the one in flight left nothing behind
    run = SweepRun.objects.get()
    assert run.status == "running"
    assert Disposition.objects.filter(run=run).count() == 2
    assert in_flight not in set(Disposition.objects.values_list("record_id", flat=True))
    assert Case.objects.get(id=in_flight).subject != ""
    assert not Event.objects.filter(action="case.anonymised", subject_id=in_flight).exists()
    # when the next sweep starts, it resumes that run
    with time_machine.travel(LATER, tick=False):
        view = services.sweep_run(actor=SYSTEM, batch=1)
    assert view.id == run.id
    assert view.status == "finished"
    # then every due case was anonymised exactly once, the held one never
    assert view.counts == {"case:anonymise": 5}
    assert view.held == 1
    anonymised = list(Event.objects.filter(action="case.anonymised")
                      .values_list("subject_id", flat=True))
    assert sorted(anonymised) == sorted(str(c.id) for c in due)
    assert all(Case.objects.get(id=c.id).subject == "" for c in due)
    assert Case.objects.get(id=held.id).subject != ""
    # and the KPIs are the same: scores, timestamps and queues were kept
    assert _kpis() == kpis_before
