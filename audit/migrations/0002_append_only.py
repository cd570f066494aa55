"""The audit trail refuses every UPDATE, and on PostgreSQL every DELETE, in the database itself.

The model refuses ``save()`` of an existing row and ``delete()``; the triggers close
the remaining paths (``queryset.update()``, SQL from a console). SQLite keeps DELETE
to the model's guard: Django empties SQLite tables with DELETE between tests, where
PostgreSQL uses TRUNCATE, which row triggers do not see.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION plinth_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit_auditevent is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION plinth_audit_append_only();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS plinth_audit_append_only();
"""

SQLITE_CREATE = """
CREATE TRIGGER audit_auditevent_append_only
BEFORE UPDATE ON audit_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit_auditevent is append-only: UPDATE refused');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS audit_auditevent_append_only;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
