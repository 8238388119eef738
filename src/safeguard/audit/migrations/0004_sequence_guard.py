"""The sequence row may only move forward (R-IR-5).

Deleting it would stop every audited write; rewinding it would hide a truncated tail. Only an
append moves it, by one or more; a database owner who drops this trigger is what the signed
heads and the witness catch.
"""

from django.db import migrations

PG = """
CREATE OR REPLACE FUNCTION safeguard_audit_sequence_forward() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.last_seq < OLD.last_seq THEN
        RAISE EXCEPTION 'audit sequence only moves forward: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG, None)  # no params: the % are PL/pgSQL
        schema_editor.execute(
            "CREATE TRIGGER audit_sequence_forward BEFORE UPDATE OR DELETE ON audit_sequence "
            "FOR EACH ROW EXECUTE FUNCTION safeguard_audit_sequence_forward()")
    elif vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER audit_sequence_no_delete BEFORE DELETE ON audit_sequence "
            "BEGIN SELECT RAISE(ABORT, 'audit sequence only moves forward: DELETE refused'); END;")
        schema_editor.execute(
            "CREATE TRIGGER audit_sequence_no_rewind BEFORE UPDATE ON audit_sequence "
            "WHEN NEW.last_seq < OLD.last_seq "
            "BEGIN SELECT RAISE(ABORT, 'audit sequence only moves forward: rewind refused'); END;")
    else:
        raise NotImplementedError(f"no sequence guard for {vendor}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_sequence_forward ON audit_sequence")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_sequence_no_delete")
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_sequence_no_rewind")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_siem_cursor")]
    operations = [migrations.RunPython(forwards, backwards)]
