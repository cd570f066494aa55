"""On PostgreSQL, a trigger refuses UPDATE and DELETE on the audit trail.

The model already refuses save() of an existing row and delete(); the trigger
closes the remaining paths (queryset.update(), raw SQL, a database console).
The one change allowed is the database's own ON DELETE SET NULL when a user,
patient or clinic row is deleted: the entry keeps its text (actor_email,
object, action, data) and only loses the link. SQLite keeps the model-level
guard only. TRUNCATE is left alone: test databases are emptied with it.
"""

from django.db import migrations

CREATE = """
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
DROP TRIGGER IF EXISTS patients_auditevent_append_only ON patients_auditevent;
CREATE TRIGGER patients_auditevent_append_only
    BEFORE UPDATE OR DELETE ON patients_auditevent
    FOR EACH ROW EXECUTE FUNCTION plinth_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS patients_auditevent_append_only ON patients_auditevent;
DROP FUNCTION IF EXISTS plinth_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_api_token")]

    operations = [migrations.RunPython(forwards, backwards)]
