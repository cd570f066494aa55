"""Phased plans (issue 17): the next phase begins at the patient's local midnight, the therapist
holds or advances a phase by hand, each move is a version with its reason and an audit event,
and the Today page, the handout and adherence follow the phase in force."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader
from rest_framework.test import APIClient

from accounts.models import Patient
from audit.models import AuditEvent
from careplans.adherence import adherence_for_plans, prescribed_sessions
from careplans.adherence_weeks import weekly_adherence
from careplans.models import CarePlan, ExerciseSession, PlanPhase
from careplans.phase_moves import careplan_phase_advance, careplan_phase_hold, plan_phases_move_due
from careplans.services import careplan_activate
from portal.errors import DomainError
from tests.conftest import Personas
from tests.factories import CarePlanFactory, PlanExerciseFactory
from tests.helpers import as_user, current_exercises, template_plan

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)  # a Monday; week 5 (the second phase) begins on 30 March
CONTROL_BEGINS = START + timedelta(days=28)
MOVED = "Moved from Phase 1 of 3: Settle and move · weeks 1-4 to Phase 2 of 3: Control · weeks 5-8."


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def phased_plan(patient: Patient, personas: Personas, zone: str) -> CarePlan:
    """The shared low-back template for ``patient`` living in ``zone``, starting on START."""
    patient.timezone = zone
    patient.save(update_fields=["timezone"])
    with time_machine.travel(local(zone, 2026, 3, 2, 9, 0), tick=False):
        return template_plan(patient, personas.owner)


def phase_of(plan: CarePlan) -> str:
    plan.refresh_from_db()
    assert plan.current_phase is not None
    return plan.current_phase.name


def test_the_next_phase_begins_at_each_patients_local_midnight(personas: Personas, library: None) -> None:
    auckland = phased_plan(personas.patient_a, personas, "Pacific/Auckland")
    los_angeles = phased_plan(personas.patient_b, personas, "America/Los_Angeles")
    assert phase_of(auckland) == phase_of(los_angeles) == "Settle and move"

    with time_machine.travel(local("Pacific/Auckland", 2026, 3, 29, 23, 59), tick=False):
        assert plan_phases_move_due().moved == 0
    with time_machine.travel(local("Pacific/Auckland", 2026, 3, 30, 0, 1), tick=False):
        result = plan_phases_move_due()
        assert (result.checked, result.moved) == (2, 1)
        # Los Angeles is still on the morning of the 29th.
        assert (phase_of(auckland), phase_of(los_angeles)) == ("Control", "Settle and move")
        html = as_user(personas.patient_a.user).get(reverse("today")).content.decode()
    assert "Phase 2 of 3: Control" in html and "weeks 5-8" in html
    assert "Abdominal bracing" in html and "Pelvic tilt" not in html
    with time_machine.travel(local("America/Los_Angeles", 2026, 3, 29, 23, 59), tick=False):
        assert plan_phases_move_due().moved == 0
    with time_machine.travel(local("America/Los_Angeles", 2026, 3, 30, 0, 1), tick=False):
        assert plan_phases_move_due().moved == 1
        assert phase_of(los_angeles) == "Control"
        # A second run, or a second beat, moves nothing again.
        assert plan_phases_move_due().moved == 0

    for plan in (auckland, los_angeles):
        version = plan.versions.order_by("-number").first()
        assert version is not None and version.number == 2 and version.created_by is None
        assert version.reason == "Phase 2 of 3: Control (weeks 5-8) began in week 5."
        assert version.summary == MOVED
        assert version.content["phase"]["label"] == "Phase 2 of 3: Control · weeks 5-8"
        first, control, strength = plan.phases.order_by("starts_week")
        assert (first.began_on, first.ended_on) == (START, CONTROL_BEGINS - timedelta(days=1))
        assert (control.began_on, control.ended_on, strength.began_on) == (CONTROL_BEGINS, None, None)
        event = AuditEvent.objects.get(action="careplan.phase_began", object_id=str(plan.pk))
        assert (event.data["to"], event.data["began_on"], event.data["week"]) == ("Control", "2026-03-30", 5)


def test_a_late_run_dates_the_phase_from_its_own_first_day(personas: Personas, library: None) -> None:
    """The worker was down over the weekend: the phase still began at the patient's midnight."""
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 4, 1, 10, 0), tick=False):
        assert plan_phases_move_due().moved == 1
    assert plan.phases.get(name="Control").began_on == CONTROL_BEGINS


def test_a_held_phase_stays_until_released(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 20, 10, 0), tick=False):
        careplan_phase_hold(plan=plan, by=personas.owner, held=True, reason="Pain flared after a fall.")
        with pytest.raises(DomainError) as again:
            careplan_phase_hold(plan=plan, by=personas.owner, held=True, reason="Twice.")
        assert again.value.code == "already_held"
    with time_machine.travel(local("Europe/London", 2026, 3, 31, 10, 0), tick=False):
        assert plan_phases_move_due() == type(plan_phases_move_due())(checked=0, moved=0)
        assert phase_of(plan) == "Settle and move"
        html = as_user(personas.patient_a.user).get(reverse("today")).content.decode()
        assert "Phase 1 of 3: Settle and move" in html and "Pelvic tilt" in html
    with time_machine.travel(local("Europe/London", 2026, 4, 2, 10, 0), tick=False):
        careplan_phase_hold(plan=plan, by=personas.owner, held=False)
        # Released past the next phase's start: it begins at once, from today.
        assert phase_of(plan) == "Control" and not plan.phase_held
        with pytest.raises(DomainError) as loose:
            careplan_phase_hold(plan=plan, by=personas.owner, held=False)
        assert loose.value.code == "not_held"
    assert plan.phases.get(name="Control").began_on == date(2026, 4, 2)
    versions = list(plan.versions.order_by("number").values_list("reason", "summary"))
    assert versions[1:] == [
        (
            "Pain flared after a fall.",
            "Phase 1 of 3: Settle and move · weeks 1-4 held: no automatic move until released.",
        ),
        ("Hold released.", "Hold on Phase 1 of 3: Settle and move · weeks 1-4 released."),
        ("Phase 2 of 3: Control (weeks 5-8) began in week 5.", MOVED),
    ]
    actions = AuditEvent.objects.filter(object_id=str(plan.pk), action__startswith="careplan.phase")
    assert list(actions.order_by("pk").values_list("action", flat=True)) == [
        "careplan.phase_held",
        "careplan.phase_released",
        "careplan.phase_began",
    ]


def test_the_therapist_advances_a_phase_by_hand_from_the_plan_page(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    client = as_user(personas.owner.user)
    url = reverse("plan-phase-advance", args=[plan.pk])
    with time_machine.travel(local("Europe/London", 2026, 3, 10, 10, 0), tick=False):
        page = client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
        assert "Phase 1 of 3: Settle and move" in page and "Advance to the next phase now" in page
        refused = client.post(url, {"reason": "  "})
        # The plan again, the advance form open and the message at its reason.
        assert refused.status_code == 400 and phase_of(plan) == "Settle and move"
        html = refused.content.decode()
        assert "<details open>\n      <summary>Advance to the next phase now" in html
        assert 'id="phase-advance-error" role="alert">The phase was not changed: Say why' in html
        done = client.post(url, {"reason": "Moving well, pain 2/10."})
        assert done.status_code == 302 and done["Location"].endswith("#plan-phase")
        assert phase_of(plan) == "Control"
        history = client.get(reverse("plan-history", args=[plan.pk])).content.decode()
    assert "Moving well, pain 2/10." in history and MOVED in history
    first, control, _ = plan.phases.order_by("starts_week")
    assert (first.ended_on, control.began_on) == (date(2026, 3, 9), date(2026, 3, 10))
    event = AuditEvent.objects.get(action="careplan.phase_advanced", object_id=str(plan.pk))
    assert event.data == {"from": "Settle and move", "to": "Control", "reason": "Moving well, pain 2/10."}
    # The schedule carries on from there: nothing at week 5, the third phase at week 9.
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 1, 0), tick=False):
        assert plan_phases_move_due().moved == 0
    with time_machine.travel(local("Europe/London", 2026, 4, 27, 1, 0), tick=False):
        assert plan_phases_move_due().moved == 1 and phase_of(plan) == "Strength"
        client = as_user(personas.owner.user)  # the session of 10 March has expired
        last = client.post(url, {"reason": "More."}, follow=True).content.decode()
        assert "Strength is the plan&#x27;s last phase." in last
        api = APIClient()
        api.force_authenticate(personas.owner.user)
        answer = api.post(
            reverse("api-careplan-phase-advance", args=[plan.pk]), {"reason": "More."}, format="json"
        )
        assert answer.status_code == 400
        assert answer.json() == {"non_field_errors": ["Strength is the plan's last phase."]}


def test_the_api_holds_and_releases_and_refuses_with_the_field(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    api = APIClient()
    api.force_authenticate(personas.owner.user)
    with time_machine.travel(local("Europe/London", 2026, 3, 10, 10, 0), tick=False):
        hold = reverse("api-careplan-phase-hold", args=[plan.pk])
        blank = api.post(hold, {"reason": " "}, format="json")
        assert blank.status_code == 400 and list(blank.json()) == ["reason"]
        no_phases = api.post(
            reverse("api-careplan-phase-hold", args=[plain_plan(personas).pk]), {"reason": "x"}, format="json"
        )
        assert no_phases.json() == {"non_field_errors": ["This plan has no phases."]}
        held = api.post(hold, {"reason": "Wait for the scan."}, format="json")
        assert held.status_code == 200 and held.json()["phase_held"] is True
        assert [p["name"] for p in held.json()["phases"]] == ["Settle and move", "Control", "Strength"]
        released = api.post(reverse("api-careplan-phase-release", args=[plan.pk]), {}, format="json")
        assert released.status_code == 200 and released.json()["phase_held"] is False
    outsider = APIClient()
    outsider.force_authenticate(personas.outsider.user)
    assert outsider.post(hold, {"reason": "x"}, format="json").status_code == 404


def plain_plan(personas: Personas) -> CarePlan:
    """An active plan of patient B without phases."""
    plan = CarePlanFactory(patient=personas.patient_b, therapist=personas.owner)
    PlanExerciseFactory(plan=plan)
    return plan


def test_phase_changes_are_refused_for_plans_without_phases_or_not_active(
    personas: Personas, library: None
) -> None:
    plain = plain_plan(personas)
    with pytest.raises(DomainError) as none:
        careplan_phase_advance(plan=plain, by=personas.owner, reason="Ready.")
    assert none.value.code == "no_phases"
    draft = template_plan(personas.patient_a, personas.owner, activate=False)
    with pytest.raises(DomainError) as inactive:
        careplan_phase_hold(plan=draft, by=personas.owner, held=True, reason="Wait.")
    assert inactive.value.code == "plan_not_active"
    with pytest.raises(DomainError) as other:
        careplan_phase_advance(
            plan=careplan_activate(plan=draft, by=personas.owner), by=personas.outsider, reason="x"
        )
    assert other.value.code == "not_found"


def test_a_plan_activated_late_starts_in_the_phase_of_its_week(personas: Personas, library: None) -> None:
    with time_machine.travel(local("Europe/London", 2026, 3, 2, 9, 0), tick=False):
        draft = template_plan(personas.patient_a, personas.owner, activate=False)
    with time_machine.travel(local("Europe/London", 2026, 4, 1, 9, 0), tick=False):
        plan = careplan_activate(plan=draft, by=personas.owner)
    assert phase_of(plan) == "Control"
    assert plan.phases.get(name="Control").began_on == CONTROL_BEGINS
    assert plan.phases.get(name="Settle and move").began_on is None


def test_adherence_counts_each_phases_exercises_only_while_it_is_in_force(
    personas: Personas, library: None
) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 1, 0), tick=False):
        plan_phases_move_due()
    today = CONTROL_BEGINS + timedelta(days=3)
    due = 0
    for item in plan.exercises.select_related("phase"):
        phase: PlanPhase = item.phase
        if phase.began_on is None:
            continue
        due += prescribed_sessions(
            plan_start=START,
            days_per_week=item.days_per_week,
            first=phase.began_on,
            last=min(phase.ended_on or today, today),
            sessions_per_day=item.sessions_per_day,
        )
    # Every prescribed session of the first phase's last day and the second's first day done,
    # and a tick of a third-phase exercise that cannot count.
    ticks = [
        ExerciseSession(patient=personas.patient_a, plan_exercise=item, local_date=day, number=n)
        for day in (CONTROL_BEGINS - timedelta(days=1), CONTROL_BEGINS)
        for item in plan.exercises.filter(phase__began_on__lte=day).exclude(phase__ended_on__lt=day)
        for n in range(1, item.sessions_per_day + 1)
    ]
    strength = plan.exercises.filter(phase__name="Strength").first()
    assert strength is not None
    ticks.append(ExerciseSession(patient=personas.patient_a, plan_exercise=strength, local_date=today))
    ExerciseSession.objects.bulk_create(ticks)
    adherence = adherence_for_plans([plan], today=today)[plan.pk]
    assert (adherence.prescribed, adherence.done) == (due, len(ticks) - 1)
    weeks = weekly_adherence(plan, today=today)
    assert sum(week.adherence.prescribed for week in weeks) == due
    assert sum(week.adherence.done for week in weeks) == len(ticks) - 1


def test_the_handout_names_the_phase_and_lists_its_exercises(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 31, 9, 0), tick=False):
        plan_phases_move_due()
        patient = as_user(personas.patient_a.user)
        html = patient.get(reverse("my-handout")).content.decode()
        pdf = patient.get(reverse("my-handout-pdf")).content
    assert "Phase 2 of 3: Control" in html and "weeks 5-8" in html
    plan.refresh_from_db()
    names = [item.exercise.name for item in current_exercises(plan).select_related("exercise")]
    assert names == ["Abdominal bracing", "Quadruped lateral flexion", "Single-leg bridge", "Bird dog"]
    assert all(name in html for name in names) and "Pelvic tilt" not in html
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Phase 2 of 3: Control" in text and "Abdominal bracing" in text and "Pelvic tilt" not in text


def test_the_builder_groups_exercises_by_phase(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 3, 9, 0), tick=False):
        html = as_user(personas.owner.user).get(reverse("plan-detail", args=[plan.pk])).content.decode()
    headings = [
        html.index(f"Phase {n} of 3: {name}")
        for n, name in ((1, "Settle and move"), (2, "Control"), (3, "Strength"))
    ]
    assert headings == sorted(headings)
    for phase, (start, end) in zip(
        plan.phases.order_by("starts_week"),
        zip(headings, [*headings[1:], len(html)], strict=True),
        strict=True,
    ):
        for item in phase.exercises.all():
            assert start < html.index(f'id="plan-exercise-{item.pk}"') < end


@pytest.mark.parametrize("page", ["today", "builder"])
def test_a_phase_adds_one_query_whatever_the_plans_size(personas: Personas, library: None, page: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    client = as_user(personas.owner.user if page == "builder" else personas.patient_a.user)
    url = reverse("plan-detail", args=[plan.pk]) if page == "builder" else reverse("today")

    def count() -> int:
        with time_machine.travel(local("Europe/London", 2026, 3, 3, 9, 0), tick=False):
            client.get(url)  # sessions, caches
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
        return len(queries)

    phased = count()
    # Twice the exercises in every phase: the same count.
    for item in list(plan.exercises.all()):
        PlanExerciseFactory(plan=plan, phase=item.phase)
    assert count() == phased
    # The same plan without its phases: one query fewer.
    CarePlan.objects.filter(pk=plan.pk).update(current_phase=None)
    plan.exercises.update(phase=None)
    assert count() == phased - 1


def test_a_mark_from_last_nights_page_after_the_phase_moved_redraws_the_page(
    personas: Personas, library: None
) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    tilt = plan.exercises.get(exercise__slug="pelvic-tilt")
    client = as_user(personas.patient_a.user)
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 0, 20), tick=False):
        plan_phases_move_due()
        response = client.post(
            reverse("today-mark", args=[tilt.pk]),
            {"done": "1", "local_date": "2026-03-29"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 204 and response["HX-Redirect"] == reverse("today")
        assert "Saved for Sunday 29 March" in client.get(reverse("today")).content.decode()
    assert ExerciseSession.objects.get(plan_exercise=tilt).local_date == date(2026, 3, 29)
    # Today, the first phase's exercise is no longer to be marked.
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 9, 0), tick=False):
        client = as_user(personas.patient_a.user)
        client.post(reverse("today-mark", args=[tilt.pk]), {"done": "1", "local_date": "2026-03-30"})
    assert ExerciseSession.objects.filter(plan_exercise=tilt).count() == 1


def test_moving_the_start_date_moves_the_first_phases_start(personas: Personas, library: None) -> None:
    from careplans.services import careplan_update_details

    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 3, 9, 0), tick=False):
        careplan_update_details(
            plan=plan,
            by=personas.owner,
            title=plan.title,
            condition="",
            start_date=START - timedelta(days=7),
            length_weeks=12,
        )
    assert plan.phases.get(name="Settle and move").began_on == START - timedelta(days=7)


def test_the_beat_runs_the_phase_task_every_quarter_hour(personas: Personas, library: None) -> None:
    from careplans.tasks import plan_phases_advance_due
    from portal.celery import app

    entry = app.conf.beat_schedule["plan-phases-advance"]
    assert entry["task"] == plan_phases_advance_due.name == "careplans.tasks.plan_phases_advance_due"
    assert sorted(entry["schedule"].minute) == [1, 16, 31, 46]
    phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 0, 1), tick=False):
        assert plan_phases_advance_due.delay().get() == {"checked": 1, "moved": 1}
        assert plan_phases_advance_due.delay().get() == {"checked": 1, "moved": 0}


def test_a_phase_after_the_plans_last_week_never_begins_by_itself(personas: Personas, library: None) -> None:
    from careplans.services import careplan_update_details

    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 3, 9, 0), tick=False):
        careplan_update_details(
            plan=plan, by=personas.owner, title=plan.title, condition="", start_date=START, length_weeks=4
        )
    with time_machine.travel(local("Europe/London", 2026, 4, 1, 9, 0), tick=False):
        assert plan_phases_move_due() == type(plan_phases_move_due())(checked=0, moved=0)
    assert phase_of(plan) == "Settle and move"


def test_advancing_a_held_plan_by_hand_keeps_the_hold_and_says_so(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 10, 10, 0), tick=False):
        careplan_phase_hold(plan=plan, by=personas.owner, held=True, reason="Watch the knee.")
        careplan_phase_advance(plan=plan, by=personas.owner, reason="Ready for control work.")
    plan.refresh_from_db()
    assert plan.phase_held and phase_of(plan) == "Control"
    summary = plan.versions.order_by("-number").values_list("summary", flat=True).first()
    assert summary is not None and "The plan stays held: no automatic move until released." in summary


def test_a_hold_without_a_reason_reopens_its_form_with_the_message(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    client = as_user(personas.owner.user)
    with time_machine.travel(local("Europe/London", 2026, 3, 10, 10, 0), tick=False):
        refused = client.post(reverse("plan-phase-hold", args=[plan.pk]), {"reason": "\u200b"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "<details open>\n      <summary>Hold this phase" in html
    assert 'id="phase-hold-error" role="alert">The phase was not changed:' in html
    plan.refresh_from_db()
    assert not plan.phase_held
