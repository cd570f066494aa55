"""What patients report each day: a pain check-in (NPRS 0-10, side, red flags, a note)."""

from __future__ import annotations

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone as tz

from accounts.models import Patient


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
    # When the patient last corrected it (today.corrections); None: as first sent that day.
    corrected_at = models.DateTimeField(null=True, blank=True)

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
            # every figure of a plan from the index alone (outcomes.rules).
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
