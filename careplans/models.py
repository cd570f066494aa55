"""The exercise library, plan templates, care plans, outcomes and reminders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients.models import Clinic, Patient, Therapist, User

# Dosage limits, shared by the library, templates and plans. The database
# enforces the same ranges, so no path can store a dose outside them.
DOSAGE_LIMITS: dict[str, tuple[int, int]] = {
    "sets": (1, 10),
    "reps": (0, 50),
    "hold_seconds": (0, 300),
    "sessions_per_day": (1, 6),
    "days_per_week": (1, 7),
}


def _dose_field(name: str, default: int, verbose: str) -> models.PositiveSmallIntegerField[int, int]:
    low, high = DOSAGE_LIMITS[name]
    return models.PositiveSmallIntegerField(
        default=default,
        verbose_name=verbose,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        help_text=f"{low} to {high}",
    )


def dosage_constraints(prefix: str) -> list[models.BaseConstraint]:
    checks: list[models.BaseConstraint] = [
        models.CheckConstraint(
            condition=Q(**{f"{name}__gte": low, f"{name}__lte": high}),
            name=f"{prefix}_{name}_range",
        )
        for name, (low, high) in DOSAGE_LIMITS.items()
    ]
    checks.append(
        models.CheckConstraint(condition=Q(reps__gt=0) | Q(hold_seconds__gt=0), name=f"{prefix}_reps_or_hold")
    )
    return checks


class Dosage(models.Model):
    sets = _dose_field("sets", 2, "sets")
    reps = _dose_field("reps", 10, "reps")
    hold_seconds = _dose_field("hold_seconds", 0, "hold (seconds)")
    sessions_per_day = _dose_field("sessions_per_day", 1, "sessions per day")
    days_per_week = _dose_field("days_per_week", 7, "days per week")

    class Meta:
        abstract = True

    @property
    def dosage_text(self) -> str:
        parts = [f"{self.sets} set{'s' if self.sets != 1 else ''}"]
        if self.reps:
            parts.append(f"{self.reps} reps")
        if self.hold_seconds:
            parts.append(f"hold {self.hold_seconds} s")
        per_day = "once a day" if self.sessions_per_day == 1 else f"{self.sessions_per_day} times a day"
        per_week = "every day" if self.days_per_week == 7 else f"{self.days_per_week} days a week"
        return f"{' x '.join(parts[:2])}{', ' + parts[2] if len(parts) > 2 else ''}, {per_day}, {per_week}"


class BodyRegion(models.Model):
    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Category(models.TextChoices):
    MOBILITY = "mobility", "Mobility"
    STRETCH = "stretch", "Stretch"
    STRENGTH = "strength", "Strength"
    STABILITY = "stability", "Stability"
    BALANCE = "balance", "Balance"
    AEROBIC = "aerobic", "Aerobic"


class Equipment(models.TextChoices):
    NONE = "none", "No equipment"
    MAT = "mat", "Mat"
    BAND = "band", "Resistance band"
    CHAIR = "chair", "Chair"
    WALL = "wall", "Wall"
    BALL = "ball", "Ball"
    STEP = "step", "Step"
    TOWEL = "towel", "Towel"
    WEIGHTS = "weights", "Light weights"
    FOAM_ROLLER = "foam-roller", "Foam roller"


class Difficulty(models.TextChoices):
    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"


class ExerciseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Exercise(Dosage):
    """A library exercise. Therapists pick only published ones."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    summary = models.CharField(max_length=300)
    instructions = models.TextField(help_text="One step per line.")
    regions = models.ManyToManyField(BodyRegion, related_name="exercises")
    category = models.CharField(max_length=16, choices=Category.choices)
    equipment = models.CharField(max_length=16, choices=Equipment.choices, default=Equipment.NONE)
    difficulty = models.CharField(max_length=16, choices=Difficulty.choices, default=Difficulty.BEGINNER)
    image_url = models.URLField(blank=True)
    video_url = models.URLField(blank=True)
    precautions = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ExerciseStatus.choices, default=ExerciseStatus.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            *dosage_constraints("exercise"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="exercise_category_valid"),
            models.CheckConstraint(
                condition=Q(equipment__in=Equipment.values), name="exercise_equipment_valid"
            ),
            models.CheckConstraint(
                condition=Q(difficulty__in=Difficulty.values), name="exercise_difficulty_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ExerciseStatus.values), name="exercise_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def steps(self) -> list[str]:
        return [line.strip() for line in self.instructions.splitlines() if line.strip()]


class PlanTemplate(models.Model):
    """A named starting point for a plan. Clinic-less templates are shared by all clinics."""

    name = models.CharField(max_length=200)
    condition = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, null=True, blank=True, related_name="plan_templates"
    )
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateExercise(Dosage):
    template = models.ForeignKey(PlanTemplate, on_delete=models.CASCADE, related_name="items")
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    note = models.TextField(blank=True, max_length=1000)

    class Meta:
        ordering = ["position", "id"]
        constraints = dosage_constraints("template_exercise")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class CarePlan(models.Model):
    """One patient's home-exercise plan, owned by a therapist."""

    # No clinic of its own: a plan belongs to its patient's clinic, whichever that is now
    # (patients.services.patient_move_clinic), so tenancy has one source.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="plans")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="plans")
    title = models.CharField(max_length=200)
    condition = models.CharField(max_length=200, blank=True)
    start_date = models.DateField()
    length_weeks = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    status_reason = models.TextField(blank=True, max_length=2000)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set when a recompute of this plan's outcome is published and cleared when the
    # task starts: while it is set, later check-ins need not publish another.
    outcome_queued_at = models.DateTimeField(null=True, blank=True, editable=False)

    ACTIVE_CONSTRAINT: ClassVar[str] = "careplan_one_active_per_patient"

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="careplan_one_active_per_patient"
            ),
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="careplan_status_valid"),
            models.CheckConstraint(
                condition=Q(length_weeks__gte=1, length_weeks__lte=52), name="careplan_length_1_52"
            ),
        ]
        indexes = [models.Index(fields=["status", "patient"], name="careplan_status_patient")]

    def __str__(self) -> str:
        return f"{self.title} ({self.patient})"

    def clean(self) -> None:
        super().clean()
        if self.therapist_id is not None and self.patient_id is not None:
            clinics = set(
                Therapist.objects.filter(pk=self.therapist_id).values_list("clinic_id", flat=True)
            ) | set(Patient.objects.filter(pk=self.patient_id).values_list("clinic_id", flat=True))
            if len(clinics) != 1:
                raise ValidationError({"therapist": "The therapist must belong to the patient's clinic."})

    @property
    def end_date(self) -> date:
        return self.start_date + timedelta(days=7 * self.length_weeks - 1)

    def week_on(self, day: date) -> int:
        """Week number (1-based) of the plan on a local date, clamped to the plan's length."""
        days = (day - self.start_date).days
        return max(1, min(self.length_weeks, days // 7 + 1))


class PlanExercise(Dosage):
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="items")
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    note = models.TextField(blank=True, max_length=1000)

    class Meta:
        ordering = ["position", "id"]
        constraints = dosage_constraints("plan_exercise")


class PlanVersion(models.Model):
    """What an active plan looked like after each activation or change."""

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    summary = models.TextField(blank=True)
    content = models.JSONField(default=dict)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="planversion_unique_number")]


class OutcomeSnapshot(models.Model):
    """A plan's outcome figures, recomputed after check-ins and nightly; pages read these."""

    #: The figures, in this order, as the API, the export and the recompute name them
    #: (careplans.outcomes computes each one).
    FIGURES = (
        "baseline",
        "current",
        "endpoint",
        "change",
        "percent_change",
        "responder",
        "worsening",
        "reached_week_12",
        "missing_endpoint",
        "checkin_count",
        "last_checkin_date",
    )

    plan = models.OneToOneField(CarePlan, on_delete=models.CASCADE, primary_key=True, related_name="outcome")
    baseline = models.FloatField(null=True)
    current = models.FloatField(null=True)
    endpoint = models.FloatField(null=True)
    change = models.FloatField(null=True)
    percent_change = models.FloatField(null=True)
    responder = models.BooleanField(null=True)
    worsening = models.BooleanField(default=False)
    reached_week_12 = models.BooleanField(default=False)
    missing_endpoint = models.BooleanField(default=False)
    checkin_count = models.PositiveIntegerField(default=0)
    last_checkin_date = models.DateField(null=True)
    computed_at = models.DateTimeField(default=timezone.now)


class ReminderKind(models.TextChoices):
    CHECKIN = "checkin", "Daily check-in"


class DeliveryStatus(models.TextChoices):
    CLAIMED = "claimed", "Claimed"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class ReminderDelivery(models.Model):
    """The claim, then the record, of one reminder to one patient on one local date."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reminders")
    local_date = models.DateField()
    kind = models.CharField(max_length=16, choices=ReminderKind.choices, default=ReminderKind.CHECKIN)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.CLAIMED)
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Which dispatch run inserted the row: lets a bulk insert that ignores
    # conflicts read back exactly the rows it won (careplans.reminders).
    claim_token = models.CharField(max_length=32, blank=True)
    # Nobody else may (re)start this delivery before then: the send lease while
    # sending, the back-off after a failure, the re-enqueue delay when claimed.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "reminder deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "local_date", "kind"], name="reminder_one_per_patient_day_kind"
            )
        ]
        indexes = [
            models.Index(fields=["claim_token"], name="reminder_claim_token"),
            # The sweep only ever looks at deliveries that are not finished.
            models.Index(
                fields=["lease_until"],
                condition=Q(status__in=["claimed", "sending", "failed"]),
                name="reminder_unfinished",
            ),
        ]
