"""Bring a clinic's pain history in from its previous system (the service behind import_history).

The file is CSV with the header exactly ``clinic,therapist_email,patient_email,
patient_name,timezone,plan_title,plan_start,date,nprs``; dates are ISO ``YYYY-MM-DD`` in
the patient's own calendar. :func:`history_read` checks every line and reads the
database (it writes nothing); :func:`history_import` writes the rows it accepted in one
transaction. Missing clinics, therapists, patients and plans are created (a plan is
completed if its 12 weeks are over, else active); each row is one check-in, and when a
patient has two rows for one date the later row wins, as in the app. A second import of
the same file changes nothing.

What a value may be comes from the model field it is stored in (its ``clean()``: max
length, choices, validators such as the NPRS range and the time zone list), never from
a second list here, so a line the database would refuse (or silently store over a
limit) is reported instead.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Clinic, Patient, Therapist, User
from audit.services import audit_log
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.history_file import Row, Summary
from outcomes.recompute import outcome_refresh_all
from outcomes.rules import WEEK12_COMPLETE_DAY


def history_import(*, rows: list[Row], progress: bool = False) -> Summary:
    """Write checked rows (from :func:`history_read` without errors) in one transaction.

    Creates what is missing, writes one check-in per patient and local date (the later row
    wins; a changed value replaces the stored one and is audited), audits each creation and
    the import per clinic, then recomputes the outcome snapshots of the clinics touched.
    ``progress`` shows a progress bar on stderr. Returns the counts.
    """
    summary = Summary(rows=len(rows))
    with transaction.atomic():
        summary.clinic_ids = _write(rows, summary, progress=progress)
    if summary.clinic_ids:
        summary.snapshots_refreshed = outcome_refresh_all(clinic_ids=sorted(summary.clinic_ids))
    return summary


def _write(rows: list[Row], summary: Summary, *, progress: bool) -> set[int]:
    now = timezone.now()
    clinics: dict[str, Clinic] = {}
    for name in dict.fromkeys(r.clinic for r in rows):
        clinics[name], made = Clinic.objects.get_or_create(name=name)
        summary.created["clinics"] += made

    therapists: dict[str, Therapist] = {}
    for row in rows:
        if row.therapist_email in therapists:
            continue
        existing = Therapist.objects.filter(user__email__iexact=row.therapist_email).first()
        if existing is None:
            user = User.objects.create_user(
                row.therapist_email, None, full_name=row.therapist_email.split("@")[0]
            )
            existing = Therapist.objects.create(user=user, clinic=clinics[row.clinic])
            audit_log(action="therapist.imported", obj=existing, clinic=existing.clinic)
            summary.created["therapists"] += 1
        therapists[row.therapist_email] = existing

    patients: dict[str, Patient] = {}
    for row in rows:
        if row.patient_email in patients:
            continue
        patient = Patient.objects.filter(user__email__iexact=row.patient_email).first()
        if patient is None:
            user = User.objects.create_user(row.patient_email, None, full_name=row.patient_name)
            patient = Patient.objects.create(
                user=user,
                clinic=clinics[row.clinic],
                therapist=therapists[row.therapist_email],
                timezone=row.timezone,
            )
            audit_log(action="patient.imported", obj=patient)
            summary.created["patients"] += 1
        patients[row.patient_email] = patient

    plans: dict[tuple[str, str, dt.date], CarePlan] = {}
    for row in rows:
        if row.plan_key in plans:
            continue
        patient = patients[row.patient_email]
        plan = CarePlan.objects.filter(
            patient=patient, title=row.plan_title, start_date=row.plan_start
        ).first()
        if plan is None:
            over = patient.local_today() >= row.plan_start + timedelta(days=WEEK12_COMPLETE_DAY)
            plan = CarePlan.objects.create(
                patient=patient,
                therapist=therapists[row.therapist_email],
                title=row.plan_title,
                start_date=row.plan_start,
                status=PlanStatus.COMPLETED if over else PlanStatus.ACTIVE,
                activated_at=now,
                ended_at=now if over else None,
            )
            audit_log(action="careplan.imported", obj=plan, data={"status": plan.status})
            summary.created["plans"] += 1
        plans[row.plan_key] = plan

    # The later row for a patient's day wins, as a second check-in does in the app.
    final: dict[tuple[int, dt.date], tuple[CarePlan, int]] = {}
    for row in rows:
        key = (patients[row.patient_email].pk, row.date)
        summary.superseded_rows += key in final
        final[key] = (plans[row.plan_key], row.nprs)

    stored = {
        (c.patient_id, c.local_date): c
        for c in PainCheckIn.objects.filter(
            patient_id__in={p.pk for p in patients.values()},
            local_date__in={d for _, d in final},
        )
    }
    bar = tqdm(total=len(final), desc="Importing check-ins", unit="check-in", disable=not progress)
    new: list[PainCheckIn] = []
    for (patient_id, day), (plan, nprs) in final.items():
        bar.update(1)
        old = stored.get((patient_id, day))
        if old is None:
            new.append(
                PainCheckIn(patient_id=patient_id, plan=plan, local_date=day, nprs=nprs, received_at=now)
            )
        elif old.nprs == nprs and old.plan_id == plan.pk:
            summary.checkins_unchanged += 1
        else:
            before = {"nprs": old.nprs, "plan": old.plan_id}
            old.nprs, old.plan, old.received_at = nprs, plan, now
            old.save(update_fields=["nprs", "plan", "received_at"])
            audit_log(
                action="checkin.replaced",
                obj=old,
                data={"before": before, "after": {"nprs": nprs, "plan": plan.pk}, "source": "import"},
            )
            summary.checkins_replaced += 1
    PainCheckIn.objects.bulk_create(new, batch_size=5_000)
    bar.close()
    summary.checkins_created = len(new)
    for clinic in clinics.values():
        audit_log(
            action="history.imported",
            clinic=clinic,
            data={
                "rows": sum(1 for r in rows if r.clinic == clinic.name),
                "checkins_created": summary.checkins_created,
                "checkins_replaced": summary.checkins_replaced,
            },
        )
    return {c.pk for c in clinics.values()}
