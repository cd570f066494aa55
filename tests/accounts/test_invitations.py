"""Adding a patient, the invitation email and its single-use, 7-day link."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Patient, User
from audit.models import AuditEvent
from tests.factories import PatientFactory
from tests.helpers import as_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plinth-sunrise-walk-42"


def _add(client: Any, captured: Any, **changes: Any) -> Any:
    data = {
        "full_name": "Nina Newcomer",
        "email": "Nina@Example.test",
        "timezone": "America/New_York",
        "reminder_time": "08:30",
    } | changes
    with captured(execute=True):
        return client.post(reverse("patient-add"), data)


def _link(message: Any) -> str:
    match = re.search(r"https?://[^\s]+/invite/([\w-]+)/", message.body)
    assert match, message.body
    return reverse("invitation", args=[match.group(1)])


def test_adding_a_patient_sends_a_single_use_link(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _add(as_user(personas.owner.user), django_capture_on_commit_callbacks)
    patient = Patient.objects.get(user__email="nina@example.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("patient-plans", args=[patient.pk])
    assert (patient.clinic, patient.therapist, patient.timezone) == (
        personas.clinic,
        personas.owner,
        "America/New_York",
    )
    assert patient.reminder_time.strftime("%H:%M") == "08:30"
    assert not patient.user.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nina@example.test"]
    assert "Northside Physio" in message.subject
    token = _link(message).split("/")[-2]
    invitation = Invitation.objects.get(patient=patient)
    # Only the hash is stored.
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(Invitation.objects.values()))
    assert timedelta(days=6, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    assert AuditEvent.objects.filter(action="patient.invited", patient=patient).exists()


def test_an_email_already_in_the_caseload_says_so(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    users = User.objects.count()
    existing = personas.patient_a.user.email.upper()
    response = _add(as_user(personas.owner.user), django_capture_on_commit_callbacks, email=existing)
    assert response.status_code == 400
    assert "already in your caseload" in response.content.decode()
    assert User.objects.count() == users
    assert not Invitation.objects.exists()
    assert mail.outbox == []


NEUTRAL = "This email address cannot be used for a new patient. Ask the patient for another address."


def test_an_email_used_elsewhere_gets_one_neutral_answer(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Another clinic's patient or therapist, or staff: the same words, naming no account or clinic."""
    elsewhere = PatientFactory(clinic=personas.other_clinic, therapist=personas.outsider)
    for email in (elsewhere.user.email, personas.outsider.user.email, personas.staff.email):
        response = _add(as_user(personas.owner.user), django_capture_on_commit_callbacks, email=email)
        assert response.status_code == 400
        assert response.context["form"].errors == {"email": [NEUTRAL]}
        assert "Southside" not in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus_Mons", "Select a valid choice"),
        ("email", "not-an-email", "Enter a valid email address"),
        ("full_name", "", "This field is required"),
        ("reminder_time", "25:99", "Enter a valid time"),
    ],
)
def test_bad_patient_details_are_refused(
    personas: Any, django_capture_on_commit_callbacks: Any, field: str, value: str, message: str
) -> None:
    response = _add(as_user(personas.owner.user), django_capture_on_commit_callbacks, **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Patient.objects.filter(user__full_name="Nina Newcomer").exists()


def test_the_patient_sets_a_password_and_lands_on_today(
    personas: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    _add(as_user(personas.owner.user), django_capture_on_commit_callbacks)
    link = _link(mail.outbox[0])
    page = client.get(link)
    assert page.status_code == 200 and "Welcome to Plinth, Nina" in page.content.decode()
    response = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("today")
    user = User.objects.get(email="nina@example.test")
    assert user.check_password(NEW_PASSWORD)
    assert Invitation.objects.get().used_at is not None
    assert client.get(reverse("today")).status_code == 200  # logged in
    assert AuditEvent.objects.filter(action="invitation.accepted", actor=user).exists()


def test_django_password_validators_apply(
    personas: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    _add(as_user(personas.owner.user), django_capture_on_commit_callbacks)
    link = _link(mail.outbox[0])
    response = client.post(link, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 400
    assert "too common" in response.content.decode()
    assert Invitation.objects.get().used_at is None
    assert not User.objects.get(email="nina@example.test").has_usable_password()


def test_a_reused_link_says_so_and_changes_nothing(
    personas: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    _add(as_user(personas.owner.user), django_capture_on_commit_callbacks)
    link = _link(mail.outbox[0])
    client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    client.logout()
    user = User.objects.get(email="nina@example.test")
    password_hash = user.password
    response = client.post(
        link, {"new_password1": "another-long-pass-77", "new_password2": "another-long-pass-77"}
    )
    html = response.content.decode()
    assert response.status_code == 410
    assert "already been used" in html and "Send me a new link" in html
    user.refresh_from_db()
    assert user.password == password_hash
    assert "_auth_user_id" not in client.session


def test_an_expired_link_says_so_and_offers_a_new_one(
    personas: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    _add(as_user(personas.owner.user), django_capture_on_commit_callbacks)
    link = _link(mail.outbox[0])
    sent = timezone.now() - timedelta(days=7, seconds=1)
    Invitation.objects.update(created_at=sent, expires_at=sent + timedelta(days=7))
    response = client.get(link)
    assert response.status_code == 410
    assert "has expired" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("invitation-request"), {"email": "nina@example.test"})
    assert response.status_code == 200 and "Check your email" in response.content.decode()
    assert len(mail.outbox) == 2
    fresh = _link(mail.outbox[1])
    assert fresh != link
    assert client.get(fresh).status_code == 200
    assert client.get(link).status_code == 410
    # Asking again at once sends nothing more: the form cannot flood an inbox.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("invitation-request"), {"email": "nina@example.test"})
    assert len(mail.outbox) == 2


def test_asking_for_a_new_link_answers_the_same_for_unknown_and_active_accounts(
    personas: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    answers = []
    for email in ("nobody@example.test", personas.patient_a.user.email, personas.owner.user.email):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("invitation-request"), {"email": email})
        answers.append(response.content.decode().replace(email, "EMAIL"))
        assert response.status_code == 200
    assert len(set(answers)) == 1
    assert mail.outbox == []
    assert not Invitation.objects.exists()


def test_a_new_link_retires_the_old_one(
    personas: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    owner = as_user(personas.owner.user)
    _add(owner, django_capture_on_commit_callbacks)
    patient = Patient.objects.get(user__email="nina@example.test")
    first = _link(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("patient-invitation-resend", args=[patient.pk]))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert client.get(first).status_code == 410
    assert client.get(_link(mail.outbox[1])).status_code == 200
    assert AuditEvent.objects.filter(action="invitation.resent", patient=patient).exists()


def test_an_unknown_token_is_a_404_with_the_new_link_form(client: Any, db: Any) -> None:
    response = client.get(reverse("invitation", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


@pytest.mark.parametrize(
    ("sign_in_links", "wording"),
    [
        (True, "a link that opens their plan; a password is optional"),
        (False, "a link to set their password"),
    ],
)
def test_the_add_page_says_what_the_invitation_asks_for(
    personas: Any, sign_in_links: bool, wording: str
) -> None:
    """With the clinic's sign-in links on, the invitation makes a password optional, and the
    page says so; with them off it asks the patient to set one."""
    personas.clinic.sign_in_links = sign_in_links
    personas.clinic.save(update_fields=["sign_in_links"])
    html = as_user(personas.owner.user).get(reverse("patient-add")).content.decode()
    assert wording in html
    other = "a link to set their password" if sign_in_links else "a password is optional"
    assert other not in html
