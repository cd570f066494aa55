"""Credentials end when they should: a new password, and a deactivated account.

A new password (reset link, password change, the admin setting one) revokes the
user's API tokens and says so; other sessions and pending reset links end by
Django's design. Deactivating a user (admin edit or action) retires invitations,
revokes tokens, ends sessions and stops password-reset mail.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.credentials import user_deactivate
from accounts.models import ApiToken, Invitation, Patient, User
from accounts.services import _new_invitation, invitation_resend
from accounts.tokens import api_token_create
from audit.models import AuditEvent
from portal.errors import DomainError
from tests.conftest import Personas
from tests.factories import PASSWORD, PatientFactory

NEW_PASSWORD = "a-brand-new-secret-77"

pytestmark = pytest.mark.django_db


def api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.get(reverse("api-me")).status_code


def logged_in(user: User) -> Client:
    client = Client()
    assert client.post(reverse("login"), {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def is_logged_in(client: Client) -> bool:
    return client.get(reverse("account-tokens")).status_code == 200


def reset_path(user: User) -> str:
    user = User.objects.get(pk=user.pk)  # the token covers last_login, which logging in moves
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])


def reset_password(client: Client, user: User) -> Any:
    form = client.get(reset_path(user), follow=True)
    assert form.context["validlink"] is True
    return client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )


# --- a new password -------------------------------------------------------------------------


def test_a_token_made_before_a_password_reset_stops_working_and_the_page_says_so(personas: Personas) -> None:
    user = personas.owner.user
    keys = [api_token_create(user=user, name=f"System {i}").key for i in range(2)]
    other = api_token_create(user=personas.colleague.user, name="Colleague's").key
    assert api_status(keys[0]) == 200

    done = reset_password(Client(), user)

    assert done.status_code == 200
    assert "Your 2 API tokens were revoked" in done.content.decode()
    assert [api_status(key) for key in keys] == [401, 401]
    assert api_status(other) == 200
    assert not ApiToken.objects.filter(user=user, revoked_at=None).exists()
    event = AuditEvent.objects.get(action="user.password_changed")
    assert event.data == {"via": "reset", "api_tokens_revoked": 2}
    assert event.clinic_id == personas.clinic.pk


def test_a_password_reset_ends_the_users_other_sessions_and_older_reset_links(personas: Personas) -> None:
    user = personas.patient_a.user
    elsewhere = logged_in(user)
    older_link = reset_path(user)
    reset_password(Client(), user)
    assert not is_logged_in(elsewhere)
    assert Client().get(older_link, follow=True).context["validlink"] is False


def test_changing_ones_password_revokes_tokens_keeps_this_session_and_ends_the_others(
    personas: Personas,
) -> None:
    user = personas.patient_a.user
    key = api_token_create(user=user, name="Watch").key
    here, elsewhere = logged_in(user), logged_in(user)
    page = here.get(reverse("password_change"))
    assert page.status_code == 200
    done = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("password_change_done")
    assert "Your 1 API token was revoked" in done.content.decode()
    assert api_status(key) == 401
    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)
    assert AuditEvent.objects.get(action="user.password_changed").data["via"] == "change"


def test_a_wrong_old_password_changes_nothing(personas: Personas) -> None:
    user = personas.owner.user
    key = api_token_create(user=user, name="Reporting").key
    client = logged_in(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert api_status(key) == 200
    assert not AuditEvent.objects.filter(action="user.password_changed").exists()


def test_staff_setting_a_users_password_in_the_admin_revokes_their_tokens(personas: Personas) -> None:
    user = personas.owner.user
    key = api_token_create(user=user, name="Reporting").key
    staff = Client()
    staff.force_login(personas.staff)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    done = staff.post(
        url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}, follow=True
    )
    assert done.status_code == 200
    assert "Their 1 API token was revoked" in done.content.decode()
    assert api_status(key) == 401
    event = AuditEvent.objects.get(action="user.password_changed")
    assert event.actor_id == personas.staff.pk and event.data["via"] == "admin"
    # A refused form (passwords differ) revokes nothing.
    again = api_token_create(user=user, name="Again").key
    staff.post(
        url, {"password1": "x-1-long-enough", "password2": "y-1-long-enough", "usable_password": "true"}
    )
    assert api_status(again) == 200


def test_staff_changing_their_own_password_in_the_admin_revokes_their_tokens(personas: Personas) -> None:
    key = api_token_create(user=personas.staff, name="Ops").key
    staff = logged_in(personas.staff)
    done = staff.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert done.status_code == 200
    assert api_status(key) == 401
    assert is_logged_in(staff)


# --- a deactivated account ------------------------------------------------------------------


def invited_patient(personas: Personas) -> tuple[Patient, str]:
    patient = PatientFactory(clinic=personas.clinic, therapist=personas.owner, user__password=None)
    patient.user.set_unusable_password()
    patient.user.save()
    return patient, _new_invitation(patient=patient, by=personas.owner.user)


def deactivate_in_admin(staff: User, user: User) -> Any:
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if key in ("email", "full_name", "is_staff", "is_superuser") and value is not None
    }
    data.update(date_joined_0=user.date_joined.strftime("%Y-%m-%d"), date_joined_1="00:00:00")
    data.update(is_active="")
    data = {key: value for key, value in data.items() if value not in (False, "")}
    return client.post(reverse("admin:accounts_user_change", args=[user.pk]), data, follow=True)


def test_a_pending_invitation_of_a_deactivated_account_is_a_410_with_a_clear_page(personas: Personas) -> None:
    patient, token = invited_patient(personas)
    done = deactivate_in_admin(personas.staff, patient.user)
    assert done.status_code == 200, done.content.decode()[:2000]
    patient.user.refresh_from_db()
    assert not patient.user.is_active

    page = Client().get(reverse("invitation", args=[token]))
    assert page.status_code == 410
    body = page.content.decode()
    assert "This account is closed" in body and "closed by your clinic" in body
    assert "Send me a new link" not in body
    posted = Client().post(
        reverse("invitation", args=[token]), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert posted.status_code == 410
    patient.user.refresh_from_db()
    assert not patient.user.has_usable_password()
    assert (
        not Invitation.objects.filter(patient=patient, expires_at__gt=patient.created_at)
        .filter(used_at__isnull=False)
        .exists()
    )
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.actor_id == personas.staff.pk and event.data["invitations_retired"] == 1


def test_an_inactive_account_cannot_accept_a_link_even_if_it_was_not_retired(personas: Personas) -> None:
    # Deactivated by a path that bypassed the service (a bulk update): the link still refuses.
    patient, token = invited_patient(personas)
    User.objects.filter(pk=patient.user.pk).update(is_active=False)
    response = Client().post(
        reverse("invitation", args=[token]), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 410
    with pytest.raises(DomainError) as caught:
        invitation_resend(patient=patient, by=personas.owner)
    assert caught.value.code == "inactive"


def test_deactivating_ends_tokens_and_sessions_and_stops_reset_mail(personas: Personas) -> None:
    user = personas.owner.user
    key = api_token_create(user=user, name="Reporting").key
    session = logged_in(user)
    keep = logged_in(personas.colleague.user)

    ended = user_deactivate(user=user, by=personas.staff, ip="192.0.2.1")

    assert (ended.api_tokens, ended.sessions) == (1, 1)
    assert api_status(key) == 401
    assert not is_logged_in(session)
    assert is_logged_in(keep)
    Client().post(reverse("password_reset"), {"email": user.email})
    assert mail.outbox == []
    # Reactivated later, nothing of the old credentials comes back.
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert api_status(key) == 401
    assert not is_logged_in(session)


def test_the_admin_action_deactivates_through_the_service(personas: Personas) -> None:
    users = [personas.patient_a.user, personas.patient_b.user]
    keys = [api_token_create(user=user, name="Phone").key for user in users]
    staff = Client()
    staff.force_login(personas.staff)
    response = staff.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate", "_selected_action": [user.pk for user in users]},
        follow=True,
    )
    assert response.status_code == 200
    assert re.search(r"is deactivated: 1 API token\(s\) revoked", response.content.decode())
    assert not User.objects.filter(pk__in=[u.pk for u in users], is_active=True).exists()
    assert [api_status(key) for key in keys] == [401, 401]
    assert AuditEvent.objects.filter(action="user.deactivated").count() == 2
