"""One outcome snapshot per plan: baseline, current, endpoint and change, refreshed after check-ins."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from careplans.models import CarePlan


class OutcomeSnapshot(models.Model):
    """A plan's outcome figures, recomputed after check-ins and nightly; pages read these."""

    #: The figures, in this order, as the API, the export and the recompute name them
    #: (outcomes.rules computes each one).
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

    def __str__(self) -> str:
        return f"Outcome of plan {self.plan_id}"


class InstrumentOutcome(models.Model):
    """One plan's figures for one questionnaire instrument its schedule asks for (issue 18), beside the
    pain snapshot: recomputed with it (outcomes.instrument_outcomes), read by the clinic report.

    ``baseline``: the score of the plan's completed intake response; ``endpoint``: of its completed
    week-12 response (None when not sent, or sent with too few answers to score). ``change``: the
    endpoint minus the baseline in the instrument's points (for the PSFS over the activities rated at
    both, ``questionnaires.scoring.psfs_scores``); ``percent_change``: the change as a percent of the
    baseline (None at a baseline of 0); ``responder``: the improvement reaches the instrument's own
    MCID (None without both scores, or when the instrument has no MCID); ``missing_endpoint``: the
    plan's week 12 is over (its pain snapshot's ``reached_week_12``) and it has no endpoint.
    """

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="instrument_outcomes")
    instrument = models.ForeignKey(
        "questionnaires.Instrument", on_delete=models.PROTECT, related_name="plan_outcomes"
    )
    baseline = models.FloatField(null=True)
    endpoint = models.FloatField(null=True)
    change = models.FloatField(null=True)
    percent_change = models.FloatField(null=True)
    responder = models.BooleanField(null=True)
    missing_endpoint = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    #: The figures, in this order, as the API and the export name them.
    FIGURES = ("baseline", "endpoint", "change", "percent_change", "responder", "missing_endpoint")

    class Meta:
        ordering = ["plan", "instrument__code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "instrument"], name="instrument_outcome_one_per_plan")
        ]

    def __str__(self) -> str:
        return f"Outcome of plan {self.plan_id} on instrument {self.instrument_id}"
