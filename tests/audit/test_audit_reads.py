"""Every read of patient data by someone other than the patient is in the audit trail.

Reads are noted where the data is fetched (access functions, selectors, the
API's object and page lookups, the admin) and written by one middleware. These
tests walk every GET route of the URLconf as each therapist and staff: wherever
a response shows patient A's data, an entry for patient A by that user must
have been written by that request.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.conftest import record_figure
from tests.helpers import PersonaClients
from tests.portal.clinic_move import FOLLOWS_PATIENT_A
from tests.portal.routes import all_route_names, row_for
from tests.world import World

READERS = ("owner", "colleague", "outsider", "staff")


def _mentions(value: Any, patient_id: int, email: str) -> bool:
    """Whether a JSON body names the patient (by id under "patient", or by email)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "patient" and (
                inner == patient_id or (isinstance(inner, dict) and inner.get("id") == patient_id)
            ):
                return True
            if _mentions(inner, patient_id, email):
                return True
        return False
    if isinstance(value, list):
        return any(_mentions(inner, patient_id, email) for inner in value)
    return isinstance(value, str) and value.lower() == email


def shows_patient_a(world: World, name: str, response: Any) -> bool:
    patient = world.p.patient_a
    body = b"".join(response.streaming_content) if response.streaming else response.content
    # A name offered in a picker (a <select> of the clinic's patients) is the clinic's
    # directory, not a record; every page that shows a record shows the name elsewhere.
    text = re.sub(r"<select\b.*?</select>", "", body.decode("utf-8", "replace"), flags=re.S)
    if patient.user.full_name in text or patient.user.email in text:
        return True
    if response.get("Content-Type", "").startswith("application/json"):
        return _mentions(json.loads(body or b"null"), patient.pk, patient.user.email)
    return name in FOLLOWS_PATIENT_A


@pytest.mark.django_db
def test_every_route_that_shows_a_patients_data_records_the_read(world: World) -> None:
    missing: list[str] = []
    checked = 0
    clients = PersonaClients(world)
    for name in all_route_names():
        row = row_for(name)
        if row is None or row[0] != "GET":
            continue
        _, args, _ = row
        for persona in READERS:
            user = world.persona(persona)
            client = clients.client(persona)
            with transaction.atomic(), clients.kept_cookies(client):
                url = reverse(name, kwargs=args(world))
                before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                response = client.get(url)
                if response.status_code == 200 and shows_patient_a(world, name, response):
                    checked += 1
                    read = AuditEvent.objects.filter(
                        pk__gt=before, actor=user, patient=world.p.patient_a, action__endswith=".viewed"
                    )
                    if not read.exists():
                        missing.append(f"{name} as {persona}: {url}")
                transaction.set_rollback(True)
    record_figure(f"audited reads: {checked} responses showing a patient's data checked")
    assert checked > 40
    assert not missing, "no read entry for:\n" + "\n".join(missing)


@pytest.mark.django_db
def test_the_plan_list_filtered_by_patient_records_the_read(world: World) -> None:
    """The field report: the list route returned the detail's body and wrote no entry."""
    api = APIClient()
    api.force_authenticate(world.p.colleague.user)
    response = api.get(f"/api/v1/careplans/?patient={world.p.patient_a.pk}", REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 200 and response.json()["results"]
    event = AuditEvent.objects.get(action="careplan.viewed", object_id=str(world.plan_a.pk))
    assert (event.actor, event.patient, event.clinic, event.ip_address) == (
        world.p.colleague.user,
        world.p.patient_a,
        world.p.clinic,
        "198.51.100.9",
    )
    assert event.data == {"route": "api-careplan-list"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "args"),
    [
        ("admin:accounts_patient_change", "patient"),
        ("admin:checkins_paincheckin_change", "checkin"),
        ("admin:careplans_careplan_change", "plan"),
        ("admin:accounts_patient_changelist", None),
    ],
)
def test_the_admins_pages_record_the_read(world: World, route: str, args: str | None) -> None:
    objects = {"patient": world.p.patient_a, "checkin": world.checkin_a, "plan": world.plan_a}
    staff = Client()
    staff.force_login(world.p.staff)
    url = reverse(route, args=[objects[args].pk] if args else [])
    assert staff.get(url).status_code == 200
    assert AuditEvent.objects.filter(
        actor=world.p.staff, patient=world.p.patient_a, action__endswith=".viewed"
    )


@pytest.mark.django_db
def test_a_refused_read_and_the_patients_own_reads_write_no_entry(world: World) -> None:
    outsider = Client()
    outsider.force_login(world.p.outsider.user)
    assert outsider.get(reverse("patient-record", args=[world.p.patient_a.pk])).status_code == 404
    own = Client()
    own.force_login(world.p.patient_a.user)
    assert own.get(reverse("today")).status_code == 200
    api = APIClient()
    api.force_authenticate(world.p.patient_a.user)
    assert api.get(f"/api/v1/careplans/{world.plan_a.pk}/").status_code == 200
    assert not AuditEvent.objects.filter(action__endswith=".viewed").exists()
