"""A small world of real objects, one of each kind, for the whole-site tests (matrix, fuzzer, API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import api_token_create
from alerts.models import Alert, AlertKind
from audit.models import AuditEvent
from careplans.models import (
    CarePlan,
    ExerciseSession,
    PlanExercise,
    PlanPhase,
    PlanSchedule,
    PlanStatus,
    PlanVersion,
)
from careplans.versions import plan_snapshot
from checkins.models import PainCheckIn
from fhir_r4.export_writer import export_run
from fhir_r4.models import BulkExport
from library.media import exercise_media_add
from library.models import BodyRegion
from library.template_models import PlanTemplate, TemplateExercise
from outcomes.models import OutcomeSnapshot
from questionnaires.services import instrument_load, questionnaires_load_shipped, response_submit
from reminders.models import ReminderDelivery
from tests.conftest import Personas
from tests.factories import (
    CarePlanFactory,
    ExerciseFactory,
    PainCheckInFactory,
    PatientFactory,
    PlanExerciseFactory,
)
from tests.media_files import picture, upload
from tests.questionnaires.shapes import odi_shaped


@dataclass
class World:
    p: Personas
    exercise: Any
    own_exercise: Any
    own_media: Any
    template: PlanTemplate
    plan_a: Any
    plan_b: Any
    draft_a: Any
    item_a: PlanExercise
    checkin_a: PainCheckIn
    alert_a: Alert
    outcome_a: OutcomeSnapshot
    patient_x: Any
    plan_x: Any
    psfs_a: Any
    peg_a: Any
    own_instrument: Any
    token_owner: ApiToken
    owner_key: str
    audit_a: AuditEvent
    export_a: BulkExport  # the owner's bulk export of their clinic, written

    def persona(self, name: str) -> Any:
        """The user behind a persona name of the matrix."""
        return {
            "anon": None,
            "patient_a": self.p.patient_a.user,
            "patient_b": self.p.patient_b.user,
            "owner": self.p.owner.user,
            "colleague": self.p.colleague.user,
            "outsider": self.p.outsider.user,
            "staff": self.p.staff,
        }[name]


@pytest.fixture
def world(personas: Personas) -> World:
    p = personas
    # With a harder variant, so the builder's progress form is on the pages checked (axe-core).
    exercise = ExerciseFactory(name="Pelvic tilt test", harder=ExerciseFactory(name="Pelvic tilt, harder"))
    # The owner's clinic's own exercise: seen by that clinic and its patients only.
    own_exercise = ExerciseFactory(name="Northside wall slide", clinic=p.clinic)
    # Pictures on both, so the pages checked (axe-core) show thumbnails and galleries.
    own_media = exercise_media_add(
        exercise=own_exercise, by=p.owner.user, upload=upload(picture()), description="Sliding down a wall"
    )
    exercise_media_add(exercise=exercise, by=p.staff, upload=upload(picture()), description="Lying on a mat")
    template = PlanTemplate.objects.create(name="Clinic template", clinic=p.clinic)
    TemplateExercise.objects.create(template=template, exercise=exercise, position=0)
    start = p.patient_a.local_today() - timedelta(days=10)
    # With a condition, so plan A is also a FHIR Condition (fhir_r4) for the matrix to read.
    plan_a = CarePlanFactory(
        patient=p.patient_a, therapist=p.owner, start_date=start, condition="Low back pain, left side"
    )
    plan_b = CarePlanFactory(patient=p.patient_b, therapist=p.owner, start_date=start)
    draft_a = CarePlanFactory(
        patient=p.patient_a, therapist=p.owner, status=PlanStatus.DRAFT, title="Next plan"
    )
    # In two phases (issue 17), so the phase controls and headings are on the pages checked: it
    # began in the first (with item A) on its start date; the second starts in week 3.
    ease = PlanPhase.objects.create(plan=plan_a, name="Ease", starts_week=1, began_on=start)
    build = PlanPhase.objects.create(plan=plan_a, name="Build", starts_week=3)
    CarePlan.objects.filter(pk=plan_a.pk).update(current_phase=ease)
    plan_a.current_phase = ease
    item_a = PlanExerciseFactory(plan=plan_a, exercise=exercise, phase=ease, position=0)
    PlanExerciseFactory(plan=plan_a, exercise=exercise.harder, phase=build, position=1)
    PlanExerciseFactory(plan=plan_b, exercise=exercise)
    PlanExerciseFactory(plan=draft_a, exercise=exercise)
    checkin_a = PainCheckInFactory(plan=plan_a, local_date=start, nprs=6)
    ExerciseSession.objects.create(patient=p.patient_a, plan_exercise=item_a, local_date=start)
    alert_a = Alert.objects.create(
        patient=p.patient_a, plan=plan_a, checkin=checkin_a, kind=AlertKind.RED_FLAG
    )
    outcome_a = OutcomeSnapshot.objects.create(plan=plan_a, baseline=6.0, current=5.0, checkin_count=1)
    patient_x = PatientFactory(clinic=p.other_clinic, therapist=p.outsider)
    plan_x = CarePlanFactory(patient=patient_x, therapist=p.outsider, start_date=start)
    PlanExerciseFactory(plan=plan_x, exercise=exercise)
    created = api_token_create(user=p.owner.user, name="Reporting")
    # One row of every model the admin shows, so each admin route resolves with a real object.
    Group.objects.create(name="Front desk")
    # As axes records them: a request always has a path (an empty one made an unnamed filter link).
    AccessAttempt.objects.create(
        username="someone@example.test", ip_address="192.0.2.1", path_info="/login/", failures_since_start=1
    )
    AccessLog.objects.create(username="someone@example.test", ip_address="192.0.2.1", path_info="/login/")
    AccessFailureLog.objects.create(
        username="someone@example.test", ip_address="192.0.2.1", path_info="/login/"
    )
    BodyRegion.objects.get_or_create(slug="lower-back", defaults={"name": "Lower back"})
    CarePlan.objects.filter(pk=plan_a.pk).update(version=1)
    plan_a.version = 1
    PlanVersion.objects.create(
        plan=plan_a,
        number=1,
        content=plan_snapshot(plan_a, list(plan_a.exercises.select_related("exercise"))),
    )
    ReminderDelivery.objects.create(patient=p.patient_a, local_date=start)
    questionnaires_load_shipped(by=p.staff)
    # Two questionnaires due on plan A in its week 2 (days 7-13; the plan is on its day 10): the
    # PSFS not started, the PEG sent (so its page after sending is there to open).
    psfs_a = PlanSchedule.objects.create(plan=plan_a, instrument_code="psfs", occasion="week 2", opens_day=7)
    peg_a = PlanSchedule.objects.create(plan=plan_a, instrument_code="peg", occasion="week 2", opens_day=7)
    response_submit(
        patient=p.patient_a, schedule_id=peg_a.pk, answers={"pain": 5, "enjoyment": 4, "activity": 6}
    )
    # The owner's clinic's own licensed instrument (an ODI-shaped test definition): its clinic only.
    own_instrument = instrument_load(odi_shaped(), clinic=p.clinic, by=p.owner.user)
    audit_a = AuditEvent.objects.filter(action="api_token.created").first() or AuditEvent.objects.create(
        action="test", at=timezone.now()
    )
    # Made as export_request does, without publishing its task: the export is written here.
    export_a = BulkExport.objects.create(
        requester=p.owner.user,
        clinic=p.clinic,
        types=["Patient", "Observation"],
        request_url=f"http://testserver/fhir/R4/Group/{p.clinic.pk}/$export",
        created=timezone.now(),
        expires=timezone.now() + timedelta(hours=1),
    )
    export_run(export_a.pk)
    return World(
        p=p,
        exercise=exercise,
        own_exercise=own_exercise,
        own_media=own_media,
        template=template,
        plan_a=plan_a,
        plan_b=plan_b,
        draft_a=draft_a,
        item_a=item_a,
        checkin_a=checkin_a,
        alert_a=alert_a,
        outcome_a=outcome_a,
        patient_x=patient_x,
        plan_x=plan_x,
        psfs_a=psfs_a,
        peg_a=peg_a,
        own_instrument=own_instrument,
        token_owner=created.token,
        owner_key=created.key,
        audit_a=audit_a,
        export_a=export_a,
    )


def api_as(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=None)
        client.force_login(user)
    return client
