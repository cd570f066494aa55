"""A questionnaire instrument: one loaded FHIR Questionnaire definition and the scoring read from it.

The definition is kept as loaded (``definition``, validated by ``questionnaires.definitions``);
the scoring columns are copied from its Plinth scoring extension when it is loaded, so lists and
reports can filter on them, and an instrument is never edited afterwards (a change is a new
version). A patient answers an instrument scheduled on their plan (``careplans.PlanSchedule``) in
an ``InstrumentResponse``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Clinic


class ScoringMethod(models.TextChoices):
    """How answered items become a score (each documented in ``questionnaires.scoring``)."""

    MEAN = "mean", "Mean of the answered items"
    SUM = "sum", "Sum of the items"
    PERCENT_OF_MAX = "percent_of_max", "Percent of the maximum possible over the answered items"


class Better(models.TextChoices):
    """Which way a score improves."""

    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class McidKind(models.TextChoices):
    """What the minimal clinically important difference is measured in."""

    POINTS = "points", "Points of the score"
    PERCENT = "percent", "Percent of the baseline score"


class Instrument(models.Model):
    """A questionnaire definition: shared (``clinic`` None, shipped with Plinth and free to use) or
    one clinic's own licensed instrument, which only that clinic's staff load and use.

    ``score_min``/``score_max`` are the score's range; ``mcid`` with ``mcid_kind`` the smallest
    change that matters (None when the instrument has none, e.g. a global rating of change);
    ``min_answered`` the fewest answered items that still give a score.
    """

    code = models.SlugField(max_length=64, help_text="From the Questionnaire's name, e.g. psfs.")
    title = models.CharField(max_length=200)
    version = models.CharField(max_length=40)
    url = models.CharField("canonical URL", max_length=255)
    clinic = models.ForeignKey(
        Clinic,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="instruments",
        help_text="Empty for a shared instrument; else the one clinic whose licensed instrument it is.",
    )
    definition = models.JSONField(help_text="The FHIR Questionnaire as loaded.")
    method = models.CharField(max_length=20, choices=ScoringMethod.choices)
    score_min = models.DecimalField(max_digits=8, decimal_places=2)
    score_max = models.DecimalField(max_digits=8, decimal_places=2)
    better = models.CharField(max_length=10, choices=Better.choices)
    mcid = models.DecimalField(
        "minimal clinically important difference", max_digits=8, decimal_places=2, null=True, blank=True
    )
    mcid_kind = models.CharField("MCID in", max_length=10, choices=McidKind.choices, blank=True)
    min_answered = models.PositiveSmallIntegerField(help_text="The fewest answered items that give a score.")
    loinc = models.CharField("LOINC code of the score", max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["title", "version"]
        constraints = [
            # Two partial indexes rather than nulls_distinct=False, which SQLite does not support.
            models.UniqueConstraint(
                fields=["code", "version"], condition=Q(clinic__isnull=True), name="instrument_shared_unique"
            ),
            models.UniqueConstraint(
                fields=["code", "version", "clinic"],
                condition=Q(clinic__isnull=False),
                name="instrument_clinic_unique",
            ),
            models.CheckConstraint(
                condition=Q(method__in=ScoringMethod.values), name="instrument_method_valid"
            ),
            models.CheckConstraint(condition=Q(better__in=Better.values), name="instrument_better_valid"),
            models.CheckConstraint(
                condition=Q(score_min__lt=models.F("score_max")), name="instrument_score_range"
            ),
            models.CheckConstraint(
                condition=(Q(mcid__isnull=True) & Q(mcid_kind=""))
                | (Q(mcid__gt=0) & Q(mcid_kind__in=McidKind.values)),
                name="instrument_mcid_with_kind",
            ),
            models.CheckConstraint(condition=Q(min_answered__gte=1), name="instrument_min_answered"),
        ]

    def __str__(self) -> str:
        owner = self.clinic.name if self.clinic_id is not None and self.clinic else "shared"
        return f"{self.title} ({self.code} {self.version}, {owner})"


class ResponseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed"


class InstrumentResponse(models.Model):
    """A patient's answers to one scheduled questionnaire of a plan: one per (plan, instrument,
    occasion). A draft keeps what was answered so far, to resume; a completed one is scored
    (``score`` None when too few items were answered) and never changes.

    ``answers``: linkId to the answer, a whole number for a scored item (a choice's ordinal
    value) and text for a string item (the PSFS's activities). ``opens_on``/``closes_on``: the
    occasion's window in the patient's local dates, as it was when the response began.
    """

    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="responses")
    plan = models.ForeignKey("careplans.CarePlan", on_delete=models.CASCADE, related_name="responses")
    schedule = models.ForeignKey("careplans.PlanSchedule", on_delete=models.PROTECT, related_name="responses")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="responses")
    occasion = models.CharField(max_length=40)
    opens_on = models.DateField()
    closes_on = models.DateField()
    status = models.CharField(max_length=10, choices=ResponseStatus.choices, default=ResponseStatus.DRAFT)
    answers = models.JSONField(default=dict)
    score = models.FloatField(null=True, blank=True)
    answered = models.PositiveSmallIntegerField(default=0)
    skipped = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "opens_on", "instrument__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "instrument", "occasion"], name="response_one_per_occasion"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ResponseStatus.values), name="response_status_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=ResponseStatus.DRAFT) & Q(completed_at__isnull=True) & Q(score__isnull=True)
                )
                | (Q(status=ResponseStatus.COMPLETED) & Q(completed_at__isnull=False)),
                name="response_completed_when_completed",
            ),
            models.CheckConstraint(condition=Q(opens_on__lte=models.F("closes_on")), name="response_window"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} at {self.occasion} ({self.status})"
