"""Reads of pain check-ins, scoped to a clinic or a patient."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Clinic, Patient
from audit.services import audit_read
from checkins.models import PainCheckIn


def clinic_checkins(*, clinic: Clinic) -> QuerySet[PainCheckIn]:
    """The only way into check-ins for therapists: those of ``clinic``'s patients."""
    return PainCheckIn.objects.filter(patient__clinic=clinic)


def checkin_on(*, patient: Patient, day: date) -> PainCheckIn | None:
    """The patient's check-in on one of their local dates, if they made one."""
    return PainCheckIn.objects.filter(patient=patient, local_date=day).first()


def checkin_of(*, patient: Patient, checkin_id: int) -> PainCheckIn:
    """One of ``patient``'s own check-ins; raises Http404 for any other id (another patient's too)."""
    checkin = get_object_or_404(PainCheckIn.objects.filter(patient=patient), pk=checkin_id)
    audit_read([checkin])
    return checkin


#: How many of their latest check-ins the check-in page lists for a patient.
RECENT_CHECKINS = 5


def recent_checkins(*, patient: Patient, limit: int = RECENT_CHECKINS) -> list[PainCheckIn]:
    """The patient's ``limit`` latest check-ins, newest first (one query)."""
    return list(PainCheckIn.objects.filter(patient=patient).order_by("-local_date")[:limit])
