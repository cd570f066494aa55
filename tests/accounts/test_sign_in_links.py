"""Sign-in by emailed link (Plinth issue 19, accounts.signin): a patient asks the login page for a
link, which signs them in once, within 15 minutes, on any device, when they press "Sign in" on
the page it opens (opening it alone, as an email scanner does, signs nobody in and spends
nothing); it stops working after a password change, a deactivation, a log-out-everywhere, or
the clinic turning links off, at the opening and at the press alike, and never signs in a
therapist or staff. Asking says nothing about whether the address has an account.

The link email goes through a real SMTP server (aiosmtpd, tests.harness); the other tests read
Django's test outbox.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.credentials import user_deactivate
from accounts.models import User
from accounts.signin import LINK_REFUSED, sign_in_url
from audit.models import AuditEvent
from tests.conftest import Personas
from tests.harness import SMTPServer

pytestmark = pytest.mark.django_db

REQUEST = reverse("sign-in-link-request")


def ask(email: str, *, client: Client | None = None, ip: str = "203.0.113.7") -> Any:
    return (client or Client()).post(REQUEST, {"link-email": email}, REMOTE_ADDR=ip)


def link_in(body: str) -> str:
    """The path and query of the sign-in link in an email's text."""
    found = re.search(r"https?://\S+sesame=\S+", body)
    assert found, body
    parts = urlsplit(found.group(0))
    return f"{parts.path}?{parts.query}"


def outbox_link(email: str) -> str:
    sent = [message for message in mail.outbox if message.to == [email]]
    assert sent, f"no email to {email}"
    return link_in(str(sent[-1].body))


def signed_in_as(client: Client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def token_of(link: str) -> str:
    """The ``sesame`` token of a sign-in link's path and query."""
    return parse_qs(urlsplit(link).query)["sesame"][0]


def confirms(response: Any, first_name: str) -> bool:
    """Whether ``response`` is the page that opening a working link gives: it signs nobody in."""
    html = response.content.decode()
    return (
        response.status_code == 200
        and f"Sign in to Plinth as {first_name}" in html
        and SESSION_KEY not in response.wsgi_request.session
    )


def use(link: str, client: Client | None = None) -> Any:
    """Open ``link`` and press "Sign in" as a browser does (the token posted from the page's
    form, CSRF checked); the POST's response, or the GET's when the page has no form."""
    client = client or Client(enforce_csrf_checks=True)
    opened = client.get(link)
    if opened.status_code != 200:
        return opened
    html = opened.content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    token = re.search(r'name="sesame" value="([^"]+)"', html)
    assert csrf and token, html
    data = {"csrfmiddlewaretoken": csrf.group(1), "sesame": token.group(1)}
    return client.post(reverse("sign-in-link"), data)


def post_token(link: str) -> Any:
    """Press "Sign in" without opening the link first (a CSRF-exempt client): for refusals at POST."""
    return Client().post(reverse("sign-in-link"), {"sesame": token_of(link)})


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("today")


def refused(response: Any) -> bool:
    html = response.content.decode()
    return (
        response.status_code == 410
        and LINK_REFUSED in html
        and "Email me a sign-in link" in html
        and SESSION_KEY not in response.wsgi_request.session
    )


def refused_at_get_and_post(link: str) -> bool:
    """Whether opening ``link`` and pressing "Sign in" with its token are both refused."""
    return refused(Client().get(link)) and refused(post_token(link))


# --- asking, and the email over SMTP ------------------------------------------------------


def test_a_patient_asks_for_a_link_gets_it_by_smtp_and_it_signs_them_in(
    personas: Personas, smtp: SMTPServer
) -> None:
    patient = personas.patient_a
    response = ask(patient.user.email.upper())
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    assert smtp.handler.counts[patient.user.email] == 1
    message = smtp.handler.messages[-1]
    assert message["Subject"] == f"Your sign-in link for {personas.clinic.name}"
    body = message.get_payload(decode=True).decode()
    assert "within 15 minutes" in body
    # Another device: a new client, with nothing of the one that asked. Opening the link asks;
    # pressing "Sign in" signs in.
    phone = Client(enforce_csrf_checks=True)
    assert confirms(phone.get(link_in(body)), patient.user.get_short_name())
    assert signed_in_as(phone) is None
    assert signed_in(use(link_in(body), phone))
    assert signed_in_as(phone) == patient.user.pk
    assert phone.get(reverse("today")).status_code == 200
    actions = list(AuditEvent.objects.filter(patient=patient).values_list("action", flat=True))
    assert "auth.sign_in_link_sent" in actions and "auth.signed_in_by_link" in actions


def test_the_link_works_once(personas: Personas) -> None:
    ask(personas.patient_a.user.email)
    link = outbox_link(personas.patient_a.user.email)
    assert signed_in(use(link))
    assert refused_at_get_and_post(link)
    assert AuditEvent.objects.filter(action="auth.signed_in_by_link", patient=personas.patient_a).count() == 1


def test_opening_the_link_signs_nobody_in_and_leaves_it_working(personas: Personas) -> None:
    """An email scanner or a link preview fetches the link, cookie-less, before the patient:
    it gets the "Sign in" page, no session, and the patient's press still signs them in."""
    user = personas.patient_a.user
    ask(user.email)
    link = outbox_link(user.email)
    last_login = User.objects.get(pk=user.pk).last_login
    scanner = Client()
    for _ in range(2):
        opened = scanner.get(link)
        assert confirms(opened, user.get_short_name())
        assert "no-store" in opened["Cache-Control"] and opened["Referrer-Policy"] == "strict-origin"
        html = opened.content.decode()
        # The first name only, and nothing fetched from elsewhere that could see the token.
        assert user.email not in html and user.full_name not in html
        assert not re.search(r'(src|href|action)="(https?:)?//', html)
        assert f'name="sesame" value="{token_of(link)}"' in html
    assert signed_in_as(scanner) is None
    assert scanner.get(reverse("today")).status_code == 302  # to the login page
    assert User.objects.get(pk=user.pk).last_login == last_login
    assert not AuditEvent.objects.filter(action="auth.signed_in_by_link").exists()
    patient = Client(enforce_csrf_checks=True)
    assert signed_in(use(link, patient))
    assert signed_in_as(patient) == user.pk


def test_pressing_sign_in_needs_the_pages_csrf_token(personas: Personas) -> None:
    link = sign_in_url(personas.patient_a.user)
    forged = Client(enforce_csrf_checks=True).post(reverse("sign-in-link"), {"sesame": token_of(link)})
    assert forged.status_code == 403
    assert signed_in(use(link))


def test_signing_in_with_the_password_ends_a_link_sent_before(personas: Personas, password: str) -> None:
    ask(personas.patient_a.user.email)
    link = outbox_link(personas.patient_a.user.email)
    assert Client().login(email=personas.patient_a.user.email, password=password)
    assert refused_at_get_and_post(link)


def test_the_link_expires_after_15_minutes(personas: Personas) -> None:
    user = personas.patient_a.user
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        early, late = sign_in_url(user), sign_in_url(user)
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert refused_at_get_and_post(late)
    with time_machine.travel(start + timedelta(minutes=14, seconds=59), tick=False):
        assert signed_in(use(early))


def test_a_link_without_a_token_or_with_a_forged_one_is_refused(personas: Personas) -> None:
    assert refused(Client().get(reverse("sign-in-link")))
    assert refused(Client().post(reverse("sign-in-link")))
    link = sign_in_url(personas.patient_a.user)
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert refused_at_get_and_post(forged)


# --- what ends a link --------------------------------------------------------------------


def test_logging_out_everywhere_ends_the_links_and_every_session(personas: Personas, password: str) -> None:
    user = personas.patient_a.user
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)
    # force_login changes the last login too; a link sent after the sign-ins is the one at stake.
    link = sign_in_url(User.objects.get(pk=user.pk))
    response = phone.post(reverse("logout-everywhere"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert laptop.get(reverse("today")).status_code == 302  # to the login page
    assert refused_at_get_and_post(link)
    assert AuditEvent.objects.filter(action="auth.logged_out_everywhere", patient=personas.patient_a).exists()
    # A link asked for afterwards works, and so does the password.
    assert signed_in(use(sign_in_url(User.objects.get(pk=user.pk))))
    assert Client().login(email=user.email, password=password)


def test_a_new_password_ends_the_links(personas: Personas) -> None:
    user = personas.patient_a.user
    link = sign_in_url(user)
    user.set_password("a-new-and-long-passphrase")
    user.save()
    assert refused_at_get_and_post(link)


def test_a_deactivated_account_gets_no_link_and_its_old_links_fail(personas: Personas) -> None:
    user = personas.patient_a.user
    link = sign_in_url(user)
    user_deactivate(user=user, by=personas.staff, ip=None)
    assert refused_at_get_and_post(link)
    assert ask(user.email).status_code == 200
    assert mail.outbox == []


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_therapists_and_staff_get_no_link_and_a_link_made_for_them_is_refused(
    personas: Personas, who: str
) -> None:
    user = personas.owner.user if who == "owner" else personas.staff
    assert ask(user.email).status_code == 200
    assert mail.outbox == []
    assert refused_at_get_and_post(sign_in_url(user))


def test_a_clinic_that_turns_links_off_gets_no_link_and_old_links_fail(personas: Personas) -> None:
    user = personas.patient_a.user
    link = sign_in_url(user)
    personas.clinic.sign_in_links = False
    personas.clinic.save()
    assert refused_at_get_and_post(link)
    ask(user.email)
    assert mail.outbox == []
    # Turned on again, links are sent again.
    personas.clinic.sign_in_links = True
    personas.clinic.save()
    ask(user.email)
    assert len(mail.outbox) == 1


# --- saying nothing about who has an account ----------------------------------------------


def _without(address: str, page: str) -> str:
    # The page repeats the address typed; everything else must be the same.
    return page.replace(address, "ADDRESS")


def test_a_known_and_an_unknown_address_get_the_same_page_and_only_the_known_one_an_email(
    personas: Personas, smtp: SMTPServer
) -> None:
    known, unknown = personas.patient_a.user.email, "nobody.here@example.test"
    answers = [ask(address) for address in (known, unknown)]
    assert [a.status_code for a in answers] == [200, 200]
    csrf = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    pages = [
        csrf.sub("", _without(a, r.content.decode())) for a, r in zip((known, unknown), answers, strict=True)
    ]
    assert pages[0] == pages[1]
    assert smtp.handler.counts == {known: 1}


def test_a_malformed_address_gets_the_login_page_with_the_reason(db: Any) -> None:
    response = ask("not an address")
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


# --- rate limits --------------------------------------------------------------------------


def test_one_address_gets_three_links_in_15_minutes_then_the_same_page_and_no_email(
    personas: Personas, settings: Any, clock_stands_still: None
) -> None:
    limit = settings.PLINTH_RATE_LIMITS["sign_in_link_account"][0]
    email = personas.patient_a.user.email
    # From different client addresses: the limit is the address's, not the client's.
    answers = [ask(email, ip=f"198.51.100.{n}") for n in range(limit + 2)]
    assert [a.status_code for a in answers] == [200] * (limit + 2)
    assert len(mail.outbox) == limit
    assert "Check your email" in answers[-1].content.decode()
    # Another patient's address is counted on its own.
    ask(personas.patient_b.user.email, ip="198.51.100.1")
    assert len(mail.outbox) == limit + 1


def test_one_client_asking_for_many_addresses_is_refused_with_429(
    db: Any, settings: Any, clock_stands_still: None
) -> None:
    limit = settings.PLINTH_RATE_LIMITS["sign_in_link"][0]
    answers = [ask(f"someone{n}@example.test").status_code for n in range(limit + 1)]
    assert answers == [200] * limit + [429]
    assert ask("someone@example.test", ip="192.0.2.44").status_code == 200


# --- the login page -----------------------------------------------------------------------


def test_the_login_page_offers_the_link_form_beside_the_password_form(db: Any) -> None:
    html = Client().get(reverse("login")).content.decode()
    assert f'action="{REQUEST}"' in html and 'name="link-email"' in html
    assert 'name="username"' in html and 'name="password"' in html
