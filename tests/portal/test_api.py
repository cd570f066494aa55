"""API v1 behaviour: scoping, writes through the services, tokens, the patient's export, the audit
search. Bad input, errors and query counts: test_api_input.py."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from audit.models import AuditEvent
from tests.helpers import api
from tests.world import World

# --- scoping ------------------------------------------------------------------------


@pytest.mark.django_db
def test_therapist_lists_only_their_clinics_patients_and_plans(world: World) -> None:
    client = api(world.p.owner.user)
    patients = client.get(reverse("api-patient-list")).json()
    assert {p["id"] for p in patients["results"]} == {world.p.patient_a.pk, world.p.patient_b.pk}
    plans = client.get(reverse("api-careplan-list")).json()
    ids = {p["id"] for p in plans["results"]}
    assert world.plan_x.pk not in ids and world.plan_a.pk in ids
    assert client.get(reverse("api-careplan-detail", kwargs={"pk": world.plan_x.pk})).status_code == 404


@pytest.mark.django_db
def test_patient_sees_own_plans_without_drafts_and_nothing_of_others(world: World) -> None:
    client = api(world.p.patient_a.user)
    plans = client.get(reverse("api-careplan-list")).json()["results"]
    assert [p["id"] for p in plans] == [world.plan_a.pk]
    assert plans[0]["exercises"][0]["exercise_slug"] == world.exercise.slug
    assert client.get(reverse("api-careplan-detail", kwargs={"pk": world.draft_a.pk})).status_code == 404
    assert client.get(reverse("api-careplan-detail", kwargs={"pk": world.plan_b.pk})).status_code == 404
    assert client.get(reverse("api-patient-list")).status_code == 404


@pytest.mark.django_db
def test_filters_and_ordering(world: World) -> None:
    client = api(world.p.owner.user)
    drafts = client.get(reverse("api-careplan-list"), {"status": "draft"}).json()["results"]
    assert [p["id"] for p in drafts] == [world.draft_a.pk]
    mine = client.get(reverse("api-careplan-list"), {"patient": world.p.patient_b.pk}).json()["results"]
    assert [p["id"] for p in mine] == [world.plan_b.pk]
    names = [
        p["full_name"]
        for p in client.get(reverse("api-patient-list"), {"ordering": "-user__full_name"}).json()["results"]
    ]
    assert names == sorted(names, reverse=True)
    bad = client.get(
        reverse("api-careplan-list"), {"status": "sleeping", "colour": "red", "ordering": "secret"}
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"status", "colour", "ordering"}


@pytest.mark.django_db
def test_me_describes_the_user(world: World) -> None:
    me = api(world.p.owner.user).get(reverse("api-me")).json()
    assert me["role"] == "therapist" and me["clinic"]["id"] == world.p.clinic.pk
    assert me["therapist_id"] == world.p.owner.pk and me["patient_id"] is None


# --- writes go through the services -----------------------------------------------------


@pytest.mark.django_db
def test_plan_lifecycle_through_the_api_is_audited(world: World) -> None:
    client = api(world.p.owner.user)
    created = client.post(
        reverse("api-careplan-list"),
        {"patient": world.p.patient_b.pk, "template": world.template.pk, "start_date": str(date.today())},
        format="json",
    )
    assert created.status_code == 201, created.json()
    plan = created.json()
    assert plan["status"] == "draft" and plan["title"] == "Clinic template"
    assert len(plan["exercises"]) == 1
    item = plan["exercises"][0]["id"]
    changed = client.patch(
        reverse("api-careplan-exercise", kwargs={"pk": plan["id"], "plan_exercise_id": item}),
        {"sets": 3, "note": "Slowly"},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["sets"] == 3
    # Plan B's patient already has an active plan: the one-active rule holds here too.
    refused = client.post(reverse("api-careplan-activate", kwargs={"pk": plan["id"]}), format="json")
    assert refused.status_code == 400
    assert "already has an active plan" in refused.json()["non_field_errors"][0]
    ended = client.post(
        reverse("api-careplan-end", kwargs={"pk": world.plan_b.pk}),
        {"status": "completed", "reason": "Goals met"},
        format="json",
    )
    assert ended.status_code == 200 and ended.json()["status"] == "completed"
    assert client.post(reverse("api-careplan-activate", kwargs={"pk": plan["id"]})).status_code == 200
    actions = set(AuditEvent.objects.filter(actor=world.p.owner.user).values_list("action", flat=True))
    assert {
        "careplan.created",
        "careplan.exercise_changed",
        "careplan.completed",
        "careplan.activated",
    } <= actions


@pytest.mark.django_db
def test_acknowledging_an_alert(world: World) -> None:
    client = api(world.p.colleague.user)
    response = client.post(reverse("api-alert-acknowledge", kwargs={"pk": world.alert_a.pk}))
    assert response.status_code == 200 and response.json()["is_open"] is False
    assert (
        api(world.p.outsider.user)
        .post(reverse("api-alert-acknowledge", kwargs={"pk": world.alert_a.pk}))
        .status_code
        == 404
    )


@pytest.mark.django_db
def test_viewing_a_patient_through_the_api_is_audited(world: World) -> None:
    api(world.p.colleague.user).get(reverse("api-patient-detail", kwargs={"pk": world.p.patient_a.pk}))
    event = AuditEvent.objects.get(action="patient.viewed", actor=world.p.colleague.user)
    assert event.patient == world.p.patient_a and event.clinic == world.p.clinic


# --- tokens -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_made_on_the_page_is_shown_once_stored_hashed_and_works(world: World) -> None:
    client = Client()
    client.force_login(world.p.patient_a.user)
    made = client.post(reverse("account-tokens"), {"name": "My phone app"})
    assert made.status_code == 302
    page = client.get(made["Location"])
    key = page.context["new_key"]
    assert key and key in page.content.decode()
    token = ApiToken.objects.get(user=world.p.patient_a.user)
    prefix, secret = key.split(".")
    assert token.prefix == prefix and token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert key not in client.get(reverse("account-tokens")).content.decode()
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bearer.get(reverse("api-me")).json()["patient_id"] == world.p.patient_a.pk
    token.refresh_from_db()
    assert token.last_used_at is not None
    # Revoked on the page: the key stops working at once.
    assert client.post(reverse("account-token-revoke", kwargs={"token_id": token.pk})).status_code == 302
    assert bearer.get(reverse("api-me")).status_code == 401
    assert AuditEvent.objects.filter(action__in=["api_token.created", "api_token.revoked"]).count() >= 2


@pytest.mark.django_db
def test_bad_tokens_are_401(world: World) -> None:
    for header in ("Bearer nope", f"Bearer {world.token_owner.prefix}.wrong", "Bearer a b", "Bearer \u00ff"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get(reverse("api-me"))
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_token_name_is_required(world: World) -> None:
    client = Client()
    client.force_login(world.p.owner.user)
    response = client.post(reverse("account-tokens"), {"name": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


# --- the patient's own data ------------------------------------------------------------------


@pytest.mark.django_db
def test_patient_export_holds_everything_and_is_audited(world: World) -> None:
    response = api(world.p.patient_a.user).get(reverse("api-me-export"))
    assert response.status_code == 200
    data = response.json()
    assert data["profile"]["email"] == world.p.patient_a.user.email
    assert {p["id"] for p in data["plans"]} == {world.plan_a.pk, world.draft_a.pk}
    plan = next(p for p in data["plans"] if p["id"] == world.plan_a.pk)
    assert plan["outcome"]["baseline"] == 6.0 and plan["exercises"][0]["slug"] == world.exercise.slug
    assert [(phase["name"], phase["current"]) for phase in plan["phases"]] == [
        ("Ease", True),
        ("Build", False),
    ]
    assert plan["exercises"][0]["phase"] == "Ease" and plan["phase_held"] is False
    assert [c["nprs"] for c in data["checkins"]] == [6]
    assert len(data["sessions"]) == 1 and len(data["alerts"]) == 1
    assert data["sessions"][0]["session"] == 1  # which of the day's prescribed sessions
    assert world.p.patient_b.user.email not in response.content.decode()
    assert AuditEvent.objects.filter(action="patient.exported", patient=world.p.patient_a).exists()


@pytest.mark.django_db
def test_settings_page_offers_the_download(world: World) -> None:
    client = Client()
    client.force_login(world.p.patient_a.user)
    assert reverse("account-export") in client.get(reverse("patient-settings")).content.decode()
    download = client.get(reverse("account-export"))
    assert download["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["profile"]["full_name"] == world.p.patient_a.user.full_name


# --- the audit search page ----------------------------------------------------------------


@pytest.mark.django_db
def test_audit_search_by_patient_and_dates_stays_in_the_clinic(world: World) -> None:
    api(world.p.owner.user).get(reverse("api-patient-detail", kwargs={"pk": world.p.patient_a.pk}))
    api(world.p.owner.user).get(reverse("api-patient-detail", kwargs={"pk": world.p.patient_b.pk}))
    api(world.p.outsider.user).get(reverse("api-patient-detail", kwargs={"pk": world.patient_x.pk}))
    client = Client()
    client.force_login(world.p.colleague.user)
    today = date.today()
    page = client.get(
        reverse("audit-search"),
        {"patient": world.p.patient_a.pk, "date_from": str(today - timedelta(days=1)), "date_to": str(today)},
    )
    assert page.status_code == 200
    events = list(page.context["page"].object_list)
    assert events and all(e.patient_id == world.p.patient_a.pk for e in events)
    everything = list(client.get(reverse("audit-search")).context["page"].object_list)
    assert all(e.clinic_id == world.p.clinic.pk for e in everything)
    assert client.get(reverse("audit-search"), {"patient": world.patient_x.pk}).status_code == 400
    empty = client.get(reverse("audit-search"), {"date_from": str(today + timedelta(days=1))})
    assert list(empty.context["page"].object_list) == []
    backwards = client.get(
        reverse("audit-search"), {"date_from": str(today), "date_to": str(today - timedelta(days=2))}
    )
    assert backwards.status_code == 400


@pytest.mark.django_db
def test_patch_plan_details(world: World) -> None:
    url = reverse("api-careplan-detail", kwargs={"pk": world.draft_a.pk})
    changed = api(world.p.colleague.user).patch(
        url, {"title": "Back to running", "length_weeks": 8}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["title"] == "Back to running" and changed.json()["length_weeks"] == 8
    assert api(world.p.owner.user).patch(url, {"title": "   "}, format="json").status_code == 400
    assert api(world.p.outsider.user).patch(url, {"title": "Mine now"}, format="json").status_code == 404
    assert api(world.p.patient_a.user).patch(url, {"title": "Mine now"}, format="json").status_code == 404
    world.draft_a.refresh_from_db()
    assert world.draft_a.title == "Back to running"
