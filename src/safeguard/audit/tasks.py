"""Periodic jobs of the audit log: a signed tree head every minute, exported to the witness."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from safeguard.audit import services
from safeguard.audit.contracts import TreeHeadView
from safeguard.audit.siem import tasks as _siem_tasks  # noqa: F401 - registers the SIEM job

logger = logging.getLogger(__name__)


def witness_export(head: TreeHeadView) -> None:
    """Hand a signed head to the external witnesses: a file (SAFEGUARD_AUDIT_WITNESS_FILE,
    fsynced JSON lines) and/or a syslog peer (SAFEGUARD_AUDIT_WITNESS_SYSLOG, a sink URL).

    Point them at storage the database administrator cannot rewrite (another host, a WORM
    mount, the SIEM): comparing them with the log detects a rewritten history.
    """
    doc = {"size": head.size, "root_hash": head.root_hash,
           "signed_at": head.signed_at.isoformat(), "key_id": head.key_id,
           "signature": head.signature}
    line = json.dumps(doc, sort_keys=True)
    path = getattr(settings, "SAFEGUARD_AUDIT_WITNESS_FILE", "")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    url = getattr(settings, "SAFEGUARD_AUDIT_WITNESS_SYSLOG", "")
    if url:
        from safeguard.audit.contracts import Actor, EventView
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


@db_periodic_task(crontab(minute="*"), name="audit.sign_tree_head")
@lock_task("audit.sign_tree_head")
def sign_tree_head() -> None:
    """Every minute: sign the tree if it grew, then hand the head to the witness."""
    head = services.head_sign()
    if head is not None:
        witness_export(head)
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
