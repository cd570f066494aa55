"""Clinics, people, and what patients report: check-ins and exercise sessions."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as tz

# validate_timezone stays importable from here: migration 0001 names it.
from accounts.zones import TimeZoneField

if TYPE_CHECKING:
    pass


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
