"""One reminder a day covers everything due (issue 18): the check-in, the exercises left and each
questionnaire due or in draft, in one email per patient per local day; a patient with only a
questionnaire due still gets it; their reminder settings hold as for the check-in."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from careplans.models import CarePlan
from careplans.sessions import exercise_session_mark
from questionnaires.services import questionnaires_load_shipped, response_save_draft, response_submit
from reminders.delivery import reminder_send
from reminders.models import DeliveryStatus, ReminderDelivery
from reminders.services import reminder_claim, reminders_dispatch, reminders_due
from tests.conftest import Personas
from tests.factories import PainCheckInFactory
from tests.harness import SMTPServer
from tests.helpers import current_exercises
from tests.questionnaires.test_responses import PEG, PSFS, entry, on_day, plan_in

pytestmark = pytest.mark.django_db

#: The patients' reminder time in London; the tests run the job an hour later.
AT = time(18, 0)


@pytest.fixture
def shipped(library: None) -> None:
    questionnaires_load_shipped()


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the reminder job as beat does, the send tasks run once it commits."""

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            reminders_dispatch()

    return run


@pytest.fixture
def plan(personas: Personas, shipped: None) -> CarePlan:
    """Patient A's low-back plan from START, the shipped questionnaires loaded, reminded at AT."""
    patient = personas.patient_a
    plan = plan_in(patient, personas)
    Patient.objects.filter(pk=patient.pk).update(reminder_time=AT)
    patient.refresh_from_db()
    return plan


def check_in(plan: CarePlan, day: int) -> None:
    """The patient's check-in on plan day ``day``, at noon."""
    with on_day(plan, day, hour=12):
        PainCheckInFactory(plan=plan, local_date=plan.patient.local_today())


def mark_every_session(patient: Patient, plan: CarePlan) -> None:
    for item in current_exercises(plan):
        for session in range(1, item.sessions_per_day + 1):
            exercise_session_mark(patient=patient, plan_exercise_id=item.pk, done=True, session=session)


def link(plan: CarePlan, code: str, occasion: str) -> str:
    return "http://testserver" + reverse(
        "questionnaire", kwargs={"schedule_id": entry(plan, code, occasion).pk}
    )


def test_one_email_lists_the_checkin_exercises_left_and_each_questionnaire_due(
    personas: Personas, plan: CarePlan, dispatch: Any, settings: Any
) -> None:
    settings.SITE_URL = "http://testserver"
    patient = personas.patient_a
    with on_day(plan, 1, hour=19):
        for _ in range(3):
            dispatch()
    [message] = mail.outbox
    body = message.body
    assert message.to == [patient.user.email]
    assert message.subject == "Your check-in for Tuesday 03 March"
    assert "Here is what is left for Tuesday 3 March:" in body
    assert "http://testserver/checkin/?day=2026-03-03" in body
    assert (
        "- Exercises left: Pelvic tilt (2 sessions left), Child's pose with side bend (2 sessions left), "
        "Bridge, Bird dog, Quadruped lateral flexion (2 sessions left).\n  http://testserver/today/"
    ) in body
    assert (
        "- Questionnaire: Patient-Specific Functional Scale, about a minute, due by Sunday 8 March.\n"
        f"  {link(plan, 'psfs', 'intake')}"
    ) in body
    assert (
        "- Questionnaire: PEG: pain, enjoyment of life and general activity, about a minute, "
        f"due by Sunday 8 March.\n  {link(plan, 'peg', 'intake')}"
    ) in body
    assert body.count("- Questionnaire: ") == 2
    assert ReminderDelivery.objects.get(patient=patient).status == DeliveryStatus.SENT


def test_only_a_questionnaire_due_still_gets_exactly_one_reminder(
    personas: Personas, plan: CarePlan, dispatch: Any
) -> None:
    patient = personas.patient_a
    with on_day(plan, 3, hour=12):
        mark_every_session(patient, plan)
        PainCheckInFactory(plan=plan, local_date=patient.local_today())
        response_submit(patient=patient, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS)
        response_save_draft(patient=patient, schedule_id=entry(plan, "peg", "intake").pk, answers={"pain": 5})
    with on_day(plan, 3, hour=19):
        dispatch()
        dispatch()
    [message] = mail.outbox
    assert message.subject == "Your questionnaire for Thursday 05 March"
    assert "/checkin/" not in message.body and "Exercises left" not in message.body
    assert (
        "- Questionnaire: PEG: pain, enjoyment of life and general activity (started: carry on where you "
        "left off), about a minute, due by Sunday 8 March."
    ) in message.body
    assert message.body.count("- Questionnaire: ") == 1


def test_never_a_second_email_the_same_day_and_none_once_everything_is_done(
    personas: Personas, plan: CarePlan, dispatch: Any
) -> None:
    patient = personas.patient_a
    with on_day(plan, 2, hour=19):
        dispatch()
    assert len(mail.outbox) == 1
    # The patient checks in, then the questionnaires are still due: no second email that day.
    with on_day(plan, 2, hour=20):
        PainCheckInFactory(plan=plan, local_date=patient.local_today())
        dispatch()
    with on_day(plan, 2, hour=23):
        dispatch()
    assert len(mail.outbox) == 1
    # The next day, checked in and both questionnaires sent: nothing to remind of.
    with on_day(plan, 3, hour=12):
        PainCheckInFactory(plan=plan, local_date=patient.local_today())
        response_submit(patient=patient, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS)
        response_submit(patient=patient, schedule_id=entry(plan, "peg", "intake").pk, answers=PEG)
    with on_day(plan, 3, hour=19):
        dispatch()
    assert len(mail.outbox) == 1
    assert ReminderDelivery.objects.filter(patient=patient).count() == 1


def test_a_questionnaire_does_not_override_the_patients_reminder_settings(
    personas: Personas, plan: CarePlan, dispatch: Any
) -> None:
    check_in(plan, 1)
    # Before the patient's reminder time: not yet, though a questionnaire is due.
    with on_day(plan, 1, hour=17):
        dispatch()
    assert mail.outbox == []
    Patient.objects.filter(pk=personas.patient_a.pk).update(reminders_enabled=False)
    with on_day(plan, 1, hour=19):
        dispatch()
    assert mail.outbox == [] and not ReminderDelivery.objects.exists()


def test_a_questionnaire_sent_after_the_claim_skips_a_checked_in_patients_email(
    personas: Personas, plan: CarePlan, dispatch: Any
) -> None:
    patient = personas.patient_a
    check_in(plan, 4)
    with on_day(plan, 4, hour=19):
        [delivery_id] = reminder_claim(due=reminders_due(now=timezone.now()), now=timezone.now())
        response_submit(patient=patient, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS)
        response_submit(patient=patient, schedule_id=entry(plan, "peg", "intake").pk, answers=PEG)
        assert reminder_send(delivery_id=delivery_id).outcome == "skipped"
    assert mail.outbox == []


# --- through a real SMTP server ----------------------------------------------------------------


@pytest.mark.services
def test_the_smtp_server_receives_one_message_holding_the_checkin_and_the_questionnaires(
    personas: Personas, plan: CarePlan, dispatch: Any, smtp: SMTPServer
) -> None:
    patient = personas.patient_a
    with on_day(plan, 35, hour=19):  # week 6: the PSFS and PEG are due again
        dispatch()
        dispatch()
    assert smtp.handler.counts == {patient.user.email: 1}
    assert list(smtp.handler.message_ids.values()) == [1]
    [message] = smtp.handler.messages
    body = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "/checkin/?day=2026-04-06" in body
    assert "Pelvic tilt (2 sessions left)" in body
    path = reverse("questionnaire", kwargs={"schedule_id": entry(plan, "psfs", "week 6").pk})
    assert "Patient-Specific Functional Scale, about a minute, due by Sunday 12 April.\n  http" in body
    assert f"{path}\n" in body
    assert body.count("- Questionnaire: ") == 2
