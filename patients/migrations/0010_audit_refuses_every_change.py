"""The audit trail refuses every UPDATE and DELETE, in the database itself.

0003's trigger let through an UPDATE that only set actor_id, patient_id or
clinic_id to NULL (left from an ON DELETE SET NULL rule that 0008 removed), so
an entry could be detached from its patient and clinic and vanish from the
clinic's audit search. Now no UPDATE passes, on PostgreSQL and SQLite alike,
and on PostgreSQL no DELETE either. SQLite keeps DELETE to the model's guard:
Django empties SQLite tables with DELETE between tests, where PostgreSQL uses
TRUNCATE, which row triggers do not see.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION plinth_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'patients_auditevent is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

# The function as 0003 wrote it, for going back.
POSTGRESQL_PREVIOUS = """
CREATE OR REPLACE FUNCTION plinth_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.actor_id IS NULL OR NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id)
       AND (NEW.patient_id IS NULL OR NEW.patient_id IS NOT DISTINCT FROM OLD.patient_id)
       AND (NEW.clinic_id IS NULL OR NEW.clinic_id IS NOT DISTINCT FROM OLD.clinic_id)
       AND NEW.id = OLD.id AND NEW.at = OLD.at
       AND NEW.actor_email = OLD.actor_email AND NEW.action = OLD.action
       AND NEW.object_type = OLD.object_type AND NEW.object_id = OLD.object_id
       AND NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address
       AND NEW.data = OLD.data THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'patients_auditevent is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

SQLITE_CREATE = """
CREATE TRIGGER IF NOT EXISTS patients_auditevent_append_only
BEFORE UPDATE ON patients_auditevent
BEGIN
    SELECT RAISE(ABORT, 'patients_auditevent is append-only: UPDATE refused');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS patients_auditevent_append_only;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_PREVIOUS)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("patients", "0009_tenancy_from_patient")]

    operations = [migrations.RunPython(forwards, backwards)]
