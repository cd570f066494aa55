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
