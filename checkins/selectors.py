"""Reads of pain check-ins, scoped to a clinic or a patient."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from accounts.models import Clinic, Patient
from checkins.models import PainCheckIn


def clinic_checkins(*, clinic: Clinic) -> QuerySet[PainCheckIn]:
    """The only way into check-ins for therapists: those of ``clinic``'s patients."""
    return PainCheckIn.objects.filter(patient__clinic=clinic)


def checkin_on(*, patient: Patient, day: date) -> PainCheckIn | None:
    """The patient's check-in on one of their local dates, if they made one."""
    return PainCheckIn.objects.filter(patient=patient, local_date=day).first()
