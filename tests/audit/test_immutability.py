"""The audit trail is append-only: no change through the model, none in the database, and deleting
a person leaves their entries as written."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import User
from audit.models import AuditEvent
from tests.world import World

# --- audit immutability ---------------------------------------------------------------


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_through_the_model(world: World) -> None:
    event = world.audit_a
    event.action = "tampered"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


@pytest.mark.django_db
def test_deleting_someone_leaves_their_audit_entries_as_written(world: World) -> None:
    from audit.services import audit_log

    gone = User.objects.create_user("leaver@example.test", None, full_name="Leaving Staff", is_staff=True)
    event = audit_log(action="admin.viewed", actor=gone, patient=world.p.patient_a, ip="203.0.113.7")
    written = AuditEvent.objects.filter(pk=event.pk).values().get()
    gone.delete()
    assert AuditEvent.objects.filter(pk=event.pk).values().get() == written
    assert written["actor_id"] is not None and written["actor_email"] == "leaver@example.test"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET action = 'tampered' WHERE id = %s",
        # The field report: detaching an entry from its actor, patient and clinic passed.
        "UPDATE {table} SET clinic_id = NULL, patient_id = NULL, actor_id = NULL WHERE id = %s",
        "UPDATE {table} SET clinic_id = NULL WHERE id = %s",
        "UPDATE {table} SET at = at WHERE id = %s",
        "DELETE FROM {table} WHERE id = %s",
    ],
)
def test_audit_trail_refuses_every_update_and_delete_in_the_database(world: World, sql: str) -> None:
    if sql.startswith("DELETE") and connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE to the model's guard: Django empties its test tables with DELETE")
    event = world.audit_a
    written = AuditEvent.objects.filter(pk=event.pk).values().get()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql.format(table=AuditEvent._meta.db_table), [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    assert AuditEvent.objects.filter(pk=event.pk).values().get() == written
    assert AuditEvent.objects.filter(clinic=world.p.clinic, pk=event.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
@pytest.mark.django_db
def test_deleting_a_user_keeps_their_audit_entries(world: World) -> None:
    user = world.p.owner.user
    events = AuditEvent.objects.filter(actor=user)
    count = events.count()
    assert count > 0
    email = user.email
    world.p.owner.user.api_tokens.all().delete()
    from accounts.models import User

    User.objects.filter(pk=user.pk).update(is_active=False)
    assert AuditEvent.objects.filter(actor_email=email).count() == count
