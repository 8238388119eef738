"""Jobs of the audit log: the integrator (after commits that hand over, and every minute as the
safety net), a signed tree head every minute exported to the witness, nightly verification."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from safeguard.audit import selectors, services
from safeguard.audit.contracts import Actor, TreeHeadView
from safeguard.audit.siem import tasks as _siem_tasks  # noqa: F401 - registers the SIEM job
from safeguard.audit.verification import witness_last_size

logger = logging.getLogger(__name__)


def _witness_alarm(action: str, path: str, detail: str) -> None:
    """A witness that is missing or behind is an alert, never repaired silently (issue 17)."""
    logger.error(action, extra={"path": path, "detail": detail})
    services.record(action=action, actor=Actor.system("audit"), outcome="failure",
                    subject=("audit_witness", path), data={"detail": detail})


def witness_export(head: TreeHeadView, *, previous_size: int | None = None) -> None:
    """Hand a signed head to the external witnesses: a file (SAFEGUARD_AUDIT_WITNESS_FILE,
    fsynced JSON lines) and/or a syslog peer (SAFEGUARD_AUDIT_WITNESS_SYSLOG, a sink URL).

    Point them at storage the database administrator cannot rewrite (another host, a WORM
    mount, the SIEM): comparing them with the log detects a rewritten history. The file is never
    created here — the operator creates it once (docs/deploy.md) — so a deleted witness stays
    deleted and raises an alert (an audit event and an error log line) on every head instead
    of being recreated; so does a witness that lacks the head signed before (``previous_size``).
    """
    doc = {"size": head.size, "root_hash": head.root_hash,
           "signed_at": head.signed_at.isoformat(), "key_id": head.key_id,
           "signature": head.signature}
    line = json.dumps(doc, sort_keys=True)
    path = getattr(settings, "SAFEGUARD_AUDIT_WITNESS_FILE", "")
    if path:
        last = witness_last_size(Path(path))
        if last is None:
            _witness_alarm("audit.witness_missing", path,
                           "the witness file is missing; it is not recreated (restore it from "
                           "its copy or investigate: audit verify fails until then)")
        else:
            if last and previous_size and last < previous_size:
                _witness_alarm("audit.witness_behind", path,
                               f"the witness ends at tree size {last} but a head was signed at "
                               f"{previous_size}: it was cut or missed heads")
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)  # never O_CREAT
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
    url = getattr(settings, "SAFEGUARD_AUDIT_WITNESS_SYSLOG", "")
    if url:
        from safeguard.audit.contracts import EventView
        from safeguard.audit.siem import config as siem_config
        from safeguard.audit.siem import sinks

        spec = sinks.parse_sink_url(url)
        tls = siem_config.tls_context() if spec.scheme == "syslog+tls" else None
        sink = sinks.build_sink(spec, fmt="ocsf", tls=tls)
        # A head travels as a pseudo-event: MSGID audit.tree_head, seq = tree size.
        event = EventView(seq=head.size, at=head.signed_at, actor=Actor.system("audit"),
                          action="audit.tree_head", subject_type="", subject_id="",
                          outcome="success", source_ip=None, user_agent="", request_id="",
                          data=doc)
        try:
            sink.send([sinks.Record(event=event, payload=line)])
        finally:
            sink.close()


@db_task(name="audit.integrate")
def integrate_job() -> None:
    """Integrate the queue to its end (a long queue an after-commit run handed over)."""
    services.integrate()


@db_periodic_task(crontab(minute="*"), name="audit.integrate_periodic")
def integrate_periodic() -> None:
    """Every minute, the safety net: integrate whatever no after-commit run picked up (a
    process that died between its commit and its run, a failed run). Concurrent runs are safe:
    the integrator lock admits one, the others return at once (decision 0180)."""
    count = services.integrate(max_ms=50_000)  # under a minute; the rest is handed over
    if count:
        logger.info("audit.integrated_by_safety_net", extra={"count": count})


@db_periodic_task(crontab(minute="*"), name="audit.sign_tree_head")
@lock_task("audit.sign_tree_head")
def sign_tree_head() -> None:
    """Every minute: integrate what is queued, sign the tree if it grew, hand the head to the
    witness."""
    services.integrate(max_ms=settings.SAFEGUARD_AUDIT_INTEGRATION_RUN_MS)
    previous = selectors.head_latest()
    head = services.head_sign()
    if head is not None:
        witness_export(head, previous_size=previous.size if previous else None)
        logger.info("audit.tree_head_signed", extra={"size": head.size})


@db_periodic_task(crontab(minute="17", hour="3"), name="audit.verify_nightly")
@lock_task("audit.verify")
def verify_nightly() -> None:
    """Every night: verify the whole log; the result is on the audit page."""
    from safeguard.audit import verification

    report = verification.verify(triggered_by="job:nightly")
    if not report.ok:
        logger.error("audit.verification_failed", extra={"first_bad_seq": report.first_bad_seq})




@db_task(name="audit.verify_run")
@lock_task("audit.verify")
def verify_run(run_id: int) -> None:
    """Carry out a verification run started from the audit page."""
    from safeguard.audit import verification
    from safeguard.audit.models import VerificationRun

    run = VerificationRun.objects.filter(id=run_id, finished_at__isnull=True).first()
    if run is None:
        return  # already done: a retried job changes nothing
    verification.verify(from_seq=run.from_seq, run_id=run.id)
