"""Signed heads reach the external witnesses: a file and a real syslog peer (R-IR-5)."""

from __future__ import annotations

import json

import pytest

from safeguard.audit import services, tasks
from safeguard.audit.contracts import Actor

pytestmark = pytest.mark.django_db


def test_signed_head_goes_to_the_witness_file_and_the_syslog_peer(rsyslog, settings, tmp_path):
    # given a witness file and a syslog witness
    settings.SAFEGUARD_AUDIT_WITNESS_FILE = str(tmp_path / "witness.jsonl")
    (tmp_path / "witness.jsonl").touch()  # the operator creates it once; the job never does
    settings.SAFEGUARD_AUDIT_WITNESS_SYSLOG = f"syslog+tcp://127.0.0.1:{rsyslog.port}"
    services.record(action="case.viewed", actor=Actor.system("t"))
    # when the periodic job signs a head
    tasks.sign_tree_head()
    # then both witnesses hold the same signed head
    line = (tmp_path / "witness.jsonl").read_text().strip()
    head = json.loads(line)
    assert head["size"] == 1
    received = rsyslog.wait_for_lines(1)
    assert "audit.tree_head" in received[0]
    assert head["root_hash"] in received[0]
    assert head["signature"] in received[0]
