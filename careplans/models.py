"""The exercise library, plan templates, care plans, outcomes and reminders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils import timezone as tz

from accounts.models import Patient, Therapist, User
from library.models import DOSAGE_LIMITS, Dosage, Exercise, dosage_constraints
from library.template_models import PHASE_WEEKS, ScheduleEntry, phase_constraints, schedule_constraints


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class CarePlan(models.Model):
    """One patient's home-exercise plan, owned by a therapist."""

    # No clinic of its own: a plan belongs to its patient's clinic, whichever that is now
    # (caseload.services.patient_move_clinic), so tenancy has one source.
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
    # Set when a recompute of this plan's outcome is published and cleared when a
    # task takes the plan (outcomes.refresh): while it is set, later check-ins need
    # not publish another.
    outcome_queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A phased plan's phase now (issue 17), None for a plan without phases. Authoritative:
    # the hourly move (careplans.phase_moves) and the therapist change it, with a version.
    current_phase = models.ForeignKey(
        "careplans.PlanPhase", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The therapist holds the current phase: no automatic move until they release it.
    phase_held = models.BooleanField(default=False)

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
            models.CheckConstraint(
                condition=Q(phase_held=False) | Q(current_phase__isnull=False), name="careplan_held_has_phase"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "patient"], name="careplan_status_patient"),
            # The recompute task looks for the few plans with a pending recompute.
            models.Index(
                fields=["outcome_queued_at"],
                condition=Q(outcome_queued_at__isnull=False),
                name="careplan_outcome_pending",
            ),
        ]

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


class PlanPhase(models.Model):
    """A stage of a plan, copied from its template's (library.TemplatePhase): from week
    ``starts_week`` until the next phase's start; the first also covers earlier weeks.

    ``began_on`` and ``ended_on`` are the patient's local dates the phase was in force
    (None: not begun, or not ended); adherence counts a phase's exercises only then.
    """

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=80)
    starts_week = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(PHASE_WEEKS[0]), MaxValueValidator(PHASE_WEEKS[1])]
    )
    began_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["starts_week", "id"]
        constraints = phase_constraints("planphase")

    def __str__(self) -> str:
        return f"{self.name} (from week {self.starts_week})"


class PlanSchedule(ScheduleEntry):
    """A questionnaire this plan asks for (issue 18), copied from its template's schedule when
    the plan is made (``library.TemplateSchedule``); due in the window of plan days from the
    plan's ``start_date`` in the patient's local dates (``library.template_models.week_opens_day``)."""

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="schedule")

    class Meta:
        ordering = ["opens_day", "instrument_code"]
        constraints = schedule_constraints("planschedule")

    def __str__(self) -> str:
        return f"{self.instrument_code} at {self.occasion} (days {self.opens_day}-{self.closes_day})"


class PlanExercise(Dosage):
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="exercises")
    # None: a plan without phases, or an exercise of every phase.
    phase = models.ForeignKey(
        PlanPhase, on_delete=models.CASCADE, null=True, blank=True, related_name="exercises"
    )
    # The library asks which of its exercises plans still use through this reverse name.
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="plan_exercises")
    position = models.PositiveSmallIntegerField(default=0)
    note = models.TextField(blank=True, max_length=1000)

    class Meta:
        ordering = ["position", "id"]
        constraints = dosage_constraints("plan_exercise")

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.exercise}"


class PlanVersion(models.Model):
    """What an active plan looked like after each activation or change."""

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    summary = models.TextField(blank=True)
    # Why the therapist changed the plan, when they said (a progression's reason).
    reason = models.CharField(max_length=300, blank=True)
    content = models.JSONField(default=dict)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="planversion_unique_number")]

    def __str__(self) -> str:
        return f"Version {self.number}"


class ExerciseSession(models.Model):
    """One prescribed session of a plan exercise marked done on one of the patient's local dates.

    ``number`` is the session of that day (1 to the exercise's sessions per day): an
    exercise prescribed "2 times a day" has sessions 1 and 2 each day. A session done
    twice is one row (the unique constraint); adherence (careplans.adherence) counts a
    day's sessions up to what the plan prescribes.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="sessions")
    plan_exercise = models.ForeignKey(
        "careplans.PlanExercise", on_delete=models.CASCADE, related_name="sessions"
    )
    local_date = models.DateField()
    number = models.PositiveSmallIntegerField(
        default=1,
        validators=[
            MinValueValidator(DOSAGE_LIMITS["sessions_per_day"][0]),
            MaxValueValidator(DOSAGE_LIMITS["sessions_per_day"][1]),
        ],
        help_text="Which of the day's prescribed sessions (1 for the first).",
    )
    completed_at = models.DateTimeField(default=tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["plan_exercise", "local_date", "number"], name="session_one_per_exercise_day_number"
            ),
            models.CheckConstraint(
                condition=Q(
                    number__gte=DOSAGE_LIMITS["sessions_per_day"][0],
                    number__lte=DOSAGE_LIMITS["sessions_per_day"][1],
                ),
                name="session_number_range",
            ),
        ]
        indexes = [models.Index(fields=["patient", "local_date"])]

    def __str__(self) -> str:
        return f"Session {self.number} done on {self.local_date:%Y-%m-%d}"
