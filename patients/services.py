"""Writes for patients: invitations and the exercises they mark done."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from careplans.models import PlanExercise, PlanStatus
from patients.audit import audit_log
from patients.localday import answer_day
from patients.models import (
    Clinic,
    ExerciseSession,
    Invitation,
    Patient,
    Therapist,
    User,
    validate_timezone,
)
from portal.errors import DomainError

log = logging.getLogger(__name__)

INVITATION_DAYS = 7
# A public "send me a new link" form must not become a way to flood an inbox.
INVITATION_RESEND_PAUSE = timedelta(minutes=2)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("invitation", args=[token])


def _send_invitation(*, patient: Patient, token: str, clinic_name: str) -> None:
    """Send after commit: the link must never point at a row that was rolled back."""
    url = invitation_url(token)
    first_name = patient.user.get_short_name()
    body = (
        f"Hello {first_name},\n\n"
        f"{clinic_name} has set up Plinth for you: your home exercises and a daily pain check-in,\n"
        "on your phone or computer.\n\n"
        "Open this link to choose your password and see today's exercises:\n\n"
        f"{url}\n\n"
        f"The link works once and expires in {INVITATION_DAYS} days. If it has expired, the page\n"
        "lets you ask for a new one.\n\n"
        "If you were not expecting this email, you can ignore it.\n"
    )
    email = patient.user.email

    def send() -> None:
        try:
            send_mail(f"Your exercise plan at {clinic_name}", body, None, [email])
        except Exception:
            # The patient exists either way; the therapist can resend from the patient's page.
            log.exception("invitation email to patient %s failed", patient.pk)

    transaction.on_commit(send)


def _new_invitation(*, patient: Patient, by: User | None) -> str:
    """Retire the patient's earlier links and make a fresh one; returns the token."""
    now = timezone.now()
    patient.invitations.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    token = secrets.token_urlsafe(32)
    Invitation.objects.create(
        patient=patient,
        token_hash=token_hash(token),
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    return token


@transaction.atomic
def patient_invite(
    *,
    clinic: Clinic,
    by: Therapist,
    full_name: str,
    email: str,
    timezone: str,
    reminder_time: time,
    ip: str | None = None,
) -> Patient:
    """Add a patient to the clinic and email them a single-use, 7-day link."""
    if by.clinic_id != clinic.pk:
        raise DomainError("You can only add patients to your own clinic.")
    full_name = full_name.strip()
    email = User.objects.normalize_email(email.strip()).lower()
    if not full_name:
        raise DomainError("Enter the patient's name.", field="full_name")
    if not email:
        raise DomainError("Enter the patient's email address.", field="email")
    try:
        validate_timezone(timezone)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="timezone") from exc
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(
            "This email address already belongs to a Plinth account. "
            "If the patient is already registered, find them in your caseload; "
            "otherwise ask them for another address.",
            field="email",
            code="email_taken",
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, None, full_name=full_name)
    except IntegrityError as exc:
        # Two tabs adding the same address at once: the unique index decides.
        raise DomainError(
            "This email address already belongs to a Plinth account.", field="email", code="email_taken"
        ) from exc
    patient = Patient.objects.create(
        user=user, clinic=clinic, therapist=by, timezone=timezone, reminder_time=reminder_time
    )
    token = _new_invitation(patient=patient, by=by.user)
    audit_log(action="patient.invited", actor=by.user, obj=patient, ip=ip, data={"email": email})
    _send_invitation(patient=patient, token=token, clinic_name=clinic.name)
    return patient


@transaction.atomic
def invitation_resend(*, patient: Patient, by: Therapist | None, ip: str | None = None) -> None:
    """A fresh link for a patient who has not set a password yet; older links stop working."""
    if by is not None and by.clinic_id != patient.clinic_id:
        raise DomainError("No such patient.", code="not_found")
    patient = Patient.objects.select_for_update().select_related("user", "clinic").get(pk=patient.pk)
    if patient.user.has_usable_password():
        raise DomainError(
            "This patient has already set a password; they can log in or reset it from the login page."
        )
    token = _new_invitation(patient=patient, by=by.user if by else None)
    audit_log(
        action="invitation.resent",
        actor=by.user if by else None,
        obj=patient,
        ip=ip,
        data={"requested_by": "therapist" if by else "patient"},
    )
    _send_invitation(patient=patient, token=token, clinic_name=patient.clinic.name)


def invitation_request_new(*, email: str, ip: str | None = None) -> None:
    """The public "send me a new link" form. Says nothing about whether the address exists."""
    email = email.strip().lower()
    patient = (
        Patient.objects.select_related("user").filter(user__email__iexact=email, user__is_active=True).first()
    )
    if patient is None or patient.user.has_usable_password():
        return
    recent = patient.invitations.filter(created_at__gt=timezone.now() - INVITATION_RESEND_PAUSE)
    if recent.exists():
        return
    invitation_resend(patient=patient, by=None, ip=ip)


def invitation_state(invitation: Invitation | None) -> str:
    """ "valid", "used", "expired" or "invalid", for the page to explain."""
    if invitation is None:
        return "invalid"
    if invitation.used_at is not None:
        return "used"
    if invitation.expires_at <= timezone.now():
        return "expired"
    return "valid"


INVITATION_PROBLEMS = {
    "invalid": "This invitation link is not valid. Check that you copied the whole link from the email.",
    "used": "This invitation link has already been used. Log in with your password, or ask for a new link.",
    "expired": "This invitation link has expired. Ask for a new one below.",
}


@transaction.atomic
def invitation_accept(*, token: str, password: str, ip: str | None = None) -> User:
    """Set the patient's password through a valid link; the link is then used up."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("patient__user")
        .filter(token_hash=token_hash(token))
        .first()
    )
    state = invitation_state(invitation)
    if invitation is None or state != "valid":
        raise DomainError(INVITATION_PROBLEMS[state], code=state)
    user = invitation.patient.user
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    now = timezone.now()
    invitation.used_at = now
    invitation.save(update_fields=["used_at"])
    audit_log(action="invitation.accepted", actor=user, obj=invitation.patient, ip=ip)
    return user


@transaction.atomic
def exercise_session_mark(
    *,
    patient: Patient,
    plan_exercise_id: int,
    done: bool,
    local_date: date | None = None,
    now: datetime | None = None,
    ip: str | None = None,
) -> PlanExercise:
    """Mark one exercise of the active plan done (or not) for one of the patient's local dates.

    ``local_date`` is the date the Today page was rendered for (None: the
    patient's day at ``now``, an aware datetime defaulting to now); the rule of
    ``patients.localday.answer_day`` decides whether it still takes answers.
    Idempotent: the form says which state it wants, so a double tap or a
    resubmitted form never flips it back. Raises ``DomainError``: ``not_found``
    (not in the active plan), ``day_in_future`` / ``day_closed`` (field
    ``local_date``), ``outside_plan`` (the day is outside the plan's weeks).
    """
    item = (
        PlanExercise.objects.select_related("plan", "exercise")
        .filter(pk=plan_exercise_id, plan__patient=patient, plan__status=PlanStatus.ACTIVE)
        .first()
    )
    if item is None:
        raise DomainError("That exercise is not in your current plan.", code="not_found")
    day = answer_day(patient=patient, day=local_date, now=now)
    if not item.plan.start_date <= day <= item.plan.end_date:
        raise DomainError(
            f"Your plan runs from {item.plan.start_date:%-d %b} to {item.plan.end_date:%-d %b %Y}.",
            field="local_date",
            code="outside_plan",
        )
    existing = ExerciseSession.objects.filter(plan_exercise=item, local_date=day)
    if done:
        if not existing.exists():
            try:
                with transaction.atomic():
                    ExerciseSession.objects.create(patient=patient, plan_exercise=item, local_date=day)
            except IntegrityError:
                pass  # The same tap arrived twice at once: it is done, which is what was asked.
            else:
                audit_log(
                    action="exercise_session.done",
                    actor=patient.user,
                    obj=item.plan,
                    ip=ip,
                    data={"exercise": item.exercise.slug, "local_date": day.isoformat()},
                )
    elif existing.delete()[0]:
        audit_log(
            action="exercise_session.undone",
            actor=patient.user,
            obj=item.plan,
            ip=ip,
            data={"exercise": item.exercise.slug, "local_date": day.isoformat()},
        )
    return item
