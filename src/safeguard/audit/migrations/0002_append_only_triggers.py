"""The database itself refuses UPDATE and DELETE on the audit tables (R-IR-5).

An application bug or a stolen application credential cannot rewrite history through the ORM or
raw SQL; only someone who can drop triggers (a database owner) can, and that is what the Merkle
tree and the signed heads detect.
"""

from django.db import migrations

TABLES = ("audit_event", "audit_node", "audit_treehead", "audit_verificationrun")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION safeguard_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        # VerificationRun rows are updated while a run progresses: only deletes are refused.
        ops = ("DELETE",) if table == "audit_verificationrun" else ("UPDATE", "DELETE")
        if vendor == "postgresql":
            schema_editor.execute(PG_FUNCTION, None)  # no params: the % are PL/pgSQL
            for op in ops:
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION safeguard_audit_append_only()")
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION safeguard_audit_append_only()")
        elif vendor == "sqlite":
            for op in ops:
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: {op} on {table} "
                    f"refused'); END;")
        else:
            raise NotImplementedError(f"no append-only triggers for {vendor}")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        for op in ("update", "delete", "truncate"):
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op} ON {table}")
            else:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
