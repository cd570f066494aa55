"""Tenancy has one source: a patient moved to another clinic takes everything about them along.

The field report: a patient moved in the admin (clinic and therapist changed)
stayed under the old clinic, whose therapist still read and wrote the active
plan, while the patient's next red-flag alert went to the old clinic only.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Patient
from alerts.models import Alert
from audit.models import AuditEvent
from careplans.models import CarePlan, PlanExercise, PlanStatus
from caseload.services import patient_assign_therapist, patient_move_clinic
from portal.errors import DomainError
from tests.factories import TherapistFactory
from tests.world import World
from today.services import checkin_submit


def _admin_move(world: World, *, clinic: Any, therapist: Any) -> Any:
    """Staff change the patient's clinic and therapist on the admin's change page."""
    p = world.p
    staff = Client()
    staff.force_login(p.staff)
    patient = p.patient_a
    form = {
        "user": patient.user_id,
        "clinic": clinic.pk,
        "therapist": therapist.pk if therapist else "",
        "timezone": patient.timezone,
        "reminder_time": patient.reminder_time.strftime("%H:%M"),
        "reminders_enabled": "on",
        "created_at_0": patient.created_at.strftime("%Y-%m-%d"),
        "created_at_1": patient.created_at.strftime("%H:%M:%S"),
    }
    return staff.post(reverse("admin:accounts_patient_change", args=[patient.pk]), form)


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_after_an_admin_move_the_old_clinic_gets_404_and_the_new_one_sees_it_all(world: World) -> None:
    p = world.p
    response = _admin_move(world, clinic=p.other_clinic, therapist=p.outsider)
    assert response.status_code == 302, response.content.decode()[:2000]
    patient = Patient.objects.get(pk=p.patient_a.pk)
    assert (patient.clinic, patient.therapist) == (p.other_clinic, p.outsider)

    plan, item = world.plan_a, world.item_a
    item_url = f"/api/v1/careplans/{plan.pk}/exercises/{item.pk}/"
    old, new = p.owner.user, p.outsider.user
    # The report's reads and write, as the old clinic's therapist: all 404, nothing changed.
    assert _api(old).get(f"/api/v1/careplans/{plan.pk}/").status_code == 404
    assert _page(old).get(reverse("plan-detail", args=[plan.pk])).status_code == 404
    assert _page(old).get(reverse("plan-handout-pdf", args=[plan.pk])).status_code == 404
    assert _page(old).get(reverse("patient-record", args=[patient.pk])).status_code == 404
    assert _api(old).patch(item_url, {"note": "from the old clinic"}, format="json").status_code == 404
    assert PlanExercise.objects.get(pk=item.pk).note != "from the old clinic"
    assert _api(old).get(f"/api/v1/careplans/?patient={patient.pk}").json()["results"] == []
    # The new clinic's therapist reads and writes the plan, now theirs.
    assert _api(new).get(f"/api/v1/careplans/{plan.pk}/").status_code == 200
    assert _page(new).get(reverse("plan-handout-pdf", args=[plan.pk])).status_code == 200
    assert _api(new).patch(item_url, {"note": "Keep the knees soft."}, format="json").status_code == 200
    assert CarePlan.objects.get(pk=plan.pk).therapist == p.outsider

    # The patient's next red-flag check-in raises an alert that only the new clinic sees and acknowledges.
    Alert.objects.all().delete()
    checkin_submit(patient=patient, nprs=7, side="left", flag_bladder_bowel=True)
    alert = Alert.objects.get(patient=patient)
    assert [a["id"] for a in _api(old).get("/api/v1/alerts/").json()["results"]] == []
    assert [a["id"] for a in _api(new).get("/api/v1/alerts/").json()["results"]] == [alert.pk]
    assert _api(old).post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert _api(new).post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 200


@pytest.mark.django_db
def test_the_move_rehomes_open_care_keeps_ended_plans_and_is_audited_in_both_trails(world: World) -> None:
    p = world.p
    ended = CarePlan.objects.create(
        patient=p.patient_a,
        therapist=p.owner,
        title="Last year",
        start_date=world.plan_a.start_date.replace(year=world.plan_a.start_date.year - 1),
        status=PlanStatus.COMPLETED,
    )
    open_alert = world.alert_a
    patient_move_clinic(patient=p.patient_a, clinic=p.other_clinic, therapist=p.outsider, by=p.staff)

    owners = dict(CarePlan.objects.filter(patient=p.patient_a).values_list("pk", "therapist"))
    assert owners[world.plan_a.pk] == owners[world.draft_a.pk] == p.outsider.pk
    assert owners[ended.pk] == p.owner.pk  # history keeps who ran it
    assert Alert.objects.get(pk=open_alert.pk).acknowledged_at is None
    moved = AuditEvent.objects.filter(action="patient.moved", patient=p.patient_a)
    assert sorted(moved.values_list("clinic_id", flat=True)) == sorted([p.clinic.pk, p.other_clinic.pk])
    data = moved.first().data  # type: ignore[union-attr]
    assert data["from_clinic"]["id"] == p.clinic.pk and data["to_clinic"]["id"] == p.other_clinic.pk
    assert sorted(data["plans_rehomed"]) == sorted([world.plan_a.pk, world.draft_a.pk])
    assert data["open_alerts_moved"] == [open_alert.pk]
    rehomed = AuditEvent.objects.filter(action="careplan.rehomed", clinic=p.other_clinic)
    assert rehomed.count() == 2
    # The new clinic's caseload and attention list show the patient; the old one's do not.
    old_caseload = _page(p.owner.user).get(reverse("caseload")).content.decode()
    new_caseload = _page(p.outsider.user).get(reverse("caseload")).content.decode()
    assert p.patient_a.user.full_name not in old_caseload
    assert p.patient_a.user.full_name in new_caseload


@pytest.mark.django_db
def test_a_therapist_of_another_clinic_is_refused_everywhere(world: World) -> None:
    p = world.p
    # The admin: changing only the therapist to another clinic's is a form error; nothing changes.
    response = _admin_move(world, clinic=p.clinic, therapist=p.outsider)
    assert response.status_code == 200
    assert "must belong to the patient&#x27;s clinic" in response.content.decode()
    assert Patient.objects.get(pk=p.patient_a.pk).therapist == p.owner
    # Moving the clinic without a therapist there is refused too.
    response = _admin_move(world, clinic=p.other_clinic, therapist=None)
    assert response.status_code == 200
    assert Patient.objects.get(pk=p.patient_a.pk).clinic == p.clinic
    # The services, for any other caller.
    with pytest.raises(DomainError) as refused:
        patient_assign_therapist(patient=p.patient_a, therapist=p.outsider, by=p.staff)
    assert refused.value.code == "therapist_not_in_clinic"
    with pytest.raises(DomainError) as refused:
        patient_move_clinic(patient=p.patient_a, clinic=p.other_clinic, therapist=p.colleague, by=p.staff)
    assert refused.value.code == "therapist_not_in_clinic"
    with pytest.raises(DomainError) as refused:
        patient_move_clinic(patient=p.patient_a, clinic=p.clinic, therapist=p.colleague, by=p.staff)
    assert refused.value.code == "same_clinic"
    assert Patient.objects.get(pk=p.patient_a.pk).clinic == p.clinic


@pytest.mark.django_db
def test_the_admin_reassigns_within_the_clinic_through_the_service(world: World) -> None:
    p = world.p
    response = _admin_move(world, clinic=p.clinic, therapist=p.colleague)
    assert response.status_code == 302
    assert Patient.objects.get(pk=p.patient_a.pk).therapist == p.colleague
    assert AuditEvent.objects.filter(action="patient.therapist_changed", patient=p.patient_a).exists()


@pytest.mark.django_db
def test_a_plan_cannot_be_given_a_therapist_of_another_clinic_in_the_admin(world: World) -> None:
    p = world.p
    staff = _page(p.staff)
    plan = world.plan_a
    url = reverse("admin:careplans_careplan_change", args=[plan.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        {
            "therapist": p.outsider.pk,
            "items-TOTAL_FORMS": "0",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
        }
    )
    response = staff.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["therapist"] == [
        "The therapist must belong to the patient's clinic."
    ]
    assert CarePlan.objects.get(pk=plan.pk).therapist == p.owner


@pytest.mark.django_db
def test_a_therapists_clinic_is_read_only_once_created(world: World) -> None:
    staff = _page(world.p.staff)
    page = staff.get(reverse("admin:accounts_therapist_change", args=[world.p.owner.pk])).content.decode()
    assert 'name="clinic"' not in page
    assert TherapistFactory(clinic=world.p.other_clinic).clinic == world.p.other_clinic
