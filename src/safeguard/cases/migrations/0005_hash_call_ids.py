"""Existing voice call ids become keyed hashes (issue 8 item 3, R-OPS-2, R-DATA-1): the
platform's call id only needs equality, so ``Interaction.call_id`` keeps the same keyed hash as
the call's thread reference (``cases.services._base.ref_hash``) and nothing readable.

Needs the keys (the ``index`` keyset) only when there are rows to hash: on a sealed production
installation unseal first (docs/keys.md), then migrate. Re-running it changes nothing (rows
already in the hashed form are skipped).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

PURPOSE = "cases.message_ref"  # cases.services._base.REF_PURPOSE, frozen here
BATCH = 500


def hash_call_ids(apps: Any, schema_editor: Any) -> None:
    """Hash every plain Interaction.call_id in place."""
    from safeguard.protection import services as protection

    model = apps.get_model("cases", "Interaction")
    batch = []
    rows = (model.objects.exclude(call_id__isnull=True).exclude(call_id="")
            .only("pk", "call_id").order_by("pk"))
    for row in rows.iterator(chunk_size=BATCH):
        if protection.is_identifier_hash(row.call_id):
            continue
        row.call_id = protection.identifier_hash(row.call_id, purpose=PURPOSE)
        batch.append(row)
        if len(batch) >= BATCH:
            model.objects.bulk_update(batch, ["call_id"])
            batch = []
    if batch:
        model.objects.bulk_update(batch, ["call_id"])


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0004_contact_flags_and_sender_auth"),
        ("protection", "0001_initial"),
    ]

    operations = [
        # One-way: the readable values are gone once hashed.
        migrations.RunPython(hash_call_ids, migrations.RunPython.noop, elidable=False),
    ]
