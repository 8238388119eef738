"""Writes of the audit log (R-IR-5, R-OPS-8): ``record`` is the one way in; tree heads are signed.

``record`` must be called inside the transaction of the action it describes, so the action and
its event commit or roll back together. Appends are serialised through a row lock on the
sequence row, so concurrent writers — any number of web and worker processes — produce one
gap-free total order. Each append also extends the Merkle tree: the event's leaf hash, the
nodes it completes, and the frontier, all in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from safeguard.audit import context, merkle, signing
from safeguard.audit.contracts import Actor, AuditError, TreeHeadView
from safeguard.audit.entries import canonical_entry, normalise_data, normalise_ip
from safeguard.audit.models import Event, Node, Sequence, TreeHead

logger = logging.getLogger(__name__)

OUTCOMES = frozenset({"success", "failure", "denied"})


def _sanitiser() -> Callable[[str], str]:
    """The function that masks card numbers in free text callers do not control (a User-Agent
    an attacker chose), named by SAFEGUARD_AUDIT_TEXT_SANITISER — the protection app's, so that
    recording an event never trips the no-PAN guard. The audit core imports no app above it."""
    return import_string(settings.SAFEGUARD_AUDIT_TEXT_SANITISER)


def _sanitise_data(value: Any, clean: Callable[[str], str]) -> Any:
    """Walk a JSON value (after ``normalise_data``): every key and string through ``clean``,
    integers through their decimal text (a card number passed as a number is masked too)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        text = str(value)
        masked = clean(text)
        return value if masked == text else masked
    if isinstance(value, dict):
        return {clean(k): _sanitise_data(v, clean) for k, v in value.items()}
    if isinstance(value, list):
        return [_sanitise_data(v, clean) for v in value]
    return value


def record(
    *,
    action: str,
    actor: Actor,
    subject: tuple[str, object] | None = None,
    outcome: str = "success",
    data: Mapping[str, Any] | None = None,
) -> int:
    """Append one event and return its sequence number; joins the caller's transaction.

    ``data`` holds ids and screened values only — never customer PII. Card-like values in any
    text the caller passes (actor, subject id, every key, string and integer inside ``data``) are
    masked by the configured sanitiser instead of failing the write, so an event about hostile
    input — a denial above all — is always recorded (R-IR-5, R-OPS-2).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
    if not action or "." not in action or len(action) > 80:
        raise ValueError("action must be a dotted name such as 'case.viewed'")
    ctx = context.current()
    clean = _sanitiser()
    fields = {
        "at": timezone.now(),
        "actor_kind": actor.kind,
        "actor_id": clean(actor.id)[:64],
        "actor_label": clean(actor.label)[:254],
        "action": action,
        "subject_type": subject[0][:40] if subject else "",
        "subject_id": clean(str(subject[1]))[:64] if subject else "",
        "outcome": outcome,
        "source_ip": normalise_ip(ctx.source_ip),
        "user_agent": clean(ctx.user_agent)[:400],
        "request_id": clean(ctx.request_id)[:64],
        "data": _sanitise_data(normalise_data(dict(data or {})), clean),
    }
    # No savepoint: a failed append must fail the caller's whole transaction, so no action can
    # commit without its event (and the append is two statements cheaper).
    with transaction.atomic(savepoint=False):
        counter = Sequence.objects.select_for_update().filter(id=1).first()
        if counter is None:
            Sequence.objects.get_or_create(id=1)
            counter = Sequence.objects.select_for_update().get(id=1)
        seq = counter.last_seq + 1
        frontier = merkle.CompactRange.from_hex(counter.last_seq, counter.frontier)
        leaf = merkle.leaf_hash(canonical_entry(seq=seq, **fields))
        completed = frontier.append(leaf)
        Event.objects.create(seq=seq, leaf_hash=leaf.hex(), **fields)
        if len(completed) > 1:
            Node.objects.bulk_create(
                [Node(level=n.level, index=n.index, hash=n.hash.hex()) for n in completed[1:]])
        counter.last_seq = seq
        counter.frontier = frontier.to_hex()
        counter.save(update_fields=["last_seq", "frontier"])
    return seq


def _head_view(h: TreeHead) -> TreeHeadView:
    return TreeHeadView(size=h.size, root_hash=h.root_hash, signed_at=h.signed_at,
                        key_id=h.key_id, signature=h.signature)


@transaction.atomic
def head_sign(*, force: bool = False) -> TreeHeadView | None:
    """Sign the current tree if it grew since the last head (or always with ``force``).

    The new head is checked for consistency with the previous one through a consistency proof
    from stored nodes; an inconsistent tree is refused loudly, not signed.
    """
    counter = Sequence.objects.select_for_update().filter(id=1).first()
    size = counter.last_seq if counter else 0
    root = merkle.CompactRange.from_hex(size, counter.frontier if counter else []).root()
    previous = TreeHead.objects.order_by("-size", "-id").first()
    if previous is not None and previous.size == size and not force:
        return None
    if previous is not None and previous.size > 0:
        from safeguard.audit import proofs

        path = proofs.consistency_path(previous.size, size)
        if not merkle.verify_consistency(previous.size, size, bytes.fromhex(previous.root_hash),
                                         root, path):
            logger.error("audit.head_inconsistent", extra={"previous": previous.size,
                                                           "size": size})
            raise AuditError(f"The tree at size {size} is not consistent with the signed head "
                             f"at size {previous.size}: the log was altered.")
    signer = signing.get_signer()
    now = timezone.now()
    from safeguard.audit.entries import format_time

    message = signing.head_message(size=size, root_hash=root.hex(),
                                   signed_at_iso=format_time(now))
    head = TreeHead.objects.create(size=size, root_hash=root.hex(), signed_at=now,
                                   key_id=signer.key_id,
                                   signature=signing.b64(signer.sign(message)))
    return _head_view(head)
