"""One mark per prescribed session (Plinth issue 15): an exercise prescribed "2 times a day" has two marks,
each marked and undone on its own and audited, and adherence counts sessions; the page puts what is left
first, then the check-in, then the exercises with their steps folded, and says when the day is done."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from careplans.models import CarePlan, ExerciseSession
from careplans.plan_exercises import careplan_exercise_add
from careplans.services import careplan_activate, careplan_create
from checkins.models import PainCheckIn
from library.models import Exercise
from tests.helpers import HTMX, as_user, current_exercises

pytestmark = pytest.mark.django_db


def _card(html: str, plan_exercise_id: int) -> str:
    """The HTML of one exercise's card on the Today page (or in an HTMX answer)."""
    start = html.index(f'<li id="plan-exercise-{plan_exercise_id}"')
    end = html.find('<li id="plan-exercise-', start + 1)
    return html[start : end if end != -1 else len(html)]


def test_twice_a_day_shows_two_marks_each_marked_and_undone_on_its_own(
    plan_a: CarePlan, personas: Any
) -> None:
    tilt = plan_a.exercises.get(exercise__slug="pelvic-tilt")
    assert (tilt.sessions_per_day, tilt.dosage_text.endswith("2 times a day, every day")) == (2, True)
    client = as_user(personas.patient_a.user)
    card = _card(client.get(reverse("today")).content.decode(), tilt.pk)
    assert 'aria-label="Mark session 1 done: Pelvic tilt"' in card
    assert 'aria-label="Mark session 2 done: Pelvic tilt"' in card
    assert card.count('name="session"') == 2

    url = reverse("today-mark", args=[tilt.pk])
    response = client.post(url, {"done": "1", "session": "2"}, **HTMX)
    assert response.status_code == 200
    card = _card(response.content.decode(), tilt.pk)
    assert "Session 2 done" in card and "Mark session 1 done" in card
    assert "1 of 8</strong> sessions done today" in response.content.decode()
    today = personas.patient_a.local_today()
    assert list(ExerciseSession.objects.values_list("plan_exercise", "local_date", "number")) == [
        (tilt.pk, today, 2)
    ]

    client.post(url, {"done": "1", "session": "1"}, **HTMX)
    client.post(url, {"done": "1", "session": "1"}, **HTMX)  # a double tap changes nothing
    assert sorted(ExerciseSession.objects.values_list("number", flat=True)) == [1, 2]
    response = client.post(url, {"done": "0", "session": "2"}, **HTMX)  # undo, the same day
    assert sorted(ExerciseSession.objects.values_list("number", flat=True)) == [1]
    assert "Mark session 2 done" in _card(response.content.decode(), tilt.pk)

    events = [
        (event.action, event.data["session"], event.data["local_date"])
        for event in AuditEvent.objects.filter(action__startswith="exercise_session.").order_by("pk")
    ]
    assert events == [
        ("exercise_session.done", 2, today.isoformat()),
        ("exercise_session.done", 1, today.isoformat()),
        ("exercise_session.undone", 2, today.isoformat()),
    ]


def test_a_session_the_exercise_does_not_have_is_refused_with_a_message(
    plan_a: CarePlan, personas: Any
) -> None:
    bridge = plan_a.exercises.get(exercise__slug="bridge")  # once a day
    client = as_user(personas.patient_a.user)
    url = reverse("today-mark", args=[bridge.pk])
    response = client.post(url, {"done": "1", "session": "2"}, **HTMX)
    assert response.status_code == 200
    assert "Bridge has 1 session a day; there is no session 2." in response.content.decode()
    response = client.post(url, {"done": "1", "session": "9"}, follow=True)
    assert response.status_code == 200
    assert "Tap the button again to mark the exercise." in response.content.decode()
    assert not ExerciseSession.objects.exists()


def test_one_of_two_sessions_is_half_of_that_exercise_day_everywhere(personas: Any, library: None) -> None:
    plan = careplan_create(
        patient=personas.patient_a,
        by=personas.owner,
        title="Tilts",
        start_date=personas.patient_a.local_today(),
    )
    tilt_id = Exercise.objects.get(slug="pelvic-tilt").pk
    careplan_exercise_add(plan=plan, by=personas.owner, exercise_id=tilt_id)
    plan = careplan_activate(plan=plan, by=personas.owner)
    tilt = plan.exercises.get()
    assert tilt.sessions_per_day == 2
    patient = as_user(personas.patient_a.user)
    patient.post(reverse("today-mark", args=[tilt.pk]), {"done": "1", "session": "1"})
    assert (
        "Adherence so far: <strong>50%</strong> (1 of 2 sessions)"
        in patient.get(reverse("today")).content.decode()
    )
    therapist = as_user(personas.owner.user)
    caseload = therapist.get(reverse("caseload")).content.decode()
    assert '<strong>50%</strong> <span class="muted small">(1 of 2)</span>' in caseload
    record = therapist.get(reverse("patient-record", args=[personas.patient_a.pk])).content.decode()
    assert "1 of 2" in record and "50%" in record
    detail = therapist.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "<strong>50%</strong>" in detail


def test_what_is_left_comes_first_then_the_check_in_then_the_exercises_folded(
    plan_a: CarePlan, personas: Any
) -> None:
    client = as_user(personas.patient_a.user)
    html = client.get(reverse("today")).content.decode()
    left, checkin, exercises = (
        html.index("Left today"),
        html.index("Today's check-in</h2>"),
        html.index("Today's exercises</h2>"),
    )
    assert left < checkin < exercises
    assert "<details open" not in html and html.count("<details>") == 5
    # Each exercise with a session left, by name, linking to its card.
    for plan_exercise in current_exercises(plan_a):
        assert f'href="#plan-exercise-{plan_exercise.pk}"' in html
    assert "You're done for today" not in html


def test_the_day_is_done_when_every_session_is_marked_and_the_check_in_is_in(
    plan_a: CarePlan, personas: Any
) -> None:
    client = as_user(personas.patient_a.user)
    for plan_exercise in plan_a.exercises.all():
        for session in range(1, plan_exercise.sessions_per_day + 1):
            client.post(reverse("today-mark", args=[plan_exercise.pk]), {"done": "1", "session": session})
    html = client.get(reverse("today")).content.decode()
    assert "Exercises done" in html and "Just your check-in is left." in html
    assert "Today's check-in</h2>" in html and "You're done for today" not in html
    PainCheckIn.objects.create(
        patient=personas.patient_a, plan=plan_a, local_date=personas.patient_a.local_today(), nprs=3
    )
    html = client.get(reverse("today")).content.decode()
    assert "You're done for today" in html
    assert "8 of 8</strong> sessions done today · check-in sent" in html
    assert "Every session is marked and your check-in is in." in html
    assert "Today's check-in</h2>" not in html and "Left today" not in html
    assert "Adherence so far: <strong>100%</strong> (8 of 8 sessions)" in html
