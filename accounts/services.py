"""Writes for patients' accounts: adding a patient, invitation links (send, resend, accept), and the
nightly purge of expired links."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic, Invitation, Patient, Therapist, User, validate_phone
from accounts.zones import zone_canonical
from audit.services import audit_log
from portal.errors import DomainError
from portal.validity import shows_text


def invitations_purge_expired(*, now: datetime | None = None) -> int:
    """Delete invitation links that expired unused; a used one stays as the record
    of how the account was set up.

    ``now``: an aware datetime (default: now). Returns how many links were deleted;
    writes one ``invitations.purged`` audit entry when any were.
    """
    now = now or timezone.now()
    with transaction.atomic():
        expired = Invitation.objects.filter(expires_at__lt=now, used_at__isnull=True)
        by_patient = list(expired.values_list("patient_id", flat=True))
        deleted, _ = expired.delete()
        if deleted:
            audit_log(
                action="invitations.purged", data={"count": deleted, "patients": sorted(set(by_patient))}
            )
    return deleted


log = logging.getLogger(__name__)


INVITATION_DAYS = 7


# A public "send me a new link" form must not become a way to flood an inbox.
INVITATION_RESEND_PAUSE = timedelta(minutes=2)


def token_hash(token: str) -> str:
    """The stored form of an invitation token: its SHA-256, 64 hex characters."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    """The full URL (``SITE_URL`` + path) of the invitation page for a raw ``token``."""
    return settings.SITE_URL + reverse("invitation", args=[token])


def _send_invitation(*, patient: Patient, token: str, clinic: Clinic) -> None:
    """Send after commit: the link must never point at a row that was rolled back. The email
    ends with the clinic's contact details, those that are filled in. With sign-in links allowed
    (``Clinic.sign_in_links``) the link signs the patient in with one tap; a password is optional."""
    url = invitation_url(token)
    first_name = patient.user.get_short_name()
    opening = (
        "Open this link to see today's exercises (a password is up to you):"
        if clinic.sign_in_links
        else "Open this link to choose your password and see today's exercises:"
    )
    body = (
        f"Hello {first_name},\n\n"
        f"{clinic.name} has set up Plinth for you: your home exercises and a daily pain check-in,\n"
        "on your phone or computer.\n\n"
        f"{opening}\n\n"
        f"{url}\n\n"
        f"The link works once and expires in {INVITATION_DAYS} days. If it has expired, the page\n"
        "lets you ask for a new one.\n\n"
        f"{clinic.contact_paragraph()}"
        "If you were not expecting this email, you can ignore it.\n"
    )
    email = patient.user.email
    subject = f"Your exercise plan at {clinic.name}"

    def send() -> None:
        try:
            send_mail(subject, body, None, [email])
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


def _email_unavailable(user: User | None, clinic: Clinic) -> DomainError:
    """Why an address cannot be a new patient's, saying nothing about any other clinic.

    Only the clinic's own patient is named as such (the therapist can see their
    caseload anyway); every other owner of the address (another clinic's patient
    or therapist, staff) gets one neutral sentence, so the form cannot be used to
    find out who else uses Plinth.
    """
    patient = getattr(user, "patient", None) if user is not None else None
    if patient is not None and patient.clinic_id == clinic.pk:
        return DomainError(
            "This patient is already in your caseload: search for them there.",
            field="email",
            code="email_in_caseload",
        )
    return DomainError(
        "This email address cannot be used for a new patient. Ask the patient for another address.",
        field="email",
        code="email_unavailable",
    )


@transaction.atomic
def patient_invite(
    *,
    clinic: Clinic,
    by: Therapist,
    full_name: str,
    email: str,
    timezone: str,
    reminder_time: time,
    phone: str = "",
    ip: str | None = None,
) -> Patient:
    """Add a patient to ``clinic`` and email them a single-use link valid for ``INVITATION_DAYS`` (7) days.

    ``by``: the therapist adding them, who becomes their therapist. ``email`` is stored
    lower-cased; ``timezone`` is an IANA name or alias, stored canonically
    (accounts.zones); ``reminder_time`` is a local wall-clock time; ``phone`` is optional,
    as dialled (``accounts.models.validate_phone``). The email is sent once the
    transaction commits. Returns the new patient.

    Raises DomainError: other_clinic (``by`` works at another clinic), required
    (full_name, email), unknown_zone (timezone), invalid_phone (phone),
    email_in_caseload (email: already a patient of this clinic), email_unavailable
    (email: any other user has it).
    """
    if by.clinic_id != clinic.pk:
        raise DomainError("You can only add patients to your own clinic.", code="other_clinic")
    full_name = full_name.strip()
    email = User.objects.normalize_email(email.strip()).lower()
    if not shows_text(full_name):
        raise DomainError("Enter the patient's name.", field="full_name", code="required")
    if not email:
        raise DomainError("Enter the patient's email address.", field="email", code="required")
    try:
        timezone = zone_canonical(timezone)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="timezone", code="unknown_zone") from exc
    phone = phone_checked(phone)
    existing = User.objects.filter(email__iexact=email).select_related("patient").first()
    if existing is not None:
        raise _email_unavailable(existing, clinic)
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, None, full_name=full_name)
    except IntegrityError as exc:
        # Two tabs adding the same address at once: the unique index decides.
        raise _email_unavailable(User.objects.filter(email__iexact=email).first(), clinic) from exc
    patient = Patient.objects.create(
        user=user, clinic=clinic, therapist=by, timezone=timezone, reminder_time=reminder_time, phone=phone
    )
    token = _new_invitation(patient=patient, by=by.user)
    audit_log(action="patient.invited", actor=by.user, obj=patient, ip=ip, data={"email": email})
    _send_invitation(patient=patient, token=token, clinic=clinic)
    return patient


def phone_checked(phone: str) -> str:
    """A phone number as typed, trimmed; "" stays "" (no number).

    Raises DomainError: invalid_phone (phone) when it is not a number as dialled
    (``accounts.models.validate_phone``: 7 to 15 digits, no letters).
    """
    phone = phone.strip()
    if phone:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            raise DomainError(exc.messages[0], field="phone", code="invalid_phone") from exc
    return phone


def patient_phone_update(*, patient: Patient, phone: str, by: User, ip: str | None = None) -> Patient:
    """Set or clear the number a patient is called on (the record's and attention list's "Call").

    ``phone``: as dialled, "" to remove it. ``by``: the patient themself (settings page)
    or a therapist of their clinic (the record); the caller has checked the clinic.
    Writes a ``patient.phone_changed`` audit entry with the number before and after when
    it changed. Returns the patient as saved.

    Raises DomainError: invalid_phone (phone); nothing is saved then.
    """
    phone = phone_checked(phone)
    before = patient.phone
    if phone == before:
        return patient
    with transaction.atomic():
        patient.phone = phone
        patient.save(update_fields=["phone"])
        audit_log(
            action="patient.phone_changed",
            actor=by,
            obj=patient,
            ip=ip,
            data={"before": {"phone": before}, "after": {"phone": phone}},
        )
    return patient


@transaction.atomic
def invitation_resend(*, patient: Patient, by: Therapist | None, ip: str | None = None) -> None:
    """Email a fresh invitation link to a patient who has not set a password yet; older links stop working.

    ``by``: the therapist asking, or None when the patient asked through the public
    form. The email is sent once the transaction commits.

    Raises DomainError: not_found (``by`` works at another clinic), inactive (the
    account is deactivated), password_already_set.
    """
    if by is not None and by.clinic_id != patient.clinic_id:
        raise DomainError("No such patient.", code="not_found")
    patient = Patient.objects.select_for_update().select_related("user", "clinic").get(pk=patient.pk)
    if not patient.user.is_active:
        raise DomainError(
            "This patient's account has been deactivated, so no invitation can be sent.", code="inactive"
        )
    if patient.user.has_usable_password():
        raise DomainError(
            "This patient has already set a password; they can log in or reset it from the login page.",
            code="password_already_set",
        )
    if patient.joined:
        raise DomainError(
            "This patient has already signed in; they can ask the login page for a sign-in link.",
            code="already_joined",
        )
    token = _new_invitation(patient=patient, by=by.user if by else None)
    audit_log(
        action="invitation.resent",
        actor=by.user if by else None,
        obj=patient,
        ip=ip,
        data={"requested_by": "therapist" if by else "patient"},
    )
    _send_invitation(patient=patient, token=token, clinic=patient.clinic)


def invitation_request_new(*, email: str, ip: str | None = None) -> None:
    """The public "send me a new link" form: resend to an active patient who has not joined.

    Says nothing about whether the address exists: an unknown, inactive or
    already-joined address (``Patient.joined``), or a link sent less than ``INVITATION_RESEND_PAUSE``
    (2 minutes) ago, returns quietly.
    """
    email = email.strip().lower()
    patient = (
        Patient.objects.select_related("user").filter(user__email__iexact=email, user__is_active=True).first()
    )
    if patient is None or patient.joined:
        return
    recent = patient.invitations.filter(created_at__gt=timezone.now() - INVITATION_RESEND_PAUSE)
    if recent.exists():
        return
    invitation_resend(patient=patient, by=None, ip=ip)


def invitation_state(invitation: Invitation | None) -> str:
    """ "valid", "used", "expired", "inactive" or "invalid" (``invitation`` is None), for the page to explain.

    "inactive": staff have deactivated the account, so no link of it may set a
    password, whatever its expiry (accounts.credentials.user_deactivate). The
    states other than "valid" are the codes ``invitation_accept`` raises.
    """
    if invitation is None:
        return "invalid"
    if not invitation.patient.user.is_active:
        return "inactive"
    if invitation.used_at is not None:
        return "used"
    if invitation.expires_at <= timezone.now():
        return "expired"
    return "valid"


INVITATION_PROBLEMS = {
    "invalid": "This invitation link is not valid. Check that you copied the whole link from the email.",
    "used": "This invitation link has already been used. Log in with your password, or ask for a new link.",
    "expired": "This invitation link has expired. Ask for a new one below.",
    "inactive": (
        "This account has been closed by your clinic, so its invitation link no longer works. "
        "If you think this is a mistake, please contact your clinic."
    ),
}


# The page's status for each problem: gone for good (410) or never existed (404).
INVITATION_STATUS = {"invalid": 404, "used": 410, "expired": 410, "inactive": 410}


@transaction.atomic
def invitation_accept(*, token: str, password: str | None, ip: str | None = None) -> User:
    """Accept an invitation through a valid link, setting the patient's password or not; the link
    is then used up and the caller signs the patient in.

    ``token``: the raw token from the link. ``password``: the one chosen, or None to
    go on without one (Plinth issue 19: they can choose one later, or sign in by an
    emailed link), which only a clinic that allows sign-in links offers
    (``Clinic.sign_in_links``). Writes ``invitation.accepted`` with whether a
    password was set. Returns the patient's user.

    Raises DomainError: invalid, used, expired, inactive (the link cannot be used;
    see ``invitation_state``), password_invalid (password: Django's validators refuse it),
    password_required (password: None, and the clinic has turned sign-in links off).
    """
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("patient__user", "patient__clinic")
        .filter(token_hash=token_hash(token))
        .first()
    )
    state = invitation_state(invitation)
    if invitation is None or state != "valid":
        raise DomainError(INVITATION_PROBLEMS[state], code=state)
    user = invitation.patient.user
    if password is None and not invitation.patient.clinic.sign_in_links:
        raise DomainError("Choose a password to continue.", field="password", code="password_required")
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), field="password", code="password_invalid") from exc
        user.set_password(password)
        user.save(update_fields=["password"])
    now = timezone.now()
    invitation.used_at = now
    invitation.save(update_fields=["used_at"])
    audit_log(
        action="invitation.accepted",
        actor=user,
        obj=invitation.patient,
        ip=ip,
        data={"password_set": password is not None},
    )
    return user
