"""`audit verify`: recompute the tree from stored events and check every signed head (R-IR-5).

Streams events in sequence order in fixed-size chunks (constant memory on a log of millions) and
reports the first event that differs:

* ``gap`` — an event is missing (deleted) or the numbering jumps;
* ``content`` — an event's fields no longer hash to its recorded leaf (modified, or moved:
  the sequence number is part of what is hashed, so reordering shows up here too);
* ``beyond-counter`` — events after the committed end of the log (inserted);
* ``root`` — a signed head's root differs from the recomputed one: an event and its recorded
  hash were rewritten together; the first bad event lies after the previous good head;
* ``signature`` / ``unknown-key`` — a head whose signature does not verify (forged);
* ``truncated`` — a head covers more events than the log holds;
* ``witness-missing`` / ``witness-behind`` — the configured witness file does not exist, or
  lacks the latest head the database holds (cut, deleted, or not fed): issue 17;
* ``unintegrated`` — a committed entry has waited in the queue longer than the integration
  bound (``SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS``): the integrator is stalled, an incident
  rather than a silent gap (issue 10, decision 0180).
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from safeguard.audit import merkle, signing
from safeguard.audit.contracts import Problem, SnapshotCheck, VerificationReport
from safeguard.audit.entries import canonical_entry, format_time
from safeguard.audit.models import (
    Event,
    Node,
    QueuedEntry,
    Sequence,
    TreeHead,
    VerificationRun,
)

CHUNK = 5000
MAX_PROBLEMS = 100
# A head is exported to the witness right after it is signed; allow for that step.
WITNESS_LAG = timedelta(minutes=2)
_FIELDS = ("seq", "at", "actor_kind", "actor_id", "actor_label", "action", "subject_type",
           "subject_id", "outcome", "source_ip", "user_agent", "request_id", "data")


def _events(from_seq: int, chunk: int) -> Iterator[tuple[Any, ...]]:
    last = from_seq - 1
    while True:
        rows = list(Event.objects.filter(seq__gt=last).order_by("seq")
                    .values_list(*_FIELDS, "leaf_hash")[:chunk])
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _heads(min_size: int) -> Iterator[TreeHead]:
    last_id, last_size = 0, min_size - 1
    while True:
        batch = list(TreeHead.objects.filter(size__gte=last_size)
                     .exclude(size=last_size, id__lte=last_id).order_by("size", "id")[:1000])
        if not batch:
            return
        yield from batch
        last_id, last_size = batch[-1].id, batch[-1].size


def witness_last_size(path: Path) -> int | None:
    """Tree size of the last head in a witness file (0 when empty); None when it is missing."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
            fh.seek(max(end - 8192, 0))
            lines = [x for x in fh.read().splitlines() if x.strip()]
    except FileNotFoundError:
        return None
    if not lines:
        return 0
    try:
        return int(json.loads(lines[-1])["size"])
    except (ValueError, KeyError, TypeError):
        return 0


def _witness_heads(path: Path | None, min_size: int) -> Iterator[TreeHead]:
    """Heads the external witness holds (JSON lines, in signing order), as unsaved rows.

    They are checked like the database's own: a database administrator who rewrites events and
    deletes the heads from the database cannot delete them from the witness.
    """
    if path is None or not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                head = TreeHead(size=int(doc["size"]), root_hash=str(doc["root_hash"]),
                                signed_at=datetime.fromisoformat(doc["signed_at"]),
                                key_id=str(doc["key_id"]), signature=str(doc["signature"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"witness {path}, line {number}: not a signed head") from exc
            if head.size >= min_size:
                yield head


def _frontier_at(size: int) -> merkle.CompactRange:
    """The frontier after ``size`` leaves, from stored complete nodes (trusted for --from)."""
    hashes, position = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if (size >> level) & 1:
            index = position >> level
            if level == 0:
                value = Event.objects.values_list("leaf_hash", flat=True).get(seq=index + 1)
            else:
                value = Node.objects.values_list("hash", flat=True).get(level=level, index=index)
            hashes.append(bytes.fromhex(value))
            position += 1 << level
    return merkle.CompactRange(size, hashes)


def _check_head(head: TreeHead, root: bytes, verifiers: dict[str, signing.Verifier],
                problems: list[Problem], good_size: int, check_root: bool) -> bool:
    verifier = verifiers.get(head.key_id)
    message = signing.head_message(size=head.size, root_hash=head.root_hash,
                                   signed_at_iso=format_time(head.signed_at))
    if verifier is None:
        problems.append(Problem(None, "unknown-key",
                                f"head at size {head.size} is signed by unknown key "
                                f"{head.key_id}"))
        return False
    try:
        signature = signing.unb64(head.signature)
    except ValueError:
        signature = b""
    if not verifier.verify(message, signature):
        problems.append(Problem(None, "signature",
                                f"head at size {head.size}: signature does not verify (forged)"))
        return False
    if check_root and head.root_hash != root.hex():
        problems.append(Problem(good_size + 1, "root",
                                f"head at size {head.size} signed root {head.root_hash[:16]}… "
                                f"but the events give {root.hex()[:16]}…: an event in "
                                f"{good_size + 1}..{head.size} was rewritten with its hash"))
        return False
    return True


def _witness_problems(witness: Path | None) -> list[Problem]:
    """A configured witness must exist and hold the database's latest head (once it is older
    than the export step): a deleted or cut witness fails verification, never silently."""
    if witness is None:
        return []
    last = witness_last_size(witness)
    if last is None:
        return [Problem(None, "witness-missing",
                        f"the witness file {witness} is missing: restore it or investigate")]
    latest = TreeHead.objects.order_by("-size", "-id").first()
    if latest is not None and last < latest.size and (
            timezone.now() - latest.signed_at > WITNESS_LAG):
        return [Problem(None, "witness-behind",
                        f"the witness {witness} ends at tree size {last} but the log holds a "
                        f"head at {latest.size}: the witness was cut or stopped receiving heads")]
    return []


def _queue_problems() -> list[Problem]:
    """The inclusion promise: every committed entry is in the log within the bound."""
    bound = timedelta(seconds=settings.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS)
    stale = QueuedEntry.objects.filter(at__lt=timezone.now() - bound)
    oldest = stale.order_by("at", "id").values_list("id", "action", "at").first()
    if oldest is None:
        return []
    entry_id, action, at = oldest
    return [Problem(None, "unintegrated",
                    f"{stale.count()} queued entries waited more than {bound} for the integrator "
                    f"(oldest: queue entry {entry_id}, {action}, recorded {format_time(at)}): "
                    "the integrator is stalled or was stopped")]


def run_start(*, from_seq: int = 1, triggered_by: str = "") -> int:
    """Create a pending run (shown with progress on the audit page) and return its id."""
    return VerificationRun.objects.create(started_at=timezone.now(), from_seq=from_seq,
                                          triggered_by=triggered_by[:254]).id


def verify(  # noqa: PLR0912, PLR0915 - one streaming pass; its state reads best in one place
    *,
    from_seq: int = 1,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
    triggered_by: str = "",
    run_id: int | None = None,
    witness: Path | None = None,
) -> VerificationReport:
    """Recompute and check the log from ``from_seq``; record the run; return what was found."""
    if from_seq < 1:
        raise ValueError("--from must be at least 1")
    run = (VerificationRun.objects.get(id=run_id) if run_id is not None else
           VerificationRun.objects.create(started_at=timezone.now(), from_seq=from_seq,
                                          triggered_by=triggered_by[:254]))
    counter = Sequence.objects.filter(id=1).first()
    committed = counter.last_seq if counter else 0
    stored_end = Event.objects.aggregate(m=Max("seq"))["m"] or 0
    total = max(stored_end - from_seq + 1, 0)
    verifiers = signing.trusted_verifiers()
    problems: list[Problem] = []
    frontier = _frontier_at(from_seq - 1) if from_seq > 1 else merkle.CompactRange()
    configured = getattr(settings, "SAFEGUARD_AUDIT_WITNESS_FILE", "")
    witness = witness if witness is not None else (Path(configured) if configured else None)
    first_size = from_seq - 1 if from_seq > 1 else 0
    # Database heads and witnessed heads, merged by size (both streams are ordered by size).
    heads = heapq.merge(_heads(first_size), _witness_heads(witness, first_size),
                        key=lambda h: h.size)
    next_head = next(heads, None)
    heads_checked, checked, expected, good_size = 0, 0, from_seq, from_seq - 1
    tree_trusted = True

    def settle_heads() -> None:
        nonlocal next_head, heads_checked, good_size, tree_trusted
        while next_head is not None and next_head.size <= frontier.size:
            if next_head.size == frontier.size:
                heads_checked += 1
                ok = _check_head(next_head, frontier.root(), verifiers, problems, good_size,
                                 check_root=tree_trusted)
                if ok and tree_trusted:
                    good_size = next_head.size
                elif not ok and problems[-1].kind == "root":
                    tree_trusted = False
            next_head = next(heads, None)

    settle_heads()
    for row in _events(from_seq, chunk):
        seq = row[0]
        if len(problems) >= MAX_PROBLEMS:
            break
        if seq != expected:
            problems.append(Problem(expected, "gap", f"events {expected}..{seq - 1} are missing"))
            tree_trusted = False
            expected = seq
        if seq > committed:
            problems.append(Problem(seq, "beyond-counter",
                                    f"event {seq} lies beyond the committed end {committed}"))
            tree_trusted = False
        fields = dict(zip(_FIELDS, row[:-1], strict=True))
        leaf = merkle.leaf_hash(canonical_entry(**fields))
        if leaf.hex() != row[-1]:
            problems.append(Problem(seq, "content",
                                    f"event {seq} does not match its recorded hash"))
            tree_trusted = False
        frontier.append(leaf)
        expected += 1
        checked += 1
        settle_heads()
        if checked % chunk == 0:
            VerificationRun.objects.filter(id=run.id).update(events_checked=checked)
            if progress:
                progress(checked, total)
    if next_head is not None and not problems:
        problems.append(Problem(stored_end + 1, "truncated",
                                f"a head covers {next_head.size} events, the log holds "
                                f"{stored_end}"))
    if stored_end < committed and not problems:
        problems.append(Problem(stored_end + 1, "truncated",
                                f"the log ends at {stored_end}, the counter at {committed}"))
    if progress:
        progress(checked, total)
    db_latest = TreeHead.objects.order_by("-size").values_list("size", flat=True).first() or 0
    latest_signed = max(good_size, db_latest)
    if not problems and stored_end > latest_signed:
        oldest_unsigned = Event.objects.filter(seq=latest_signed + 1).values_list(
            "at", flat=True).first()
        limit = timedelta(minutes=settings.SAFEGUARD_AUDIT_MAX_UNSIGNED_MINUTES)
        if oldest_unsigned is not None and timezone.now() - oldest_unsigned > limit:
            problems.append(Problem(latest_signed + 1, "unsigned",
                                    f"events from {latest_signed + 1} have waited more than "
                                    f"{limit} for a signed head: heads were deleted or the "
                                    "signing job is not running"))
    problems.extend(_queue_problems())
    problems.extend(_witness_problems(witness))
    seqs = [p.seq for p in problems if p.seq is not None]
    first_bad = min(seqs) if seqs else None
    report = VerificationReport(ok=not problems, events_checked=checked,
                                heads_checked=heads_checked, first_bad_seq=first_bad,
                                problems=problems, unsigned_tail=max(stored_end - db_latest, 0))
    run.finished_at = timezone.now()
    run.events_checked, run.heads_checked, run.ok = checked, heads_checked, report.ok
    run.first_bad_seq = first_bad
    run.problems = [{"seq": p.seq, "kind": p.kind, "detail": p.detail} for p in problems]
    run.save()
    return report


def snapshot_check(*, using: str, root_size: int) -> SnapshotCheck:  # noqa: PLR0912 - one pass
    """Check the audit log held by the database behind connection ``using`` (a scratch copy made
    by a restore drill): read-only, records nothing there. ``root_size`` names the tree size whose
    recomputed root is returned (a backup's manifest records its head size and root)."""
    problems: list[str] = []
    verifiers = signing.trusted_verifiers()
    counter = Sequence.objects.using(using).filter(id=1).first()
    committed = counter.last_seq if counter else 0
    heads = iter(TreeHead.objects.using(using).order_by("size", "id"))
    next_head = next(heads, None)
    frontier = merkle.CompactRange()
    root_hash = frontier.root().hex() if root_size == 0 else ""
    expected, heads_checked, last = 1, 0, 0
    while True:
        rows = list(Event.objects.using(using).filter(seq__gt=last).order_by("seq")
                    .values_list(*_FIELDS, "leaf_hash")[:CHUNK])
        if not rows:
            break
        for row in rows:
            seq = row[0]
            if seq != expected:
                problems.append(f"events {expected}..{seq - 1} are missing")
                expected = seq
            leaf = merkle.leaf_hash(canonical_entry(**dict(zip(_FIELDS, row[:-1], strict=True))))
            if leaf.hex() != row[-1]:
                problems.append(f"event {seq} does not match its recorded hash")
            frontier.append(leaf)
            expected += 1
            if frontier.size == root_size:
                root_hash = frontier.root().hex()
            while next_head is not None and next_head.size <= frontier.size:
                if next_head.size == frontier.size:
                    heads_checked += 1
                    bad: list[Problem] = []
                    _check_head(next_head, frontier.root(), verifiers, bad, 0, check_root=True)
                    problems.extend(p.detail for p in bad)
                next_head = next(heads, None)
            if len(problems) >= MAX_PROBLEMS:
                break
        last = rows[-1][0]
        if len(problems) >= MAX_PROBLEMS:
            break
    if next_head is not None:
        problems.append(f"a head covers {next_head.size} events, the copy holds {frontier.size}")
    if frontier.size != committed:
        problems.append(f"the copy holds {frontier.size} events, its counter says {committed}")
    if root_size > frontier.size:
        problems.append(f"the copy holds {frontier.size} events, fewer than {root_size}")
    return SnapshotCheck(ok=not problems, events=frontier.size, last_seq=committed,
                         heads_checked=heads_checked, root_size=root_size, root_hash=root_hash,
                         problems=tuple(problems[:MAX_PROBLEMS]))
