"""Moving a patient to another clinic or therapist, with their plans (the admin's actions)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Clinic, Patient, Therapist, User
from alerts.models import Alert
from audit.services import audit_log
from careplans.models import CarePlan, PlanStatus
from portal.errors import DomainError

#: What moving a patient does to their plans (patient_move_clinic).
REHOMED_PLAN_STATUSES: tuple[str, ...] = (PlanStatus.DRAFT, PlanStatus.ACTIVE)


def _therapist_of_clinic(therapist: Therapist | None, clinic: Clinic) -> None:
    if therapist is not None and therapist.clinic_id != clinic.pk:
        raise DomainError(
            "The therapist must belong to the patient's clinic.",
            field="therapist",
            code="therapist_not_in_clinic",
        )


@transaction.atomic
def patient_move_clinic(
    *, patient: Patient, clinic: Clinic, therapist: Therapist, by: User, ip: str | None = None
) -> Patient:
    """Move a patient, with their care, to another clinic (an admin action).

    Arguments: the patient, the clinic they move to, the therapist there who
    takes them on, and the staff user who moves them.

    The rule: the patient's draft and active plans are re-homed, their owner
    becoming ``therapist``, so the patient's current programme goes on without a
    gap; completed and stopped plans keep the therapist who ran them, as history.
    Open alerts move with the patient for the new clinic to act on. Nothing of
    the patient keeps a clinic of its own (plans and alerts take it from the
    patient), so from the commit on the old clinic gets 404 on everything about
    the patient and the new one sees it all. The old and the new clinic's audit
    trails each get a ``patient.moved`` entry; each re-homed plan gets
    ``careplan.rehomed``.

    Returns the patient as saved.

    Raises DomainError: same_clinic (clinic: the patient is already there),
    therapist_not_in_clinic (therapist: works at another clinic).
    """
    patient = Patient.objects.select_for_update().select_related("clinic", "user").get(pk=patient.pk)
    old_clinic = patient.clinic
    if old_clinic.pk == clinic.pk:
        raise DomainError("The patient is already at this clinic.", field="clinic", code="same_clinic")
    _therapist_of_clinic(therapist, clinic)
    plans = list(
        CarePlan.objects.select_for_update()
        .filter(patient=patient, status__in=REHOMED_PLAN_STATUSES)
        .order_by("pk")
    )
    open_alerts = list(
        Alert.objects.filter(patient=patient, acknowledged_at__isnull=True).values_list("pk", flat=True)
    )
    patient.clinic = clinic
    patient.therapist = therapist
    patient.save(update_fields=["clinic", "therapist"])
    for plan in plans:
        previous_owner = plan.therapist_id
        plan.therapist = therapist
        plan.save(update_fields=["therapist"])
        audit_log(
            action="careplan.rehomed",
            actor=by,
            obj=plan,
            patient=patient,
            clinic=clinic,
            ip=ip,
            data={"status": plan.status, "from_therapist": previous_owner, "to_therapist": therapist.pk},
        )
    moved = {
        "from_clinic": {"id": old_clinic.pk, "name": old_clinic.name},
        "to_clinic": {"id": clinic.pk, "name": clinic.name},
        "therapist": therapist.pk,
        "plans_rehomed": [plan.pk for plan in plans],
        "open_alerts_moved": open_alerts,
    }
    for trail in (old_clinic, clinic):
        audit_log(action="patient.moved", actor=by, obj=patient, clinic=trail, ip=ip, data=moved)
    return patient


@transaction.atomic
def patient_assign_therapist(
    *, patient: Patient, therapist: Therapist | None, by: User, ip: str | None = None
) -> Patient:
    """Make ``therapist`` (of the patient's own clinic, or None) the patient's therapist.

    Plans keep their own owners. Returns the patient as saved.

    Raises DomainError: therapist_not_in_clinic (therapist: works at another clinic).
    """
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    _therapist_of_clinic(therapist, patient.clinic)
    previous = patient.therapist_id
    patient.therapist = therapist
    patient.save(update_fields=["therapist"])
    audit_log(
        action="patient.therapist_changed",
        actor=by,
        obj=patient,
        ip=ip,
        data={"from": previous, "to": therapist.pk if therapist else None},
    )
    return patient
