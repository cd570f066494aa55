"""Phased plans (issue 17): the next phase begins at the patient's local midnight, the therapist
holds or advances a phase by hand, each move is a version with its reason and an audit event.
What follows the phase in force (Today, the handout, adherence, the builder): test_phases_pages.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from careplans.models import CarePlan
from careplans.phase_moves import careplan_phase_advance, careplan_phase_hold, plan_phases_move_due
from careplans.services import careplan_activate
from portal.errors import DomainError
from tests.careplans.phased import CONTROL_BEGINS, MOVED, START, local, phase_of, phased_plan
from tests.conftest import Personas
from tests.factories import CarePlanFactory, PlanExerciseFactory
from tests.helpers import as_user, template_plan

pytestmark = pytest.mark.django_db


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
