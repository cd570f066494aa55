"""Clinics, people, and what patients report: check-ins and exercise sessions."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from datetime import date, datetime, time
from typing import Any, ClassVar

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone as tz

from accounts.zones import TimeZoneField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone logs in by email: staff, therapists and patients alike."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=tz.now)
    # django-sesame names the user in an emailed sign-in link by this key (SESAME_PRIMARY_KEY_FIELD),
    # not by the primary key: logging out everywhere draws a new one (accounts.credentials), and
    # every link sent before it then names nobody.
    sign_in_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.email.lower()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return short_name(self.full_name, self.email)

    @property
    def role(self) -> str:
        if hasattr(self, "therapist"):
            return "therapist"
        if hasattr(self, "patient"):
            return "patient"
        if self.is_staff:
            return "staff"
        return "none"


#: A phone number (a clinic's, a patient's) has 7 to 15 digits: E.164 allows at most 15, and fewer than 7
#: is an extension or a short code, not a number a patient can ring from home.
PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 7, 15


# Digits with the separators people write (spaces, hyphens, dots, brackets, slashes), an
# optional leading + for the international form; no letters, no extensions.
_PHONE_WRITTEN = re.compile(r"\+?[0-9(][0-9 ()./-]*[0-9]")


def validate_phone(value: str) -> None:
    """A phone number as it is dialled: "020 7946 0321", "+44 20 7946 0321", "(617) 555-0142".

    Raises ValidationError (code ``invalid_phone``) for anything else: letters, an
    extension, fewer than ``PHONE_DIGITS_MIN`` (7) or more than ``PHONE_DIGITS_MAX`` (15) digits.
    """
    digits = sum(char in "0123456789" for char in value)
    if not _PHONE_WRITTEN.fullmatch(value) or not PHONE_DIGITS_MIN <= digits <= PHONE_DIGITS_MAX:
        raise ValidationError(
            f"Enter the phone number as it is dialled: {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} "
            "digits, with spaces or hyphens if you like and an optional + in front "
            "(for example 020 7946 0321 or +44 20 7946 0321).",
            code="invalid_phone",
        )


def tel_uri(phone: str) -> str:
    """A phone number as written ("+44 20 7946 0321") as a ``tel:`` link (RFC 3966):
    "tel:+442079460321", its digits with the leading + kept, a "(0)" after the country code
    left out ("+44 (0)20 ..." is dialled +4420...); "" for an empty number."""
    phone = phone.strip()
    if not phone:
        return ""
    if phone.startswith("+"):
        # "+44 (0)20 ...": the bracketed 0 is dialled only from inside the country.
        phone = phone.replace("(0)", "")
    digits = "".join(char for char in phone if char in "0123456789")
    return f"tel:{'+' if phone.startswith('+') else ''}{digits}"


class Clinic(models.Model):
    """The tenant: every therapist and patient belongs to exactly one.

    Its contact details (phone, address, email, out-of-hours advice) are what patients
    see on the red-flag guidance, the handout, their pages and in Plinth's emails to
    them; a detail left empty is not shown anywhere.
    """

    name = models.CharField(max_length=200, unique=True)
    timezone = TimeZoneField(default="Europe/London")
    phone = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_phone],
        help_text="The number patients call, as they dial it, for example 020 7946 0321.",
    )
    address = models.CharField(
        max_length=300,
        blank=True,
        help_text="The address patients come to, one line per line (building, street, town, postcode).",
    )
    email = models.EmailField(blank=True, help_text="Optional: an address patients may write to.")
    out_of_hours = models.CharField(
        "out-of-hours advice",
        max_length=300,
        blank=True,
        help_text=(
            "Optional: what patients should do when the clinic is closed, for example "
            '"When we are closed, call NHS 111 for urgent advice."'
        ),
    )
    sign_in_links = models.BooleanField(
        "patients may sign in by email link",
        default=True,
        help_text=(
            "A patient can ask the login page to email them a link that signs them in once, within "
            "15 minutes, and the invitation signs them in without a password. Untick to make the "
            "clinic's patients use passwords. Therapists and staff always use passwords."
        ),
    )
    created_at = models.DateTimeField(default=tz.now)

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        """The address's non-empty lines, trimmed (an empty address: [])."""
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    @property
    def phone_uri(self) -> str:
        """The phone number as a ``tel:`` link ("tel:+442079460321"; "" without a number)."""
        return tel_uri(self.phone)

    @property
    def has_contact_details(self) -> bool:
        """Whether any contact detail is filled in (the name alone does not count)."""
        return bool(self.contact_lines())

    def contact_items(self) -> list[tuple[str, str]]:
        """The contact details as (label, text) pairs for plain text and the PDF handout:
        ("Phone", ...), ("Address", its lines joined by commas), ("Email", ...), then
        ("", the out-of-hours advice). An empty detail gives no pair; none at all gives []."""
        items = [
            ("Phone", self.phone.strip()),
            ("Address", ", ".join(self.address_lines)),
            ("Email", self.email.strip()),
            ("", self.out_of_hours.strip()),
        ]
        return [(label, text) for label, text in items if text]

    def contact_lines(self) -> list[str]:
        """``contact_items()`` as lines of plain text ("Phone: 020 7946 0321"); [] when none."""
        return [f"{label}: {text}" if label else text for label, text in self.contact_items()]

    def contact_paragraph(self) -> str:
        """The contact details as a paragraph of a plain-text email: "To contact <name>:" and
        then ``contact_lines()``, one per line, ending in a blank line; "" when none is filled in."""
        lines = self.contact_lines()
        if not lines:
            return ""
        return f"To contact {self.name}:\n" + "\n".join(lines) + "\n\n"


class Therapist(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="therapist")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="therapists")

    def __str__(self) -> str:
        return str(self.user)


def short_name(full_name: str, email: str) -> str:
    """How the app names a person in a sentence: the first word of their full name, else their email."""
    return full_name.split(" ")[0] if full_name else email


def patient_joined(prefix: str = "") -> Q:
    """Patients who have joined, as a condition: they have set a password or signed in.

    ``prefix``: the lookup path to the patient ("" on Patient rows, "patient__" on
    plans). The same test as ``Patient.joined``. A user added by a therapist has an
    unusable password (Django's ``has_usable_password``) and no last login until
    they accept the invitation (accounts.services.invitation_accept: with a password,
    or signed in without one) or sign in by an emailed link (accounts.signin).
    """
    return ~Q(**{f"{prefix}user__password__startswith": UNUSABLE_PASSWORD_PREFIX}) | Q(
        **{f"{prefix}user__last_login__isnull": False}
    )


def waiting_for_invitation(first_name: str) -> str:
    """The plain words for a patient who has not joined yet (Plinth issue 15), said instead of an alarm."""
    return f"Waiting for {first_name} to accept the invitation"


class Patient(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="patient")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    # The therapist who added the patient; plans name their own owner.
    therapist = models.ForeignKey(
        Therapist, on_delete=models.SET_NULL, null=True, blank=True, related_name="patients"
    )
    timezone = TimeZoneField(default="Europe/London")
    reminder_time = models.TimeField(default=time(18, 0))
    reminders_enabled = models.BooleanField(default=True)
    # Optional: the number the therapist calls (the record's and the attention list's
    # "Call"); the patient keeps it on their settings page, the therapist on the record.
    phone = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_phone],
        help_text="Optional: the number to call the patient on, as dialled, for example 07700 900123.",
    )
    created_at = models.DateTimeField(default=tz.now)

    class Meta:
        indexes = [models.Index(fields=["clinic", "created_at"])]

    def __str__(self) -> str:
        return str(self.user)

    def clean(self) -> None:
        super().clean()
        if self.therapist_id is None or self.clinic_id is None:
            return
        if Therapist.objects.filter(pk=self.therapist_id).values_list("clinic_id", flat=True).first() != (
            self.clinic_id
        ):
            raise ValidationError({"therapist": "The therapist must belong to the patient's clinic."})

    @property
    def joined(self) -> bool:
        """The patient has set a password or signed in (accepted the invitation); see ``patient_joined``."""
        return self.user.has_usable_password() or self.user.last_login is not None

    @property
    def waiting_text(self) -> str:
        """ "Waiting for <first name> to accept the invitation"."""
        return waiting_for_invitation(self.user.get_short_name())

    @property
    def phone_uri(self) -> str:
        """The patient's phone number as a ``tel:`` link; "" without one (see ``tel_uri``)."""
        return tel_uri(self.phone)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_today(self, now: datetime | None = None) -> date:
        """The patient's own calendar date at ``now`` (default: right now), in their time zone."""
        return (now or tz.now()).astimezone(self.zone).date()


class Invitation(models.Model):
    """A single-use link that lets a new patient set their password."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=tz.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Invitation of {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A user's key for the API. Only a SHA-256 hash of the secret is kept.

    The key shown once is ``<prefix>.<secret>``; the prefix finds the row, the
    hash of the secret proves it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=tz.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
