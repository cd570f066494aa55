"""Where the keyboard focus goes, as the server marks it (issue 15).

After an HTMX action one element of the answer carries ``autofocus`` (htmx focuses it once
swapped in): the saved exercise card, the button that moved an exercise, the removal's
message, the marked exercise's button, the acknowledged alert. After a failed submit, page
or HTMX, it is the first field with an error (portal.forms), which names its error through
aria-describedby, or the error summary when the error is the form's own. The browser test
tests/accounts/test_session_end_browser.py checks the focus itself.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from alerts.models import Alert, AlertKind
from careplans.models import CarePlan, PlanExercise
from portal.forms import first_error_field
from tests.factories import ExerciseFactory
from tests.helpers import HTMX, as_user

pytestmark = pytest.mark.django_db


class _Elements(HTMLParser):
    """Every start tag of a page as (tag, attributes)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def _autofocused(html: str) -> dict[str, str | None]:
    """The one element marked autofocus (asserts there is exactly one), with its tag as "tag"."""
    marked = [(tag, attrs) for tag, attrs in _Elements(html).elements if "autofocus" in attrs]
    assert len(marked) == 1, marked
    tag, attrs = marked[0]
    return attrs | {"tag": tag}


def _first_autofocused(html: str) -> dict[str, str | None]:
    """On a whole page the browser focuses the first element marked autofocus, in page order."""
    tag, attrs = next((tag, attrs) for tag, attrs in _Elements(html).elements if "autofocus" in attrs)
    return attrs | {"tag": tag}


def _described_by_exists(html: str) -> None:
    elements = _Elements(html).elements
    ids = {attrs.get("id") for _, attrs in elements}
    for _, attrs in elements:
        for target in (attrs.get("aria-describedby") or "").split():
            assert target in ids, f"aria-describedby names #{target}, which the page does not have"


def _dose(plan_exercise: PlanExercise, **changes: Any) -> dict[str, Any]:
    values = {
        "sets": plan_exercise.sets,
        "reps": plan_exercise.reps,
        "hold_seconds": plan_exercise.hold_seconds,
        "sessions_per_day": plan_exercise.sessions_per_day,
        "days_per_week": plan_exercise.days_per_week,
        "note": plan_exercise.note,
    } | changes
    return {f"plan_exercise-{plan_exercise.pk}-{name}": value for name, value in values.items()}


def _first(plan: CarePlan) -> PlanExercise:
    first = plan.exercises.order_by("position").first()
    assert first is not None
    return first


def test_a_saved_card_takes_the_focus(plan_a: CarePlan, personas: Any) -> None:
    item = _first(plan_a)
    url = reverse("plan-exercise-update", args=[plan_a.pk, item.pk])
    html = as_user(personas.owner.user).post(url, _dose(item, sets=4), **HTMX).content.decode()
    focused = _autofocused(html)
    assert (focused["tag"], focused["id"], focused["tabindex"]) == ("li", f"plan-exercise-{item.pk}", "-1")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_a_refused_dosage_focuses_its_first_error_which_names_it(
    plan_a: CarePlan, personas: Any, htmx: bool
) -> None:
    item = _first(plan_a)
    url = reverse("plan-exercise-update", args=[plan_a.pk, item.pk])
    # Two errors: the focus goes to the first field in the form's order (sets, before reps).
    response = as_user(personas.owner.user).post(url, _dose(item, reps=99, sets=42), **(HTMX if htmx else {}))
    assert response.status_code == (200 if htmx else 400)
    html = response.content.decode()
    field = f"id_plan_exercise-{item.pk}-sets"
    focused = _autofocused(html)
    assert focused["id"] == field and focused["aria-invalid"] == "true"
    assert f"{field}_error" in (focused["aria-describedby"] or "").split()
    assert f'<p class="field-error" id="{field}_error">Sets must be between 1 and 10.</p>' in html
    _described_by_exists(html)


def test_a_form_error_of_no_field_focuses_the_summary(personas: Any) -> None:
    response = as_user(personas.owner.user).post(
        reverse("password_change"),
        {"old_password": "not it", "new_password1": "x", "new_password2": "y"},
    )
    # A field error here (the old password): the field, not the summary.
    assert _autofocused(response.content.decode())["name"] == "old_password"
    login = Client().post(reverse("login"), {"username": personas.owner.user.email, "password": "no"})
    # Django's login form marks the email field autofocus too; the summary comes first.
    focused = _first_autofocused(login.content.decode())
    assert focused["tag"] == "div" and focused["class"] == "error-summary" and focused["tabindex"] == "-1"


def test_an_unbound_or_valid_form_marks_nothing(plan_a: CarePlan, personas: Any) -> None:
    html = as_user(personas.owner.user).get(reverse("plan-detail", args=[plan_a.pk])).content.decode()
    assert not [attrs for _, attrs in _Elements(html).elements if "autofocus" in attrs]
    _described_by_exists(html)


def test_first_error_field_follows_the_form_order_and_skips_hidden_fields() -> None:
    from django import forms

    class Sample(forms.Form):
        secret = forms.CharField(widget=forms.HiddenInput)
        a = forms.IntegerField()
        b = forms.IntegerField()

    assert first_error_field(Sample()) is None
    assert first_error_field(Sample({"a": "1", "b": "x"})) == "b"
    assert first_error_field(Sample({"a": "x", "b": "x"})) == "a"
    assert first_error_field(Sample({"secret": "", "a": "1", "b": "2"})) is None


def test_after_add_move_and_remove_the_focus_is_on_what_changed(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.owner.user)
    extra = ExerciseFactory(name="Gamma extra")
    html = client.post(reverse("plan-exercise-add", args=[plan_a.pk]), {"exercise": extra.pk}, **HTMX)
    added = plan_a.exercises.get(exercise=extra)
    assert _autofocused(html.content.decode())["id"] == f"plan-exercise-{added.pk}"

    move = reverse("plan-exercise-move", args=[plan_a.pk, added.pk])
    focused = _autofocused(client.post(move, {"direction": "up"}, **HTMX).content.decode())
    assert (focused["tag"], focused["value"]) == ("button", "up")
    # Moved to the end of the list, "down" is disabled: the focus goes to "up".
    focused = _autofocused(client.post(move, {"direction": "down"}, **HTMX).content.decode())
    assert (focused["tag"], focused["value"]) == ("button", "up")
    first = _first(plan_a)
    first_move = reverse("plan-exercise-move", args=[plan_a.pk, first.pk])
    client.post(first_move, {"direction": "down"}, **HTMX)
    focused = _autofocused(client.post(first_move, {"direction": "up"}, **HTMX).content.decode())
    assert (focused["tag"], focused["value"]) == ("button", "down")

    removed = client.post(reverse("plan-exercise-remove", args=[plan_a.pk, added.pk]), **HTMX)
    focused = _autofocused(removed.content.decode())
    assert focused["tag"] == "p" and focused["role"] == "status"
    assert "Removed Gamma extra." in removed.content.decode()


def test_a_failed_add_focuses_its_error(plan_a: CarePlan, personas: Any) -> None:
    response = as_user(personas.owner.user).post(
        reverse("plan-exercise-add", args=[plan_a.pk]), {"exercise": "nothing"}, **HTMX
    )
    focused = _autofocused(response.content.decode())
    assert focused["role"] == "alert" and "Choose an exercise from the library." in response.content.decode()


def test_a_marked_exercise_keeps_the_focus_on_its_button(plan_a: CarePlan, personas: Any) -> None:
    item = _first(plan_a)  # pelvic tilt, twice a day: the focus is on the session tapped
    client = as_user(personas.patient_a.user)
    response = client.post(reverse("today-mark", args=[item.pk]), {"done": "1", "session": "2"}, **HTMX)
    focused = _autofocused(response.content.decode())
    assert focused["tag"] == "button"
    assert (focused["aria-label"] or "").startswith("Session 2 done, tap to undo")
    once = plan_a.exercises.get(exercise__slug="bridge")  # once a day
    response = client.post(reverse("today-mark", args=[once.pk]), {"done": "1"}, **HTMX)
    focused = _autofocused(response.content.decode())
    assert focused["tag"] == "button" and (focused["aria-label"] or "").startswith("Done today, tap to undo")


def test_an_acknowledged_alert_takes_the_focus(plan_a: CarePlan, personas: Any) -> None:
    alert = Alert.objects.create(patient=personas.patient_a, plan=plan_a, kind=AlertKind.RED_FLAG)
    response = as_user(personas.owner.user).post(
        reverse("alert-acknowledge", args=[alert.pk]), {"next": "/caseload/"}, **HTMX
    )
    focused = _autofocused(response.content.decode())
    assert (focused["tag"], focused["id"], focused["tabindex"]) == ("li", f"alert-{alert.pk}", "-1")
    assert "Acknowledged by" in response.content.decode()
