"""Writes of the audit log (R-IR-5, R-OPS-8): ``record`` is the one way in; tree heads are signed.

``record`` must be called inside the transaction of the action it describes, so the action and
its event commit or roll back together (a read that changes nothing may call it outside any
transaction: its one INSERT then commits on its own). It takes no global lock: it appends the
entry to the queue (``QueuedEntry``), durable at the caller's commit. The integrator
(``integrate``) then sequences committed queue entries gap-free in the order it sees them
committed, computes their leaf hashes and the Merkle nodes they complete as one batch, writes
events, nodes and the new frontier and removes the entries from the queue, all in one
transaction. Exactly one integrator runs at a time: a PostgreSQL advisory lock, on SQLite the
database write lock. A commit that queued an entry wakes the process's background integrator
thread (``background``, the default, decision 0181; ``after_commit`` runs it in the committing
thread instead), and a periodic job is the safety net (decision 0180, after Trillian and
Tessera). With ``SAFEGUARD_AUDIT_INTEGRATION=in_transaction`` (the test suite) ``record``
integrates inside the caller's transaction instead.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from safeguard.audit import context, merkle, readwriter, signing
from safeguard.audit.contracts import Actor, AuditError, FreezeView, TreeHeadView
from safeguard.audit.entries import canonical_entry, normalise_data, normalise_ip
from safeguard.audit.models import Event, Node, QueuedEntry, Sequence, TreeHead
from safeguard.web.dbbackends import prepared_cursor

logger = logging.getLogger(__name__)

OUTCOMES = frozenset({"success", "failure", "denied"})


# Texts up to this length are masked once and remembered: an actor, a request's User-Agent and
# id, an action's subject type recur on every event of a request and across requests.
_CLEAN_CACHED_UP_TO = 256


@lru_cache(maxsize=4)
def _cached_sanitiser(path: str) -> Callable[[str], str]:
    fn: Callable[[str], str] = import_string(path)
    remembered = lru_cache(maxsize=4096)(fn)

    def clean(text: str) -> str:
        return remembered(text) if len(text) <= _CLEAN_CACHED_UP_TO else fn(text)

    return clean


def _sanitiser() -> Callable[[str], str]:
    """The function that masks card numbers in free text callers do not control (a User-Agent
    an attacker chose), named by SAFEGUARD_AUDIT_TEXT_SANITISER — the protection app's, so that
    recording an event never trips the no-PAN guard. The audit core imports no app above it.

    Masking is a pure function of the text, so short texts are masked once per process and
    remembered (decision 0181: the per-event cost of an append)."""
    return _cached_sanitiser(settings.SAFEGUARD_AUDIT_TEXT_SANITISER)


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


def _entry_fields(
    *,
    action: str,
    actor: Actor,
    subject: tuple[str, object] | None,
    outcome: str,
    data: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The stored fields of one event: checked, normalised, every caller text masked."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
    if not action or "." not in action or len(action) > 80:
        raise ValueError("action must be a dotted name such as 'case.viewed'")
    ctx = context.current()
    clean = _sanitiser()
    return {
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


def record(
    *,
    action: str,
    actor: Actor,
    subject: tuple[str, object] | None = None,
    outcome: str = "success",
    data: Mapping[str, Any] | None = None,
) -> int | None:
    """Queue one event in the caller's transaction; it reaches the log at the integrator.

    Returns the event's sequence number when it was integrated in the caller's transaction
    (``SAFEGUARD_AUDIT_INTEGRATION=in_transaction``), else None: the integrator numbers it
    after the commit.

    ``data`` holds ids and screened values only — never customer PII. Card-like values in any
    text the caller passes (actor, subject id, every key, string and integer inside ``data``) are
    masked by the configured sanitiser instead of failing the write, so an event about hostile
    input — a denial above all — is always recorded (R-IR-5, R-OPS-2).
    """
    fields = _entry_fields(action=action, actor=actor, subject=subject, outcome=outcome,
                           data=data)
    mode = settings.SAFEGUARD_AUDIT_INTEGRATION
    conn = connections[DEFAULT_DB_ALIAS]  # looked up once: the proxy costs a lookup per use
    after = _wake_background if mode == "background" else _run_after_commit
    queued = mode in ("background", "after_commit")
    alone = not conn.in_atomic_block and conn.get_autocommit()  # no caller's transaction
    if queued and alone and readwriter.usable(conn):
        # A view that only reads (the case page, the customer panel), inside a request on
        # PostgreSQL: the process's read writer commits the entry while the page goes on; the
        # response waits for that commit and is withheld if it fails (decision 0282).
        readwriter.hand_over(fields, after)
        return None
    # Entries this request handed to the read writer are committed first: a request's entries
    # keep their order in the queue.
    readwriter.settle()
    if queued and alone:
        # The one INSERT is its own transaction, committed before it returns, so the event is
        # as durable as inside a BEGIN/COMMIT pair, two statements cheaper (issue 10). A
        # failure raises to the caller, which then shows nothing.
        _queue(fields, conn)
        _integrate_after_commit(after)  # runs at once: nothing to wait for
        return None
    if queued and conn.in_atomic_block and hasattr(conn, "pending_rows"):
        # Inside the caller's transaction: the entry is held by the connection and written in
        # that transaction before its next statement or its COMMIT, in one INSERT with the
        # entries recorded right after it (decision 0280): every later statement sees it, it
        # commits or rolls back with the caller's writes, and a failed write fails the
        # transaction (at the commit, the connection rolls it back before raising).
        conn.pending_rows(_DEFERRED_KEY, lambda entries: _queue_many(entries, conn),
                          _DEFERRED_CHUNK).add(fields)
        _integrate_after_commit(after)
        return None
    # No savepoint: a failed append must fail the caller's whole transaction, so no action can
    # commit without its event.
    with transaction.atomic(savepoint=False):
        entry_id = _queue(fields, conn)
        if mode == "in_transaction":
            return _integrate_own(entry_id)
        if mode != "deferred":  # "deferred": a bulk load integrates once at its end
            _integrate_after_commit(after)
    return None


def _queue(fields: dict[str, Any], conn: Any = None) -> int:
    """Insert one queue row with one statement (``INSERT … RETURNING id``); return its id.

    The request's only audit cost (decision 0181). No ``Model.save()``: every text was masked
    by the sanitiser just above, so the no-PAN guard's ``pre_save`` layer could find nothing;
    its SQL layer still checks every text parameter of this statement, and would refuse it.
    """
    conn = conn if conn is not None else connections[DEFAULT_DB_ALIAS]
    with _queue_cursor(conn) as cursor:
        cursor.execute(_queue_sql(conn.vendor), _row_params(fields, conn))
        row = cursor.fetchone()
    if row is None:  # cannot happen: RETURNING of a successful INSERT
        raise AuditError("queueing an audit entry returned no id")
    return int(row[0])


# The connection's deferred rows of the audit queue, and how many an INSERT carries at most
# (a transaction that records more writes them as it goes: bounded memory, and at most this
# many statement texts to prepare per connection).
_DEFERRED_KEY = "safeguard.audit.queue"
_DEFERRED_CHUNK = 32


def _queue_many(entries: list[dict[str, Any]], conn: Any) -> None:
    """Insert the queue rows of ``entries`` with one statement, in the order they were
    recorded: the entries a transaction held, before its next statement or at its commit
    (decision 0280).

    One ``VALUES`` row per entry through ``_queue_cursor`` (on PostgreSQL a prepared statement
    per row count; the texts are as many as ``_DEFERRED_CHUNK`` at most). Measured against
    three arrays through ``unnest``, as the integrator writes: arrays of timestamps, addresses
    and JSON documents cost the driver and the server more than the rows' placeholders. The
    no-PAN guard's SQL layer checks every parameter, as for ``_queue``.
    """
    params = [value for fields in entries for value in _row_params(fields, conn)]
    with _queue_cursor(conn) as cursor:
        cursor.execute(_queue_values_sql(conn.vendor, len(entries)), params)
        if cursor.rowcount != len(entries):
            raise AuditError(f"queueing {len(entries)} audit entries wrote {cursor.rowcount}")


def _row_params(fields: dict[str, Any], conn: Any) -> list[Any]:
    """One queue row's parameters, in ``_FIELDS`` order, prepared for ``conn``'s database."""
    columns, plain = _queue_columns(), _plain_text_columns()
    # A plain CharField prepares a str as itself (``to_python`` returns it): skipped for those.
    return [value if i in plain and type(value) is str
            else field.get_db_prep_save(value, conn)
            for i, (field, value) in enumerate(zip(columns, (fields[f] for f in _FIELDS),
                                                   strict=True))]


@lru_cache(maxsize=128)
def _queue_values_sql(vendor: str, count: int) -> str:
    columns = ", ".join(_q(f) for f in _FIELDS)
    row = "(" + ", ".join(["%s"] * len(_FIELDS)) + ")"
    return (f"INSERT INTO {QueuedEntry._meta.db_table} ({columns}) "  # noqa: S608 - names are ours
            f"VALUES {', '.join([row] * count)}")


def _queue_cursor(conn: Any) -> Any:
    """The cursor of the queue's ``INSERT``: on PostgreSQL with
    ``SAFEGUARD_DB_PREPARED_STATEMENTS`` (the default) a server-side binding cursor that
    prepares the statement, so each connection parses and plans it once and the driver binds
    the parameters in its C code (issue 10: the one statement every audited request sends).
    ``web.dbbackends.prepared_cursor``: wrapped like every Django cursor, so the no-PAN guard's
    SQL layer still checks the statement and its parameters, and query logging still counts it.
    """
    return prepared_cursor(conn)


@lru_cache(maxsize=1)
def _queue_columns() -> tuple[Any, ...]:
    return tuple(QueuedEntry._meta.get_field(name) for name in _FIELDS)


@lru_cache(maxsize=1)
def _plain_text_columns() -> frozenset[int]:
    """Positions of the columns that are exactly ``CharField`` (no subclass, no override)."""
    return frozenset(i for i, field in enumerate(_queue_columns())
                     if type(field) is models.CharField)


@lru_cache(maxsize=4)
def _queue_sql(vendor: str) -> str:
    columns = ", ".join(_q(f) for f in _FIELDS)
    marks = ", ".join(["%s"] * len(_FIELDS))
    return (f"INSERT INTO {QueuedEntry._meta.db_table} ({columns}) "  # noqa: S608 - names are ours
            f"VALUES ({marks}) RETURNING {_q('id')}")


# --- the integrator -------------------------------------------------------------------------

# PostgreSQL advisory lock held by the one integrator (transaction-scoped: released at commit,
# rollback, or when a killed integrator's connection closes).
INTEGRATOR_LOCK = int.from_bytes(hashlib.sha256(b"safeguard.audit.integrator").digest()[:8],
                                 "big", signed=True)
_FIELDS = ("at", "actor_kind", "actor_id", "actor_label", "action", "subject_type", "subject_id",
           "outcome", "source_ip", "user_agent", "request_id", "data")


def _lock(*, wait: bool) -> bool:
    """Become the integrator for the current transaction; False when another one is.

    PostgreSQL: the transaction-scoped advisory lock ``INTEGRATOR_LOCK`` (``wait``: block for
    it, else try once). SQLite has one writer at a time: a no-op write on the counter takes the
    database write lock now (waiting up to the busy timeout), so every read below happens under
    it.
    """
    if connection.vendor == "postgresql":
        fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {fn}(%s)", [INTEGRATOR_LOCK])
            row = cursor.fetchone()
        return wait or bool(row and row[0])
    Sequence.objects.filter(id=1).update(last_seq=F("last_seq"))
    return True


def _integrate_batch(limit: int) -> dict[int, int]:
    """Integrate up to ``limit`` queued entries, oldest id first; return {queue id: seq}.

    Runs inside a transaction that holds the integrator lock. Entries are numbered from the
    counter on without gaps; their leaves and every node they complete come from one
    ``CompactRange.extend`` (the batch path of ``merkle.root_hash``). ``Event.queue_id`` is
    unique, so an entry integrated twice would fail the whole batch rather than appear twice.
    """
    counter = Sequence.objects.select_for_update().filter(id=1).first()
    if counter is None:
        Sequence.objects.get_or_create(id=1)
        counter = Sequence.objects.select_for_update().get(id=1)
    rows = list(QueuedEntry.objects.order_by("id").values_list("id", *_FIELDS)[:limit])
    if not rows:
        return {}
    first = counter.last_seq + 1
    entries = [dict(zip(_FIELDS, row[1:], strict=True)) for row in rows]
    leaves = merkle.leaf_hashes(canonical_entry(seq=first + i, **fields)
                                for i, fields in enumerate(entries))
    frontier = merkle.CompactRange.from_hex(counter.last_seq, counter.frontier)
    completed = frontier.extend(leaves)
    ids = [row[0] for row in rows]
    _copy_to_log(ids, first, leaves)
    nodes = [(n.level, n.index, n.hash) for n in completed if n.level > 0]
    if nodes:
        _write_nodes(nodes)
    # The queue's trigger lets an entry go only once its Event exists (written just above).
    _remove_from_queue(ids)
    # One UPDATE, not save(): the frontier is hex digests the no-PAN guard's pre_save layer
    # would scan string by string on every run (its SQL layer still sees the statement).
    Sequence.objects.filter(id=1).update(last_seq=first + len(rows) - 1,
                                         frontier=frontier.to_hex())
    return {entry_id: first + i for i, entry_id in enumerate(ids)}


def _remove_from_queue(ids: list[int]) -> None:
    """Delete the integrated entries ``ids`` from the queue: on PostgreSQL one array parameter
    (``= ANY``: the same statement text for every batch, no thousand placeholders to build and
    convert), elsewhere the ORM's ``IN``. Exact ids, never a range: an entry committed between
    the batch's read and this statement has no event yet, and the trigger would refuse it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {QueuedEntry._meta.db_table} "  # noqa: S608 - our name
                           f"WHERE {_q('id')} = ANY(%s::bigint[])", [ids])
            deleted = cursor.rowcount
    else:
        deleted = QueuedEntry.objects.filter(id__in=ids)._raw_delete(QueuedEntry.objects.db)
    if deleted != len(ids):
        raise AuditError(f"integrating {len(ids)} queued entries removed {deleted}")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _write_nodes(nodes: list[tuple[int, int, bytes]]) -> None:
    """Insert the Merkle nodes a batch completed (level, index, digest): on PostgreSQL one
    statement (the same text whatever the batch's size) over two arrays and the digests as one
    binary string, 32 bytes each, written as hex by the server — a digest is binary, so no text
    parameter per node to convert or scan; elsewhere one row per parameter set."""
    table = Node._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            levels, indexes, hashes = (list(column) for column in zip(*nodes, strict=True))
            cursor.execute(f"INSERT INTO {table} (level, {_q('index')}, hash) "  # noqa: S608 - table and column names are ours
                           "SELECT n.level, n.i, encode(substring(%s::bytea "
                           "FROM ((n.k - 1) * 32 + 1)::int FOR 32), 'hex') "
                           "FROM unnest(%s::smallint[], %s::bigint[]) "
                           "WITH ORDINALITY AS n(level, i, k)",
                           [_digests(hashes), levels, indexes])
        else:
            cursor.executemany(f"INSERT INTO {table} (level, {_q('index')}, hash) "  # noqa: S608 - table and column names are ours
                               "VALUES (%s, %s, %s)",
                               [(level, index, digest.hex()) for level, index, digest in nodes])


def _digests(digests: list[bytes]) -> bytes:
    """SHA-256 digests as one binary string, 32 bytes each, in order."""
    if any(len(d) != 32 for d in digests):
        raise AuditError("a Merkle digest is not 32 bytes")
    return b"".join(digests)


def _copy_to_log(ids: list[int], first: int, leaves: list[bytes]) -> None:
    """Write the events of queue entries ``ids`` (numbered from ``first``) in one statement.

    The fields are copied inside the database from the queue rows the leaves were computed from
    (immutable: the queue refuses UPDATE), so only ids, numbers and leaf hashes travel as
    parameters: no second trip of every field through the ORM and the no-PAN guard, which
    already checked them when they were queued. On PostgreSQL the ids travel as one array and
    the leaves as one binary string (32 bytes each; the server writes them as hex), so the
    statement's text is the same for every batch (the driver parses a statement's text on the
    client: a thousand rows of placeholders cost more than the rows).
    """
    columns = ", ".join(_q(f) for f in _FIELDS)
    integrated_at = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list[Any]
    if connection.vendor == "postgresql":
        # The ids as an array; the numbers from the first and each id's position; the leaves
        # as one binary string, 32 bytes each, written back as hex by the server.
        batch = ("SELECT b.qid, %s::bigint + b.k - 1, "
                 "encode(substring(%s::bytea FROM ((b.k - 1) * 32 + 1)::int FOR 32), 'hex') "
                 "FROM unnest(%s::bigint[]) WITH ORDINALITY AS b(qid, k)")
        params = [first, _digests(leaves), ids]
    else:
        batch = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(ids))
        params = []
        for i, (entry_id, leaf) in enumerate(zip(ids, leaves, strict=True)):
            params += [entry_id, first + i, leaf.hex()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} "  # noqa: S608 - names are ours, values are parameters
            f"(seq, queue_id, leaf_hash, integrated_at, {columns}) "
            f"WITH batch (qid, seq, leaf) AS ({batch}) "
            f"SELECT batch.seq, q.id, batch.leaf, %s, "
            f"{', '.join('q.' + _q(f) for f in _FIELDS)} "
            f"FROM batch JOIN {QueuedEntry._meta.db_table} q ON q.id = batch.qid",
            [*params, integrated_at])
        if cursor.rowcount != len(ids):
            raise AuditError(f"integrating {len(ids)} queued entries wrote {cursor.rowcount}")


def _integrate_own(entry_id: int) -> int:
    """``in_transaction`` mode: integrate everything visible, this entry included, inside the
    caller's transaction (holding the lock until it ends); return this entry's seq."""
    _lock(wait=True)
    limit = settings.SAFEGUARD_AUDIT_INTEGRATION_BATCH
    seq = None
    while True:
        done = _integrate_batch(limit)
        seq = done.get(entry_id, seq)
        if len(done) < limit:
            break
    if seq is None:  # cannot happen: the entry is visible to its own transaction
        raise AuditError(f"queued audit entry {entry_id} was not integrated")
    return seq


def integrate(*, wait: bool = False, max_ms: int | None = None, hand_over: bool = True) -> int:
    """Sequence every committed queue entry into the log, one batch per transaction (R-IR-5).

    Returns how many entries this call integrated. Without ``wait`` it returns at once when
    another integrator holds the lock; that one re-reads the queue after releasing the lock,
    so an entry committed while it held the lock is not left behind. ``max_ms`` bounds the
    time spent here; when entries remain after it, the ``audit.integrate`` job takes over
    (``hand_over``). Killed mid-batch, a batch's transaction rolls back whole: its entries stay
    queued and the next run integrates them once.

    Inside a request, the entries it handed to the read writer are committed first (decision
    0282): a page that integrates before it reads (the audit log page) sees its own entries.
    """
    readwriter.settle()
    return _integrate(wait=wait, max_ms=max_ms, hand_over=hand_over, recheck=True)[0]


def integrate_pass(*, max_ms: int | None = None) -> tuple[int, bool]:
    """The background thread's run (decision 0278): integrate what is committed, without
    re-reading the queue at once for what came meanwhile; return how many entries were
    integrated and whether entries still wait **and this run held the lock** — then the
    caller runs again after its coalescing pause, so a steady stream is taken a window's
    worth per transaction. A run that found the lock taken answers False: the holder reads
    the queue after releasing it, so the runs that lose do not poll the queue as well."""
    total, held = _integrate(wait=False, max_ms=max_ms, hand_over=False, recheck=False)
    return total, held and pending()


def _integrate(*, wait: bool, max_ms: int | None, hand_over: bool,
               recheck: bool) -> tuple[int, bool]:
    """``integrate``'s loop; also says whether this call held the lock at least once."""
    limit = settings.SAFEGUARD_AUDIT_INTEGRATION_BATCH
    deadline = None if max_ms is None else time.monotonic() + max_ms / 1000
    total, held = 0, False
    while True:
        with transaction.atomic():
            if not _lock(wait=wait):
                return total, held
            held = True
            done = len(_integrate_batch(limit))
        total += done
        if done == limit:
            if deadline is not None and time.monotonic() > deadline:
                if hand_over:
                    _hand_over()
                return total, held
            continue
        # The lock is released: anything committed while this run held it is visible now.
        if not recheck or not pending():
            return total, held


def pending() -> bool:
    """Whether a committed entry waits in the queue (one ``EXISTS``)."""
    return QueuedEntry.objects.exists()


def _hand_over() -> None:
    """Leave the rest of a long queue to the integrator job instead of holding a request."""
    from safeguard.audit import tasks

    tasks.integrate_job()


def _run_after_commit() -> None:
    """``after_commit`` mode: the integrator runs in the committing thread (a request's)."""
    integrate(max_ms=settings.SAFEGUARD_AUDIT_INTEGRATION_RUN_MS)


def _wake_background() -> None:
    """``background`` mode (the default): wake this process's integrator thread and return;
    the request pays nothing more than its queued entry's INSERT (decision 0181)."""
    from safeguard.audit import background

    background.wake()


def _integrate_after_commit(hook: Callable[[], None] = _wake_background) -> None:
    """Register ``hook`` to run once right after the current transaction commits (once per
    transaction however many entries it queued); a failure there is logged, the entry stays
    queued, and the next commit or the periodic job integrates it."""
    conn = transaction.get_connection()
    if not any(func is hook for _, func, _ in conn.run_on_commit):
        transaction.on_commit(hook, robust=True)


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


# --- the export freeze (incident containment, decision 0225; exportfreeze.py) ---------------

def exports_freeze(*, actor: Actor, reason: str, reference: str = "") -> FreezeView:
    """Freeze every data export until this freeze is lifted (audited)."""
    from safeguard.audit import exportfreeze

    return exportfreeze.exports_freeze(actor=actor, reason=reason, reference=reference)


def exports_unfreeze(*, actor: Actor, freeze_id: int, reason: str = "") -> FreezeView:
    """Lift one export freeze (audited); exports resume when no other freeze stands."""
    from safeguard.audit import exportfreeze

    return exportfreeze.exports_unfreeze(actor=actor, freeze_id=freeze_id, reason=reason)


def export_guard(*, actor: Actor, export: str) -> None:
    """Call before building any data export: while a freeze stands, the attempt is recorded
    (``export.refused``) and ExportsFrozen (423) raised; otherwise nothing happens."""
    from safeguard.audit import exportfreeze

    exportfreeze.export_guard(actor=actor, export=export)
