"""The library's plan templates: a named starting point for a plan, with its exercises, phases
and questionnaire schedule (``library.models`` re-exports every name here)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Clinic, User
from library.models import Dosage, Exercise, dosage_constraints


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


#: A phase starts in a week of a plan (1-based); a plan lasts at most 52 weeks (careplans).
PHASE_WEEKS: tuple[int, int] = (1, 52)


def phase_constraints(prefix: str) -> list[models.BaseConstraint]:
    """A phase's week in range and one phase per starting week (template and plan phases alike)."""
    low, high = PHASE_WEEKS
    parent = "template" if prefix == "templatephase" else "plan"
    return [
        models.CheckConstraint(
            condition=Q(starts_week__gte=low, starts_week__lte=high), name=f"{prefix}_starts_week_range"
        ),
        models.UniqueConstraint(fields=[parent, "starts_week"], name=f"{prefix}_one_per_week"),
    ]


#: A questionnaire's occasion in a plan (issue 18) is a window of plan days: day 0 is the plan's
#: ``start_date``, day n the patient's local date n days later. "Due at week k" means plan week k
#: (1-based), days 7(k-1) to 7(k-1)+6: intake is week 1 (days 0-6), week 6 days 35-41, week 12
#: days 77-83. A window is 1 to 28 days and opens by day 364 (a plan lasts at most 52 weeks).
SCHEDULE_OPENS_DAY_MAX = 364
SCHEDULE_WINDOW_DAYS: tuple[int, int] = (1, 28)


def week_opens_day(week: int) -> int:
    """The plan day on which plan week ``week`` (1-based) starts: the window of "due at week k"."""
    return 7 * (week - 1)


def schedule_constraints(prefix: str) -> list[models.BaseConstraint]:
    """A scheduled questionnaire's window in range and one per instrument and occasion
    (template and plan schedules alike)."""
    parent = "template" if prefix == "templateschedule" else "plan"
    low, high = SCHEDULE_WINDOW_DAYS
    return [
        models.CheckConstraint(
            condition=Q(opens_day__gte=0, opens_day__lte=SCHEDULE_OPENS_DAY_MAX),
            name=f"{prefix}_opens_day_range",
        ),
        models.CheckConstraint(
            condition=Q(window_days__gte=low, window_days__lte=high), name=f"{prefix}_window_days_range"
        ),
        models.CheckConstraint(condition=~Q(occasion=""), name=f"{prefix}_occasion_given"),
        models.UniqueConstraint(
            fields=[parent, "instrument_code", "occasion"], name=f"{prefix}_one_per_occasion"
        ),
    ]


class ScheduleEntry(models.Model):
    """A questionnaire due in a window of plan days (see ``week_opens_day``).

    The instrument is named by its code (``questionnaires.Instrument.code``, e.g. ``psfs``), not
    by a foreign key: instruments live in ``questionnaires``, above this app; the clinic's own
    instrument of that code is used where it has one, else the shared one.
    """

    instrument_code = models.SlugField(max_length=64)
    occasion = models.CharField(max_length=40, help_text='What the patient reads, e.g. "intake", "week 6".')
    opens_day = models.PositiveSmallIntegerField(
        help_text="The first plan day it is due (0: the plan's start date).",
        validators=[MinValueValidator(0), MaxValueValidator(SCHEDULE_OPENS_DAY_MAX)],
    )
    window_days = models.PositiveSmallIntegerField(
        default=7,
        help_text="How many days it stays open.",
        validators=[MinValueValidator(SCHEDULE_WINDOW_DAYS[0]), MaxValueValidator(SCHEDULE_WINDOW_DAYS[1])],
    )

    class Meta:
        abstract = True

    @property
    def closes_day(self) -> int:
        """The last plan day it is due."""
        return self.opens_day + self.window_days - 1


class TemplateSchedule(ScheduleEntry):
    """A questionnaire a template's plans ask for, copied onto each plan made from it."""

    template = models.ForeignKey(PlanTemplate, on_delete=models.CASCADE, related_name="schedule")

    class Meta:
        ordering = ["opens_day", "instrument_code"]
        constraints = schedule_constraints("templateschedule")

    def __str__(self) -> str:
        return f"{self.instrument_code} at {self.occasion} (days {self.opens_day}-{self.closes_day})"


class TemplatePhase(models.Model):
    """A stage of a template (issue 17), from week ``starts_week`` until the next phase's start.

    Phases are ordered by ``starts_week`` (one per week): that is their only order, so it
    cannot disagree with another. The first phase also covers any weeks before its start.
    """

    template = models.ForeignKey(PlanTemplate, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=80)
    starts_week = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(PHASE_WEEKS[0]), MaxValueValidator(PHASE_WEEKS[1])],
        help_text="The plan week (1 for the first) in which this phase begins.",
    )

    class Meta:
        ordering = ["starts_week", "id"]
        constraints = phase_constraints("templatephase")

    def __str__(self) -> str:
        return f"{self.name} (from week {self.starts_week})"


class TemplateExercise(Dosage):
    template = models.ForeignKey(PlanTemplate, on_delete=models.CASCADE, related_name="exercises")
    # None: the template has no phases, or the exercise belongs to every phase.
    phase = models.ForeignKey(
        TemplatePhase, on_delete=models.CASCADE, null=True, blank=True, related_name="exercises"
    )
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    note = models.TextField(blank=True, max_length=1000)

    class Meta:
        ordering = ["position", "id"]
        constraints = dosage_constraints("template_exercise")

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.exercise}"

    def clean(self) -> None:
        super().clean()
        if (
            self.phase is not None
            and self.template_id is not None
            and self.phase.template_id != self.template_id
        ):
            raise ValidationError({"phase": "Choose a phase of this template."})
