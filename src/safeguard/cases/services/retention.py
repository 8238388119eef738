"""Retention actions on case data, called by the privacy app's sweep (R-DATA-3, R-REG-4).

Anonymising a case erases what identifies or was written by the person (subject, message
bodies, attachments, transcripts, recordings, satisfaction comment, thread and call
references) and keeps what the KPIs need (status, queue, channel, priority, every timestamp,
the satisfaction score), so CSAT, FCR and ASA stay computable after the customer is gone.
Both actions are idempotent: running one twice leaves the same row and records the event again
only when something changed.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases.models import Attachment, Case, CsatResponse, Interaction, Message


def _messages_erase(ids: list[Any]) -> None:
    """Empty the bodies of these messages, a few hundred rows per statement. Encrypted columns
    bind their row, so each row gets its own ciphertext of "" (sealed to its id, as save()
    would); one ``UPDATE ... SET body = CASE id WHEN ... END`` instead of a save per message
    made the sweep several times faster on PostgreSQL (bench/privacy/bench_sweep.py)."""
    field = Message._meta.get_field("body")
    pk = Message._meta.pk
    quote = connection.ops.quote_name
    table, column, key = quote(Message._meta.db_table), quote(field.column), quote(pk.column)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _ERASE_CHUNK):
            chunk = ids[start:start + _ERASE_CHUNK]
            params: list[Any] = []
            for i in chunk:
                params += [pk.get_db_prep_value(i, connection),
                           field.seal("", i)]
            params += [pk.get_db_prep_value(i, connection) for i in chunk]
            whens = " ".join(["WHEN %s THEN %s"] * len(chunk))
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"UPDATE {table} SET {column} = CASE {key} {whens} END "  # noqa: S608 - quoted names, values bound
                           f"WHERE {key} IN ({marks})", params)


_ERASE_CHUNK = 500


@transaction.atomic
def case_anonymise(*, case_id: str, actor: Actor, record_class: str) -> bool:
    """Erase a closed case's personal content, keeping its KPI fields; True when it changed."""
    case = Case.objects.select_for_update().get(id=case_id)
    changed = False
    if case.subject:
        case.subject = ""
        case.save(update_fields=["subject", "updated_at"])
        changed = True
    stale = [m.pk for m in Message.objects.filter(case=case).only("id", "body") if m.body]
    if stale:
        _messages_erase(stale)
        changed = True
    removed, _ = Attachment.objects.filter(message__case=case).delete()
    changed = changed or removed > 0
    for interaction in Interaction.objects.filter(case=case):
        if (interaction.transcript is not None or interaction.recording is not None
                or interaction.thread_ref or interaction.chat_secret_hash
                or interaction.call_id is not None):
            interaction.transcript = None
            interaction.recording = None
            interaction.thread_ref = ""
            interaction.chat_secret_hash = ""
            interaction.call_id = None
            interaction.save(update_fields=["transcript", "recording", "thread_ref",
                                            "chat_secret_hash", "call_id"])
            changed = True
    csat = CsatResponse.objects.filter(case=case).first()
    if csat is not None and csat.comment:
        csat.comment = ""
        csat.save(update_fields=["comment"])
        changed = True
    if changed:
        audit.record(action="case.anonymised", actor=actor, subject=("case", case.id),
                     data={"record_class": record_class, "attachments_removed": removed})
    return changed


@transaction.atomic
def recording_delete(*, interaction_id: str, actor: Actor, record_class: str) -> bool:
    """Delete a call's recording reference and metadata; True when there was one."""
    interaction = Interaction.objects.select_for_update().get(id=interaction_id)
    if interaction.recording is None:
        return False
    interaction.recording = None
    interaction.save(update_fields=["recording"])
    audit.record(action="call.recording_deleted", actor=actor,
                 subject=("interaction", interaction.id),
                 data={"case": str(interaction.case_id), "record_class": record_class})
    return True
