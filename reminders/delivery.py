"""Sending one claimed reminder, once: the email, its retries and back-off, and why a reminder is skipped."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from careplans.day import DayExercise, day_exercises, exercises_left
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from portal.pages import absolute_url
from questionnaires.selectors import QUESTIONNAIRE_TIME, DueQuestionnaire, questionnaires_due
from reminders.models import DeliveryStatus, ReminderDelivery
from reminders.preferences import optout_url
from reminders.windows import REMINDER_MAX_LATENESS, ReminderWindow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    outcome: str  # sent, failed, skipped, busy
    retry_in: int | None = None


# --- sending --------------------------------------------------------------------


def reminder_backoff(attempt: int) -> int:
    """Seconds before retry ``attempt`` + 1: exponential, jittered, capped at 30 minutes
    (far below the broker's 2-hour visibility timeout)."""
    base = int(settings.REMINDER_RETRY_BACKOFF) * 2 ** max(0, attempt - 1)
    capped: int = min(base, 30 * 60)
    return capped + random.randint(0, max(1, capped // 5))


def _skip_reason(delivery: ReminderDelivery, plan: CarePlan | None, now: datetime) -> str:
    patient = delivery.patient
    if not patient.reminders_enabled:
        return "reminders switched off"
    if plan is None:
        return "no active plan"
    if ReminderWindow.at(patient.timezone, now).too_late(delivery.local_date, patient.reminder_time):
        return f"more than {REMINDER_MAX_LATENESS} after the reminder time"
    if _checked_in(delivery) and not _questionnaires(delivery, plan):
        return "checked in before the reminder went out"
    return ""


def _checked_in(delivery: ReminderDelivery) -> bool:
    return PainCheckIn.objects.filter(patient=delivery.patient, local_date=delivery.local_date).exists()


def _questionnaires(delivery: ReminderDelivery, plan: CarePlan) -> list[DueQuestionnaire]:
    """The plan's questionnaires due on the reminder's day and not sent (a draft included)."""
    plan.patient = delivery.patient
    if delivery.local_date > plan.end_date:
        return []
    return questionnaires_due(plan=plan, today=delivery.local_date)


def reminder_send(*, delivery_id: int, connection: Any = None) -> SendResult:
    """Send one claimed reminder, once. Safe to call any number of times for the same row.

    ``delivery_id``: a ``ReminderDelivery`` id; ``connection``: an email backend
    connection to reuse (None: a new one). Returns the outcome: "sent"; "skipped" (with
    the reason recorded: reminders off, no active plan, more than
    ``REMINDER_MAX_LATENESS`` late, already checked in); "failed" with ``retry_in``
    seconds, or None after the last attempt; "busy" (another caller holds the row,
    or it is done).
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.REMINDER_SEND_LEASE)
    # The claim of the send (healthchecks style): exactly one caller changes the row.
    took = (
        ReminderDelivery.objects.filter(pk=delivery_id, sent_at__isnull=True)
        .filter(
            Q(status__in=(DeliveryStatus.CLAIMED, DeliveryStatus.FAILED))
            | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
        )
        .update(status=DeliveryStatus.SENDING, lease_until=lease, attempts=F("attempts") + 1)
    )
    if took != 1:
        return SendResult("busy")
    delivery = ReminderDelivery.objects.select_related("patient__user", "patient__clinic").get(pk=delivery_id)
    plan = CarePlan.objects.filter(patient_id=delivery.patient_id, status=PlanStatus.ACTIVE).first()
    reason = _skip_reason(delivery, plan, now)
    if reason or plan is None:
        ReminderDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.SKIPPED, error=reason, lease_until=None
        )
        return SendResult("skipped")
    message = reminder_message(delivery=delivery, plan=plan)
    message.connection = connection
    try:
        message.send()
    except Exception as exc:  # SMTP refusals, connection errors, timeouts: all retried alike
        final = delivery.attempts >= settings.REMINDER_MAX_ATTEMPTS
        wait = None if final else reminder_backoff(delivery.attempts)
        ReminderDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED,
            error=f"attempt {delivery.attempts}: {type(exc).__name__}: {exc}"[:1000],
            lease_until=None if wait is None else timezone.now() + timedelta(seconds=wait),
        )
        log.warning("reminder %s failed (attempt %d): %s", delivery_id, delivery.attempts, exc)
        return SendResult("failed", retry_in=wait)
    ReminderDelivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), error="", lease_until=None
    )
    return SendResult("sent")


def reminder_message(*, delivery: ReminderDelivery, plan: CarePlan) -> EmailMessage:
    """The one reminder of ``delivery``'s day (patient's user and clinic loaded) on ``plan``: what
    is left that day, each with its link: the check-in if not sent (linked to its local date), the
    exercises with a session still to mark (``careplans.day``, as Today lists them), and each
    questionnaire due and not sent (its title, about how long it takes, "started" for a draft, and
    the last day of its window); then the plan week, the clinic's contact details (those filled
    in), the settings and one-click opt-out links, and a Message-ID fixed per delivery. Not sent.
    Five queries: the check-in, the exercises and their media, the marks, the questionnaires."""
    patient = delivery.patient
    user = patient.user
    day = delivery.local_date
    week = plan.week_on(day)
    stop = optout_url(patient.pk)
    checked_in = _checked_in(delivery)
    left = exercises_left(day_exercises(plan=plan, day=day))
    questionnaires = _questionnaires(delivery, plan)
    today_link = absolute_url(reverse("today"))
    lines = []
    if not checked_in:
        # The day rides in the link: a reminder sent just after midnight asks about the day before.
        lines.append(
            "- Your check-in: how is your pain? It takes a minute.\n"
            f"  {absolute_url(reverse('checkin'))}?day={day.isoformat()}"
        )
    if left:
        names = ", ".join(_exercise_words(entry) for entry in left)
        lines.append(f"- Exercises left: {names}.\n  {today_link}")
    for due in questionnaires:
        started = " (started: carry on where you left off)" if due.draft else ""
        by = f"due by {due.closes_on:%A %-d %B}"
        lines.append(
            f"- Questionnaire: {due.title}{started}, {QUESTIONNAIRE_TIME}, {by}.\n"
            f"  {absolute_url(reverse('questionnaire', kwargs={'schedule_id': due.schedule.pk}))}"
        )
    body = (
        f"Hello {user.get_short_name()},\n\n"
        f"Here is what is left for {day:%A %-d %B}:\n\n" + "\n".join(lines) + "\n\n"
        f"Everything for the day is on your Today page: {today_link}\n\n"
        f'You are in week {week} of {plan.length_weeks} of "{plan.title}".\n\n'
        f"{patient.clinic.contact_paragraph()}"
        f"This reminder comes at {patient.reminder_time:%H:%M} ({patient.timezone}) each day. "
        f"To change the time or switch reminders off, open your settings:\n"
        f"{absolute_url(reverse('patient-settings'))}\n\n"
        f"Stop these reminders with one click:\n{stop}\n"
    )
    what = "check-in" if not checked_in else "questionnaire" if len(questionnaires) == 1 else "questionnaires"
    domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "plinth.local"
    return EmailMessage(
        subject=f"Your {what} for {day:%A %d %B}",
        body=body,
        to=[user.email],
        headers={
            # Fixed per delivery: a repeat after a crash is recognisable as the same message.
            "Message-ID": f"<reminder.{delivery.pk}.{day:%Y%m%d}@{domain}>",
            "List-Unsubscribe": f"<{stop}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _exercise_words(entry: DayExercise) -> str:
    name = entry.plan_exercise.exercise.name
    if entry.plan_exercise.sessions_per_day == 1:
        return name
    left = len(entry.sessions_left)
    return f"{name} ({left} session{'' if left == 1 else 's'} left)"
