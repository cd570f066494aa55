"""HTMX requests after the session has ended go to the login page and back (issue 15).

accounts.middleware.HtmxLoginRedirectMiddleware: an HTMX request that a page answers with
the login redirect gets a 204 with HX-Redirect to /accounts/login/?next=<the page it came
from, HX-Current-URL, this site only> and HX-Trigger "plinth:session-ended"; any other
request keeps its redirect. The browser side is tests/accounts/test_session_end_browser.py.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.middleware import (
    LAST_SEEN_KEY,
    SESSION_ENDED_EVENT,
    HtmxLoginRedirectMiddleware,
    htmx_return_path,
)
from audit.models import AuditEvent
from careplans.models import CarePlan
from tests.helpers import HTMX, as_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "accounts",
    "alerts",
    "careplans",
    "caseload",
    "checkins",
    "conversations",
    "library",
    "outcomes",
    "reminders",
    "today",
)


def _htmx_from(page: str) -> dict[str, str]:
    return HTMX | {"HTTP_HX_CURRENT_URL": page}


def _next_of(response: HttpResponse) -> str | None:
    """The next= of the response's HX-Redirect (None when there is none); asserts it is the login page."""
    target = urlsplit(response["HX-Redirect"])
    assert target.path == reverse("login") and not target.netloc
    values = parse_qs(target.query).get("next")
    return values[0] if values else None


def _idle(client: Client, seconds: int) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - seconds
    session.save()


def _dose(plan: CarePlan) -> tuple[str, dict[str, Any]]:
    bridge = plan.exercises.get(exercise__slug="bridge")
    url = reverse("plan-exercise-update", args=[plan.pk, bridge.pk])
    data = {
        f"plan_exercise-{bridge.pk}-{name}": value
        for name, value in {
            "sets": 4,
            "reps": bridge.reps,
            "hold_seconds": bridge.hold_seconds,
            "sessions_per_day": bridge.sessions_per_day,
            "days_per_week": bridge.days_per_week,
            "note": "Slowly",
        }.items()
    }
    return url, data


def test_dosage_save_after_the_idle_logout_is_sent_to_log_in_and_back(
    plan_a: CarePlan, personas: Any
) -> None:
    client = as_user(personas.owner.user)
    assert client.get(reverse("plan-detail", args=[plan_a.pk])).status_code == 200
    _idle(client, settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS + 5)
    url, data = _dose(plan_a)
    page = f"http://testserver/plans/{plan_a.pk}/"
    response = client.post(url, data, **_htmx_from(page))

    assert response.status_code == 204 and response.content == b""
    assert _next_of(response) == f"/plans/{plan_a.pk}/"
    assert response["HX-Trigger"] == SESSION_ENDED_EVENT == "plinth:session-ended"
    assert "Location" not in response
    assert "no-store" in response["Cache-Control"] and "HX-Request" in response["Vary"]
    assert plan_a.exercises.get(exercise__slug="bridge").sets != 4
    assert AuditEvent.objects.filter(action="auth.idle_logout", actor=personas.owner.user).exists()
    # The login page it goes to says why, and carries next= on to the form.
    login = client.get(response["HX-Redirect"])
    html = login.content.decode()
    assert "You were logged out because you had been away for a while." in html
    assert f'name="next" value="/plans/{plan_a.pk}/"' in html


def test_without_htmx_the_same_request_keeps_the_usual_redirect(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.owner.user)
    client.get(reverse("plan-detail", args=[plan_a.pk]))
    _idle(client, settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS + 5)
    url, data = _dose(plan_a)
    page = reverse("plan-detail", args=[plan_a.pk])
    response = client.post(url, data, HTTP_REFERER=f"http://testserver{page}")
    assert response.status_code == 302
    # Back to the page the form was on after logging in (its POST-only URL would answer 405).
    assert response["Location"] == f"{reverse('login')}?next={page}"
    assert "HX-Redirect" not in response


def test_a_signed_in_htmx_request_is_answered_as_before(plan_a: CarePlan, personas: Any) -> None:
    url, data = _dose(plan_a)
    response = as_user(personas.owner.user).post(url, data, **_htmx_from("http://testserver/"))
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert 'class="card plan-exercise"' in response.content.decode()


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("http://testserver/caseload/?q=ada+p&page=2", "/caseload/?q=ada+p&page=2"),
        ("https://testserver/caseload/", "/caseload/"),
        ("http://testserver/plans/7/#library", "/plans/7/"),
        ("/today/", "/today/"),
        ("https://evil.example/caseload/", None),
        ("http://testserver.evil.example/caseload/", None),
        ("//evil.example/caseload/", None),
        ("http://testserver//evil.example/caseload/", None),
        ("http:///evil.example/", None),
        ("javascript:alert(1)", None),
        ("http://testserver/accounts/login/?next=/caseload/", None),
        ("", None),
    ],
)
def test_next_is_the_page_it_came_from_on_this_site_only(
    personas: Any, current: str, expected: str | None
) -> None:
    extra = {"HTTP_HX_CURRENT_URL": current} if current else {}
    response = Client().get(reverse("caseload"), **HTMX, **extra)
    assert response.status_code == 204
    assert _next_of(response) == expected


def test_next_must_be_https_on_a_secure_site() -> None:
    request = RequestFactory().get(
        "/caseload/", secure=True, HTTP_HX_CURRENT_URL="http://testserver/caseload/"
    )
    assert htmx_return_path(request) == ""
    request = RequestFactory().get(
        "/caseload/", secure=True, HTTP_HX_CURRENT_URL="https://testserver/caseload/"
    )
    assert htmx_return_path(request) == "/caseload/"


@pytest.mark.parametrize(
    "answer",
    [
        HttpResponseRedirect("/caseload/"),
        HttpResponseRedirect("https://elsewhere.example/accounts/login/"),
        HttpResponse("fragment"),
        HttpResponse(status=403),
    ],
)
def test_only_a_redirect_to_the_login_page_is_changed(answer: HttpResponse) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return answer

    request = RequestFactory().get("/caseload/", HTTP_HX_REQUEST="true")
    assert HtmxLoginRedirectMiddleware(view)(request) is answer


def test_cookies_the_view_set_are_kept() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponseRedirect(reverse("login") + "?next=/x/")
        response.set_cookie("messages", "kept")
        return response

    request = RequestFactory().get("/x/", HTTP_HX_REQUEST="true")
    response = HtmxLoginRedirectMiddleware(view)(request)
    assert response.status_code == 204 and response.cookies["messages"].value == "kept"


def _htmx_endpoints() -> list[tuple[str, str, int]]:
    """Every (method, URL name, number of arguments) a template sends an HTMX request to."""
    pattern = re.compile(r"""hx-(get|post)="\{% url '([\w-]+)'([^%]*)%\}""")
    found = set()
    for app in APPS:
        for template in (ROOT / app / "templates").rglob("*.html"):
            for method, name, args in pattern.findall(template.read_text()):
                found.add((method, name, len(args.split())))
    return sorted(found)


def test_the_template_scan_finds_the_htmx_endpoints_of_issue_15() -> None:
    names = {name for _, name, _ in _htmx_endpoints()}
    # Builder, Today marks, caseload search, library filters, alert acknowledge.
    issue_15 = {
        "plan-exercise-update",
        "plan-search",
        "today-mark",
        "caseload",
        "library",
        "alert-acknowledge",
    }
    assert issue_15 <= names


@pytest.mark.parametrize(("method", "name", "arity"), _htmx_endpoints())
def test_every_htmx_endpoint_sends_an_ended_session_to_log_in(
    personas: Any, method: str, name: str, arity: int
) -> None:
    url = reverse(name, args=[1] * arity)
    page = "http://testserver/caseload/?q=ad"
    response = getattr(Client(), method)(url, **_htmx_from(page))
    assert response.status_code == 204, (name, response.status_code)
    assert _next_of(response) == "/caseload/?q=ad"
    assert response["HX-Trigger"] == SESSION_ENDED_EVENT
