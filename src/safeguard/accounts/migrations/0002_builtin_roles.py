"""Create the built-in role rows so every installation has them after `migrate`."""

from django.db import migrations

ROLES = [
    ("agent", "Agent", "Handles cases in their queues through masked views."),
    ("supervisor", "Supervisor", "Leads a team of agents; approves sensitive requests."),
    ("security_analyst", "Security analyst", "Watches the audit log, triages alerts."),
    ("privacy_officer", "Privacy officer", "Runs the data inventory, retention and DSRs."),
    ("compliance_manager", "Compliance manager", "Owns frameworks, controls, evidence."),
    ("auditor", "Auditor", "Reads everything an audit needs; changes nothing."),
    ("administrator", "Administrator", "Manages staff accounts, roles and settings."),
]


def create(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for slug, name, description in ROLES:
        Role.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "is_builtin": True}
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
