"""Rotation ends only after the keyset cache period and a final sweep that found nothing under
the old key; a job killed with kill -9 is detected as stale and resumed (issue 17 item 7)."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from safeguard.audit import selectors as audit
from safeguard.customers import services as customers
from safeguard.customers.models import Customer
from safeguard.protection import keyring, rotation, selectors, services
from safeguard.protection.contracts import KeysError
from safeguard.protection.models import RotationJob
from tests.factories import SYSTEM
from tests.protection.conftest import PAN_AMEX, PAN_MC2, PAN_VISA

pytestmark = pytest.mark.django_db


def test_rotation_with_a_live_writer_holding_a_cached_keyset_ends_with_nothing_old(settings):
    # given three cards under the first data key, and a writer process that cached the keyset
    settings.SAFEGUARD_KEYSET_CACHE_SECONDS = 2
    for pan in (PAN_VISA, PAN_MC2, PAN_AMEX):
        services.token_tokenize(pan=pan, actor=SYSTEM)
    old = keyring.primary_key_id("data")
    cached = keyring._load("data")
    job = services.keys_rotate(keysets=["data"], actor=SYSTEM, enqueue=False)
    loaded_at = time.monotonic()  # the writer's cache stays valid for 2 s from here
    written: list[int | None] = []  # the key id each late write was encrypted under

    def writer(label: str, scanned: int) -> None:
        # the writer (another process, simulated by its cache) saves a customer after the job
        # has passed the customers table: it encrypts under the primary it still caches
        if label != "protection.token":
            return
        with keyring._lock:
            keyring._keysets["data"] = dataclasses.replace(cached, checked_at=loaded_at)
        created = customers.customer_create(actor=SYSTEM, name=f"Late Writer {len(written)}")
        blob = Customer.objects.values_list("name", flat=True).get(id=created.id)
        written.append(keyring.ciphertext_key_id(bytes(blob)))

    # when the job runs with one row per batch
    view = services.keys_reencrypt(job_id=job.id, batch_size=1, progress=writer)
    # then the writer did leave rows under the old key behind the job's cursor ...
    late_old = written.count(old)
    assert late_old >= 1
    assert written[0] == old
    # ... and the job still ended with nothing under the old key, after more than one pass
    assert view.status == "done"
    assert view.passes >= 2
    assert old not in rotation.usage()["data"]
    assert view.rewritten >= 3 + late_old
    job_row = RotationJob.objects.get(id=job.id)
    assert job_row.pass_started_at >= job_row.settle_after


def _killed_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.kill(child.pid, signal.SIGKILL)  # kill -9
    child.wait()
    return child.pid


def test_a_job_killed_with_kill_9_is_stale_and_resumable_with_resume():
    for pan in (PAN_VISA, PAN_MC2, PAN_AMEX):
        services.token_tokenize(pan=pan, actor=SYSTEM)
    job = services.keys_rotate(keysets=["data"], actor=SYSTEM, enqueue=False)
    partial = services.keys_reencrypt(job_id=job.id, batch_size=1, max_batches=1)
    assert partial.status == "running"
    # given its runner was killed with kill -9 (the row still says "running")
    dead = f"{socket.gethostname()}:{_killed_pid()}"
    RotationJob.objects.filter(id=job.id).update(runner=dead)
    # then status shows it stale
    view = selectors.keys_status().jobs[0]
    assert (view.id, view.status, view.stale) == (job.id, "running", True)
    out = io.StringIO()
    call_command("keys", "status", stdout=out)
    assert "STALE" in out.getvalue()
    assert f"keys rotate --resume {job.id}" in out.getvalue()
    # when an operator resumes it
    out = io.StringIO()
    call_command("keys", "rotate", "--resume", str(job.id), stdout=out)
    # then it finishes, and the resume is audited with the OS user and the dead runner
    assert RotationJob.objects.get(id=job.id).status == "done"
    resumed = audit.event_list(action="keys.reencrypt_resumed")[0]
    assert resumed.data["was_stale"] is True
    assert "os user" in resumed.actor.label
    assert resumed.data["previous_runner"] == dead


def test_a_job_held_by_a_live_runner_is_not_taken_over():
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    job = services.keys_rotate(keysets=["data"], actor=SYSTEM, enqueue=False)
    services.keys_reencrypt(job_id=job.id, batch_size=1, max_batches=1)
    # given another live process holds it (our parent is alive)
    RotationJob.objects.filter(id=job.id).update(runner=f"{socket.gethostname()}:{os.getppid()}")
    with pytest.raises(KeysError, match="is running"):
        services.keys_reencrypt(job_id=job.id)


def test_an_interrupted_job_is_audited_and_resumable():
    for pan in (PAN_VISA, PAN_MC2):
        services.token_tokenize(pan=pan, actor=SYSTEM)
    job = services.keys_rotate(keysets=["data"], actor=SYSTEM, enqueue=False)

    def interrupt(label: str, scanned: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.keys_reencrypt(job_id=job.id, batch_size=1, progress=interrupt)
    assert RotationJob.objects.get(id=job.id).status == "failed"
    assert audit.event_list(action="keys.reencrypt_interrupted")[0].outcome == "failure"
    assert audit.event_list(action="keys.reencrypt_started")
    assert services.keys_reencrypt(job_id=job.id).status == "done"
