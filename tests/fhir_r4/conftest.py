"""A clinic holding one of every kind of object the FHIR server turns into resources, odd ones too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Patient
from careplans.models import CarePlan, PlanStatus
from careplans.services import careplan_end
from checkins.models import PainCheckIn, Side
from questionnaires.models import InstrumentResponse
from questionnaires.services import questionnaires_load_shipped, response_save_draft, response_submit
from tests.conftest import Personas
from tests.factories import (
    CarePlanFactory,
    ExerciseFactory,
    PainCheckInFactory,
    PatientFactory,
    PlanExerciseFactory,
)
from tests.helpers import as_user, template_plan

FHIR = "/fhir/R4"


@dataclass
class OddClinic:
    p: Personas
    zoe: Patient  # a template plan (low back pain, phased), check-ins of every kind
    li: Patient  # "李雷": no therapist, no phone; a stopped plan for neck pain with no check-ins
    inactive: Patient  # account deactivated; a completed plan, 3 days a week; a draft with nothing
    zoe_plan: CarePlan
    li_plan: CarePlan
    done_plan: CarePlan
    draft: CarePlan
    red_flag: PainCheckIn
    corrected: PainCheckIn
    psfs: InstrumentResponse  # sent, scored, its activities named in German and Chinese
    peg_draft: InstrumentResponse  # begun, not sent: in-progress, no score


@pytest.fixture
def odd(personas: Personas, library: None) -> OddClinic:
    p = personas
    questionnaires_load_shipped()
    clinic = p.clinic
    clinic.phone, clinic.email = "020 7946 0321", "desk@northside.example"
    clinic.address = "1 High Street\nNorthtown\nNT1 1AA"
    clinic.save()
    zoe = PatientFactory(
        clinic=clinic, therapist=p.owner, user__full_name="Zoë Ångström", phone="+44 7700 900123"
    )
    zoe_plan = template_plan(zoe, p.owner)
    start = zoe_plan.start_date
    PainCheckInFactory(plan=zoe_plan, local_date=start, nprs=7, side=Side.LEFT)
    red_flag = PainCheckInFactory(
        plan=zoe_plan,
        local_date=start + timedelta(days=1),
        nprs=9,
        side=Side.BOTH,
        flag_leg_weakness=True,
        flag_fever=True,
        note="Wachte nachts auf — 痛い",
    )
    corrected = PainCheckInFactory(
        plan=zoe_plan, local_date=start + timedelta(days=2), nprs=0, corrected_at=timezone.now()
    )
    schedule = {row.instrument_code: row.pk for row in zoe_plan.schedule.filter(occasion="intake")}
    psfs = response_submit(
        patient=zoe,
        schedule_id=schedule["psfs"],
        answers={"activity-1": "Treppensteigen", "rating-1": 3, "activity-2": "抱孩子", "rating-2": 6},
    )
    peg_draft = response_save_draft(patient=zoe, schedule_id=schedule["peg"], answers={"pain": 6})
    li = PatientFactory(clinic=clinic, therapist=None, user__full_name="李雷")
    li_plan = CarePlanFactory(
        patient=li, therapist=p.colleague, condition="Neck pain", title="颈部", start_date=start
    )
    PlanExerciseFactory(
        plan=li_plan, exercise=ExerciseFactory(name="Chin nod, seated (odd clinic)"), note="Slowly."
    )
    li_plan = careplan_end(plan=li_plan, by=p.colleague, status=PlanStatus.STOPPED, reason="Moved away")
    inactive = PatientFactory(clinic=clinic, therapist=p.colleague, user__is_active=False)
    done_plan = CarePlanFactory(
        patient=inactive, therapist=p.colleague, start_date=start - timedelta(days=90)
    )
    PlanExerciseFactory(plan=done_plan, days_per_week=3, sessions_per_day=2, hold_seconds=20, reps=5)
    done_plan = careplan_end(plan=done_plan, by=p.colleague, status=PlanStatus.COMPLETED, reason="Done")
    draft = CarePlanFactory(patient=inactive, therapist=p.colleague, status=PlanStatus.DRAFT, condition="")
    return OddClinic(
        p, zoe, li, inactive, zoe_plan, li_plan, done_plan, draft, red_flag, corrected, psfs, peg_draft
    )


def owner_client(odd: OddClinic) -> Client:
    return as_user(odd.p.owner.user)


def fhir_get(client: Client, path: str, **params: Any) -> Any:
    """GET ``/fhir/R4/<path>`` with ``params``; the response (its JSON is ``response.json()``)."""
    return client.get(f"{FHIR}/{path}", params)
