"""Logging in by email, landing where each role's day starts, and resetting a password."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import Personas
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _log_in(client: Client, email: str, password: str = PASSWORD) -> tuple[int, str]:
    response = client.post(reverse("login"), {"username": email, "password": password}, follow=True)
    path = response.redirect_chain[-1][0] if response.redirect_chain else response.request["PATH_INFO"]
    return response.status_code, path


@pytest.mark.parametrize(
    ("who", "landing"),
    [("owner", "/caseload/"), ("patient_a", "/today/"), ("staff", "/admin/")],
)
def test_each_role_lands_on_its_own_page_after_login(
    client: Client, personas: Personas, who: str, landing: str
) -> None:
    person = getattr(personas, who)
    user = getattr(person, "user", person)
    status, path = _log_in(client, user.email)
    assert status == 200
    assert path == landing


def test_login_email_is_case_insensitive(client: Client, personas: Personas) -> None:
    shouted = f"  {personas.owner.user.email.upper()} "
    status, path = _log_in(client, shouted)
    assert (status, path) == (200, "/caseload/")


def test_wrong_password_is_refused_with_a_message(client: Client, personas: Personas) -> None:
    response = client.post(
        reverse("login"), {"username": personas.owner.user.email, "password": "not-the-password"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"That email and password do not match an account." in response.content


def test_caseload_needs_login(client: Client, personas: Personas) -> None:
    response = client.get(reverse("caseload"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_patient_cannot_open_the_therapist_library(client: Client, personas: Personas) -> None:
    client.force_login(personas.patient_a.user)
    assert client.get(reverse("library")).status_code == 404


def test_logout_ends_the_session(client: Client, personas: Personas) -> None:
    client.force_login(personas.owner.user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("caseload")).status_code == 302


def test_user_without_a_role_is_told_so(client: Client, db: None) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert b"not linked to a clinic" in response.content


def test_password_reset_email_link_sets_a_new_password(client: Client, personas: Personas) -> None:
    user = personas.patient_a.user
    response = client.post(reverse("password_reset"), {"email": user.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert "Reset your Plinth password" in message.subject
    assert user.email in message.body
    assert "24 hours" in message.body
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1
    path = re.sub(r"^https?://[^/]+", "", links[0])

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    new_password = "a-brand-new-secret-77"
    saved = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert saved.status_code == 302
    assert saved["Location"] == reverse("password_reset_complete")

    user.refresh_from_db()
    assert user.check_password(new_password)
    assert not user.check_password(PASSWORD)
    # The link works once.
    assert client.get(path, follow=True).context["validlink"] is False
    fresh = Client()
    assert _log_in(fresh, user.email, new_password) == (200, "/today/")


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(
    client: Client, personas: Personas
) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
