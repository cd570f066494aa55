"""Reads of questionnaire instruments."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Clinic
from questionnaires.models import Instrument


def instrument_in_scope(*, code: str, version: str, clinic: Clinic | None) -> Instrument | None:
    """The instrument with this code and version in one scope (``clinic`` None: the shared ones), or None."""
    return Instrument.objects.filter(code=code, version=version, clinic=clinic).first()


def instruments_for_clinic(*, clinic: Clinic) -> QuerySet[Instrument]:
    """The instruments a clinic may use: the shared ones and its own licensed ones, never another's."""
    return Instrument.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic))
