"""When the integrator wrote each event (decision 0181): the integration delay, measured.

A nullable column without a default: SQLite adds it with ``ALTER TABLE ADD COLUMN`` (no table
rebuild), so the append-only triggers of migration 0002 stay in place; events integrated before
it have none. Not part of the hashed entry.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0005_queue_integrator"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="integrated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
