"""`make run`'s demo clinic: the outcome report is populated on the first run, and consistent."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import User
from alerts.models import Alert, AlertKind
from careplans.models import CarePlan, PlanStatus
from conversations.models import Conversation, Message
from conversations.selectors import unread_count
from library.models import Exercise, ExerciseStatus
from outcomes.models import OutcomeSnapshot

pytestmark = pytest.mark.django_db


def test_the_demo_clinic_has_plans_that_reached_week_12_and_every_snapshot() -> None:
    call_command("demo_clinic")
    plans = CarePlan.objects.filter(patient__clinic__name__contains="(demo)")
    assert plans.filter(status=PlanStatus.COMPLETED).count() >= 2
    # Every plan's outcome is written, as the nightly job would have.
    assert OutcomeSnapshot.objects.filter(plan__in=plans).count() == plans.count()
    assert OutcomeSnapshot.objects.filter(plan__in=plans, reached_week_12=True).count() >= 2


def test_running_the_demo_command_again_changes_nothing() -> None:
    call_command("demo_clinic")
    before = (CarePlan.objects.count(), OutcomeSnapshot.objects.count())
    call_command("demo_clinic")
    assert (CarePlan.objects.count(), OutcomeSnapshot.objects.count()) == before


def test_the_demo_clinics_worsening_alert_is_there_from_the_first_minute(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The newcomer's report: Priya's rising pain had no alert to acknowledge until the hourly
    job's next run at :40."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_clinic")
    assert Alert.objects.filter(patient__user__email="priya@demo.plinth", kind=AlertKind.WORSENING).exists()


def test_the_demo_clinic_has_exercises_of_its_own_beside_the_shared_library() -> None:
    call_command("demo_clinic")
    own = Exercise.objects.exclude(clinic=None).order_by("name")
    assert [(e.name, e.status, e.copied_from.slug if e.copied_from else None) for e in own] == [
        ("Bridge with a band (Riverside)", ExerciseStatus.PUBLISHED, "bridge"),
        ("Dead bug", ExerciseStatus.DRAFT, "dead-bug"),
        ("Hip hinge with a broom handle", ExerciseStatus.PUBLISHED, None),
    ]
    assert {e.clinic.name for e in own} == {"Riverside Physiotherapy (demo)"}
    assert Exercise.objects.get(name="Bridge", clinic=None).equipment != "band"


def test_the_demo_clinics_own_exercises_have_drawn_pictures(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("demo_clinic")
    for exercise in Exercise.objects.exclude(clinic=None):
        pictures = exercise.pictures
        assert len(pictures) == 2, exercise.name
        assert pictures[0].description.startswith("Start:")
        assert all(p.content_type == "image/png" and (p.width, p.height) == (800, 600) for p in pictures)
        assert all((tmp_path / p.file.name).is_file() for p in pictures)


def test_the_demo_plans_are_in_the_phase_of_their_week() -> None:
    """Issue 17: the low-back template's three phases; each demo plan is in the phase its week
    has reached, the earlier ones recorded as run."""
    call_command("demo_clinic")
    alex = CarePlan.objects.get(patient__user__email="patient@demo.plinth")  # in week 6
    assert alex.current_phase is not None and alex.current_phase.name == "Control"
    first = alex.phases.get(name="Settle and move")
    assert first.began_on == alex.start_date and first.ended_on is not None
    jordan = CarePlan.objects.get(patient__user__email="jordan@demo.plinth")  # in week 3
    assert jordan.current_phase is not None and jordan.current_phase.name == "Settle and move"


def test_the_demo_patients_today_shows_an_exercise_with_pictures(settings: Any, tmp_path: Any) -> None:
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    settings.MEDIA_ROOT = tmp_path
    call_command("demo_clinic")
    client = Client()
    client.force_login(User.objects.get(email="patient@demo.plinth"))
    today = client.get(reverse("today")).content.decode()
    assert "Hip hinge with a broom handle" in today
    assert 'alt="Start: standing tall, a broom handle on head, upper back and tailbone."' in today


def test_the_demo_clinic_has_questionnaire_history() -> None:
    """Issue 18: the demo patients answered the questionnaires whose windows have come, through
    the services on a day inside each window; the record shows them, Sam's current ones are a
    draft and not started, and a second run changes nothing."""
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Patient, User
    from questionnaires.models import InstrumentResponse, ResponseStatus

    call_command("demo_clinic")
    alex = Patient.objects.get(user__email="patient@demo.plinth")
    sent = InstrumentResponse.objects.filter(patient=alex, status=ResponseStatus.COMPLETED)
    assert {(r.instrument.code, r.occasion) for r in sent} == {("psfs", "intake"), ("peg", "intake")}
    assert all(r.score is not None and r.opens_on <= r.completed_at.date() <= r.closes_on for r in sent)
    psfs = sent.get(instrument__code="psfs")
    assert psfs.answers["activity-1"] == "Climbing stairs"
    # Tom, who finished, answered all three occasions and named a new activity at week 6.
    tom = InstrumentResponse.objects.filter(patient__user__email="tom@demo.plinth")
    assert tom.filter(status=ResponseStatus.COMPLETED).count() == 7
    assert "activity-3" not in tom.get(instrument__code="psfs", occasion="intake").answers
    assert tom.get(instrument__code="psfs", occasion="week 6").answers["activity-3"] == "Running for the bus"
    peg = [r.score for r in tom.filter(instrument__code="peg").order_by("opens_on")]
    assert peg[0] is not None and peg[-1] is not None and peg[-1] < peg[0]
    assert (tom.get(instrument__code="groc").score or 0) > 0
    sam = InstrumentResponse.objects.filter(patient__user__email="sam@demo.plinth", occasion="week 12")
    assert {(r.instrument.code, r.status) for r in sam} == {
        ("peg", ResponseStatus.COMPLETED),
        ("psfs", ResponseStatus.DRAFT),
    }
    client = Client()
    client.force_login(User.objects.get(email="therapist@demo.plinth"))
    record = client.get(reverse("patient-record", args=[alex.pk])).content.decode()
    section = record[record.index('id="questionnaires-heading"') :]
    assert 'id="scores-psfs-' in section and 'id="scores-peg-' in section  # the charts
    assert "Climbing stairs" in record
    client.force_login(User.objects.get(email="sam@demo.plinth"))
    today = client.get(reverse("today")).content.decode()
    assert "Continue Patient-Specific Functional Scale" in today
    assert "Start Global rating of change" in today
    count = InstrumentResponse.objects.count()
    call_command("demo_clinic")
    assert InstrumentResponse.objects.count() == count


def test_the_demo_clinic_has_conversations_some_unread_and_one_needing_a_reply() -> None:
    call_command("demo_clinic")
    assert Conversation.objects.filter(last_message_at__isnull=False).count() == 4
    assert Message.objects.count() >= 9
    assert list(
        Conversation.objects.filter(needs_reply=True).values_list("patient__user__email", flat=True)
    ) == ["priya@demo.plinth"]
    dana, chris, alex = (
        User.objects.get(email=email)
        for email in ("therapist@demo.plinth", "colleague@demo.plinth", "patient@demo.plinth")
    )
    assert (unread_count(user=dana), unread_count(user=chris), unread_count(user=alex)) == (1, 4, 1)


def test_the_demo_patient_has_the_week_6_questionnaires_due_today() -> None:
    """A newcomer signing in as Alex (the README's patient) finds questionnaires to answer: the
    plan is in week 6 on its day 36, the week-6 PSFS and PEG (days 35-41) open and not answered,
    offered on Today (the card and the "Left today" list) and in the day's reminder; the intake
    ones sent."""
    from datetime import timedelta

    from django.test import Client
    from django.urls import reverse

    from accounts.models import Patient
    from questionnaires.models import ResponseStatus
    from questionnaires.selectors import questionnaires_due
    from reminders.delivery import reminder_message
    from reminders.models import ReminderDelivery

    call_command("demo_clinic")
    alex = Patient.objects.get(user__email="patient@demo.plinth")
    plan = CarePlan.objects.get(patient=alex, status=PlanStatus.ACTIVE)
    today = alex.local_today()
    assert (today - plan.start_date).days == 36 and plan.week_on(today) == 6
    plan.patient = alex
    due = questionnaires_due(plan=plan, today=today)
    assert sorted((d.schedule.instrument_code, d.schedule.occasion, d.status) for d in due) == [
        ("peg", "week 6", ""),
        ("psfs", "week 6", ""),
    ]
    assert {d.closes_on for d in due} == {plan.start_date + timedelta(days=41)}
    assert set(alex.responses.values_list("occasion", "status")) == {("intake", ResponseStatus.COMPLETED)}
    client = Client()
    client.force_login(alex.user)
    html = client.get(reverse("today")).content.decode()
    left = html.split('id="today-progress"', 1)[1].split("</section>", 1)[0]
    for entry in due:
        url = reverse("questionnaire", kwargs={"schedule_id": entry.schedule.pk})
        assert f'href="{url}">Start {entry.title}' in html
        assert f'<a href="{url}">{entry.title}</a>' in left
        assert client.get(url).status_code == 200
    email = reminder_message(delivery=ReminderDelivery(patient=alex, local_date=today), plan=plan)
    assert email.body.count("- Questionnaire: ") == 2
