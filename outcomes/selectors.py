"""Reads of outcomes: the clinic's snapshots, and each plan's outcome row for exports."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Clinic
from outcomes.models import OutcomeSnapshot


def clinic_outcomes(*, clinic: Clinic) -> QuerySet[OutcomeSnapshot]:
    """The only way into outcome snapshots for therapists: those of ``clinic``'s patients' plans."""
    return OutcomeSnapshot.objects.filter(plan__patient__clinic=clinic).select_related("plan")
