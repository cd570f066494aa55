"""Issue 15: the patient record links to the plan, the builder, the handout, the history, and says
where the patient's invitation stands (pending, accepted, expired), with a new link when one can go."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation
from accounts.selectors import invitation_status
from accounts.services import _new_invitation
from careplans.models import PlanStatus
from tests.conftest import login
from tests.helpers import make_plan

pytestmark = pytest.mark.django_db


def _record(client: Client, personas: Any) -> str:
    login(client, personas.owner.user)
    response = client.get(reverse("patient-record", args=[personas.patient_a.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_record_links_to_the_active_plan_builder_handout_history_and_every_plan(
    client: Client, personas: Any
) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    html = _record(client, personas)
    for name, args, words in (
        ("plan-detail", [plan.pk], "Change the plan in the builder"),
        ("plan-handout", [plan.pk], "Handout"),
        ("plan-history", [plan.pk], "Plan history"),
        ("patient-plans", [personas.patient_a.pk], "All plans"),
    ):
        assert f'href="{reverse(name, args=args)}">{words}</a>' in html, name
    assert f'href="mailto:{personas.patient_a.user.email}?subject=About%20your%20care%20plan"' in html


def test_a_finished_plan_is_opened_and_no_plan_leads_to_building_one(client: Client, personas: Any) -> None:
    html = _record(client, personas)
    assert f'href="{reverse("patient-plans", args=[personas.patient_a.pk])}">Build a plan</a>' in html
    assert "Handout" not in html
    plan = make_plan(personas.patient_a, therapist=personas.owner, status=PlanStatus.COMPLETED)
    html = _record(client, personas)
    assert f'href="{reverse("plan-detail", args=[plan.pk])}">Open the plan</a>' in html


def test_invitation_states_pending_accepted_expired_and_closed(personas: Any) -> None:
    patient = personas.patient_a
    user = patient.user
    user.set_unusable_password()
    user.save()
    assert invitation_status(patient=patient).state == "expired"  # never invited, or purged
    _new_invitation(patient=patient, by=personas.owner.user)
    status = invitation_status(patient=patient)
    assert (status.state, status.can_resend) == ("pending", True)
    Invitation.objects.filter(patient=patient).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert invitation_status(patient=patient).state == "expired"
    user.set_password("a-long-password-9")
    user.save()
    status = invitation_status(patient=patient)
    assert (status.state, status.can_resend) == ("accepted", False)
    user.is_active = False
    user.save()
    assert invitation_status(patient=patient).state == "closed"


def test_the_record_says_pending_and_resends_back_to_itself(client: Client, personas: Any) -> None:
    patient = personas.patient_a
    patient.user.set_unusable_password()
    patient.user.save()
    _new_invitation(patient=patient, by=personas.owner.user)
    html = _record(client, personas)
    assert "invitation pending: sent" in html and "Send a new invitation link" in html
    record = reverse("patient-record", args=[patient.pk])
    response = client.post(reverse("patient-invitation-resend", args=[patient.pk]), {"next": record})
    assert response.status_code == 302 and response["Location"] == record
    assert patient.invitations.count() == 2
    # Without a next of this site's own, back to the plans page as before.
    response = client.post(
        reverse("patient-invitation-resend", args=[patient.pk]), {"next": "https://elsewhere.example/"}
    )
    assert response["Location"] == reverse("patient-plans", args=[patient.pk])


def test_the_record_of_a_patient_who_joined_offers_no_invitation(client: Client, personas: Any) -> None:
    html = _record(client, personas)
    assert "joined" in html and "Send a new invitation link" not in html
