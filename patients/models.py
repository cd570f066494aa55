"""Clinics, people, and what patients report: check-ins and exercise sessions."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as tz

# validate_timezone stays importable from here: migration 0001 names it.
from patients.zones import TimeZoneField, validate_timezone  # noqa: F401

if TYPE_CHECKING:
    from careplans.models import CarePlan  # noqa: F401


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
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def role(self) -> str:
        if hasattr(self, "therapist"):
            return "therapist"
        if hasattr(self, "patient"):
            return "patient"
        if self.is_staff:
            return "staff"
        return "none"


class Clinic(models.Model):
    """The tenant: every therapist and patient belongs to exactly one."""

    name = models.CharField(max_length=200, unique=True)
    timezone = TimeZoneField(default="Europe/London")
    created_at = models.DateTimeField(default=tz.now)

    def __str__(self) -> str:
        return self.name


class Therapist(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="therapist")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="therapists")

    def __str__(self) -> str:
        return str(self.user)


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
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def local_today(self, now: datetime | None = None) -> date:
        """The patient's own calendar date at ``now`` (default: right now), in their time zone."""
        return (now or tz.now()).astimezone(self.zone).date()


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BOTH = "both", "Both sides"
    CENTRE = "centre", "Centre"


# NPRS: whole numbers from 0 (no pain) to 10 (worst pain imaginable); LOINC 72514-3.
NPRS_MIN, NPRS_MAX = 0, 10


class PainCheckIn(models.Model):
    """The patient's daily report: NPRS 0-10 (LOINC 72514-3) and red-flag answers."""

    # No index of their own: checkin_one_per_patient_day leads with the patient and
    # checkin_plan_day_nprs with the plan, so a third and fourth index would only slow writes.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="checkins", db_index=False)
    plan = models.ForeignKey(
        "careplans.CarePlan", on_delete=models.PROTECT, related_name="checkins", db_index=False
    )
    local_date = models.DateField(help_text="The patient's own calendar date when they reported.")
    nprs = models.PositiveSmallIntegerField(
        verbose_name="pain now (0-10)", validators=[MinValueValidator(NPRS_MIN), MaxValueValidator(NPRS_MAX)]
    )
    side = models.CharField(max_length=8, choices=Side.choices, default=Side.CENTRE)
    flag_leg_weakness = models.BooleanField(default=False, verbose_name="new weakness in a leg")
    flag_bladder_bowel = models.BooleanField(default=False, verbose_name="loss of bowel or bladder control")
    flag_fever = models.BooleanField(default=False, verbose_name="fever")
    flag_weight_loss = models.BooleanField(default=False, verbose_name="unexplained weight loss")
    note = models.TextField(blank=True, max_length=2000)
    received_at = models.DateTimeField(default=tz.now)

    RED_FLAG_FIELDS: ClassVar[tuple[str, ...]] = (
        "flag_leg_weakness",
        "flag_bladder_bowel",
        "flag_fever",
        "flag_weight_loss",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "local_date"], name="checkin_one_per_patient_day"),
            models.CheckConstraint(
                condition=models.Q(nprs__gte=NPRS_MIN, nprs__lte=NPRS_MAX), name="checkin_nprs_0_10"
            ),
            models.CheckConstraint(condition=models.Q(side__in=Side.values), name="checkin_side_valid"),
        ]
        indexes = [
            # NPRS in the key (not INCLUDE, which SQLite ignores) lets outcomes read
            # every figure of a plan from the index alone (careplans.outcomes).
            models.Index(fields=["plan", "local_date", "nprs"], name="checkin_plan_day_nprs"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.local_date}: {self.nprs}/10"

    @property
    def has_red_flag(self) -> bool:
        return any(getattr(self, name) for name in self.RED_FLAG_FIELDS)

    @property
    def red_flags(self) -> list[str]:
        return [
            str(PainCheckIn._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
            for name in self.RED_FLAG_FIELDS
            if getattr(self, name)
        ]


class ExerciseSession(models.Model):
    """One plan exercise marked done on one of the patient's local dates."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="sessions")
    plan_exercise = models.ForeignKey(
        "careplans.PlanExercise", on_delete=models.CASCADE, related_name="sessions"
    )
    local_date = models.DateField()
    completed_at = models.DateTimeField(default=tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["plan_exercise", "local_date"], name="session_one_per_exercise_day"
            )
        ]
        indexes = [models.Index(fields=["patient", "local_date"])]


class Invitation(models.Model):
    """A single-use link that lets a new patient set their password."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=tz.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class AlertKind(models.TextChoices):
    RED_FLAG = "red_flag", "Red flag"
    WORSENING = "worsening", "Pain worsening"
    SILENCE = "silence", "No check-in for 3 days"


class Alert(models.Model):
    """Something a therapist must look at; open until acknowledged."""

    # No clinic of its own: an alert is seen by its patient's clinic, whichever that is now.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    plan = models.ForeignKey(
        "careplans.CarePlan", on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    checkin = models.ForeignKey(
        PainCheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=tz.now)
    # The condition stopped (pain came back down, patient checked in again).
    cleared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=AlertKind.values), name="alert_kind_valid"),
            # One running episode of worsening or silence per patient.
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=models.Q(cleared_at__isnull=True) & ~models.Q(kind="red_flag"),
                name="alert_one_open_episode",
            ),
        ]
        indexes = [models.Index(fields=["patient", "acknowledged_at"], name="alert_patient_ack")]

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class AuditEvent(models.Model):
    """Append-only: who did what to which record, when, and from where."""

    # An entry outlives what it names: no cascade and no database constraint, so
    # deleting a user, patient or clinic leaves their entries exactly as written
    # (actor_email keeps who acted). SET_NULL would be a path that rewrites entries
    # (PostgreSQL's append-only trigger refused it, so such a delete failed there,
    # and on SQLite it rewrote them), and each constraint cost a check per entry.
    at = models.DateTimeField(default=tz.now, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    # The (clinic, patient, at) index below serves lookups by clinic.
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # The (patient, at) index below serves lookups by patient.
    patient = models.ForeignKey(
        Patient,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
        db_index=False,
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "patient", "at"]),
            # A patient's recent entries (the check-in rate limit counts them on every
            # check-in) as a range, however long their history.
            models.Index(fields=["patient", "at"], name="audit_patient_at"),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Audit events are append-only")


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
