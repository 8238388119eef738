"""Existing thread references and external ids become keyed hashes (issue 8 item 3, R-OPS-2,
R-DATA-1): the same form ``cases.services`` now writes, so threads and idempotency keep working
across the upgrade and nothing readable is left behind.

Needs the keys (the ``index`` keyset) only when there are rows to hash: on a sealed production
installation unseal first (docs/keys.md), then migrate. Re-running it changes nothing (rows
already in the hashed form are skipped).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

PURPOSE = "cases.message_ref"  # cases.services._base.REF_PURPOSE, frozen here
BATCH = 500


def _hash_column(model: Any, column: str) -> int:
    from safeguard.protection import services as protection

    changed = 0
    batch = []
    rows = model.objects.exclude(**{column: ""}).only("pk", column).order_by("pk")
    for row in rows.iterator(chunk_size=BATCH):
        value = getattr(row, column)
        if protection.is_identifier_hash(value):
            continue
        setattr(row, column, protection.identifier_hash(value, purpose=PURPOSE))
        batch.append(row)
        if len(batch) >= BATCH:
            model.objects.bulk_update(batch, [column])
            changed += len(batch)
            batch = []
    if batch:
        model.objects.bulk_update(batch, [column])
        changed += len(batch)
    return changed


def hash_refs(apps: Any, schema_editor: Any) -> None:
    """Hash every plain Message.external_id and Interaction.thread_ref in place."""
    _hash_column(apps.get_model("cases", "Message"), "external_id")
    _hash_column(apps.get_model("cases", "Interaction"), "thread_ref")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0001_initial"),
        ("protection", "0001_initial"),
    ]

    operations = [
        # One-way: the readable values are gone once hashed.
        migrations.RunPython(hash_refs, migrations.RunPython.noop, elidable=False),
    ]
