"""Invitations with sign-in links (Plinth issue 19): where the clinic allows links, the invitation
signs the patient in with one tap and a password is optional (they can choose one later on the
password page, which asks no old password of someone who has none). The link stays single-use
and expires as before; a clinic that turns links off still asks for a password."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Patient, User, patient_joined
from accounts.services import _new_invitation, invitation_accept, invitation_request_new, invitation_resend
from audit.models import AuditEvent
from portal.errors import DomainError
from tests.conftest import Personas
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plinth-sunrise-walk-42"


@pytest.fixture
def invited(personas: Personas) -> Patient:
    """A patient the owner has just added: no password, never signed in."""
    user = User.objects.create_user("nina@example.test", None, full_name="Nina Newcomer")
    return PatientFactory(user=user, clinic=personas.clinic, therapist=personas.owner)


def _open(patient: Patient, personas: Personas) -> str:
    return reverse("invitation", args=[_new_invitation(patient=patient, by=personas.owner.user)])


def test_one_tap_signs_the_patient_in_without_a_password(invited: Patient, personas: Personas) -> None:
    url = _open(invited, personas)
    client = Client()
    page = client.get(url).content.decode()
    assert "Continue to my plan" in page and "Set password and continue" in page
    assert not Patient.objects.filter(patient_joined(), pk=invited.pk).exists()
    response = client.post(url, {"without_password": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("today")
    assert int(client.session[SESSION_KEY]) == invited.user.pk
    user = User.objects.get(pk=invited.user.pk)
    assert not user.has_usable_password()
    # Joined: the caseload and the alerts no longer wait for them.
    assert Patient.objects.get(pk=invited.pk).joined
    assert Patient.objects.filter(patient_joined(), pk=invited.pk).exists()
    event = AuditEvent.objects.get(action="invitation.accepted", patient=invited)
    assert event.data == {"password_set": False}
    # Still single use.
    assert Client().post(url, {"without_password": "1"}).status_code == 410
    assert Invitation.objects.get(patient=invited).used_at is not None


def test_a_patient_in_without_a_password_gets_no_new_invitation_but_can_ask_for_a_sign_in_link(
    invited: Patient, personas: Personas
) -> None:
    Client().post(_open(invited, personas), {"without_password": "1"})
    with pytest.raises(DomainError) as refused:
        invitation_resend(patient=invited, by=personas.owner)
    assert refused.value.code == "already_joined"
    invitation_request_new(email=invited.user.email)
    assert mail.outbox == []
    Client().post(reverse("sign-in-link-request"), {"link-email": invited.user.email})
    assert [m.subject for m in mail.outbox] == [f"Your sign-in link for {personas.clinic.name}"]


def test_choosing_a_password_later_asks_for_no_old_one(invited: Patient, personas: Personas) -> None:
    client = Client()
    client.post(_open(invited, personas), {"without_password": "1"})
    page = client.get(reverse("password_change")).content.decode()
    assert "Choose a password" in page and 'name="old_password"' not in page
    response = client.post(
        reverse("password_change"), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=invited.user.pk).check_password(NEW_PASSWORD)
    # With a password, changing it asks for the old one again.
    assert 'name="old_password"' in client.get(reverse("password_change")).content.decode()


def test_a_clinic_without_links_still_asks_for_a_password(invited: Patient, personas: Personas) -> None:
    personas.clinic.sign_in_links = False
    personas.clinic.save()
    url = _open(invited, personas)
    page = Client().get(url).content.decode()
    assert "Continue to my plan" not in page and "Choose a password to see it" in page
    response = Client().post(url, {"without_password": "1"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    # The service refuses it too, whoever calls it.
    with pytest.raises(DomainError) as refused:
        invitation_accept(token=url.rstrip("/").split("/")[-1], password=None)
    assert (refused.value.code, refused.value.field) == ("password_required", "password")
    assert Invitation.objects.get(patient=invited).used_at is None
    assert (
        Client().post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302
    )


def test_the_invitation_email_says_a_password_is_optional_only_where_links_are_allowed(
    invited: Patient, personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(patient=invited, by=personas.owner)
    assert "a password is up to you" in mail.outbox[-1].body
    personas.clinic.sign_in_links = False
    personas.clinic.save()
    invited.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(patient=invited, by=personas.owner)
    assert "choose your password" in mail.outbox[-1].body
