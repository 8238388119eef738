"""Every audit export carries its SHA-256 and is itself recorded with it (R-IR-5)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from safeguard.audit import selectors, services
from safeguard.audit.contracts import Actor
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("fmt", "rows"), [("csv", 4), ("jsonl", 4)])
def test_an_export_carries_its_digest_and_the_recorded_event_holds_it(fmt: str,
                                                                      rows: int) -> None:
    client = signed_in_client(make_user(roles=("security_analyst",)))
    for i in range(rows):
        services.record(action="case.viewed", actor=Actor(kind="user", id="3", label="a@b.c"),
                        subject=("case", i))
    response = client.get(f"/audit/export/?action=case.viewed&format={fmt}")
    body = b"".join(response.streaming_content)
    digest = hashlib.sha256(body).hexdigest()
    assert response["X-Content-SHA256"] == digest
    assert response["Repr-Digest"] == \
        f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"
    recorded = selectors.event_list(action="audit.exported")[0]
    assert (recorded.data["sha256"], recorded.data["rows"]) == (digest, rows)


def test_an_export_larger_than_the_memory_spool_goes_to_disk_with_the_same_digest(
        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safeguard.audit import views

    client = signed_in_client(make_user(roles=("security_analyst",)))
    for i in range(5):
        services.record(action="case.viewed", actor=Actor(kind="user", id="3", label="a@b.c"),
                        subject=("case", i))
    small = b"".join(client.get("/audit/export/?action=case.viewed&format=jsonl")
                     .streaming_content)
    monkeypatch.setattr(views, "_SPOOL_BYTES", 10)
    response = client.get("/audit/export/?action=case.viewed&format=jsonl")
    body = b"".join(response.streaming_content)
    assert body == small
    assert len(body.splitlines()) == 5
    assert response["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    assert selectors.event_list(action="audit.exported")[0].data["sha256"] == \
        hashlib.sha256(body).hexdigest()
