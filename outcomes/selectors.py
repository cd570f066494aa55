"""Reads of outcomes: the clinic's snapshots, and the figures every page shows for a plan.

``outcome_figures`` is the one way pages read a plan's baseline, current and
change: the record, its chart, the patient's progress page and the caseload.
It reads the plans' snapshots. The check-in service refreshes a plan's
snapshot in the check-in's own transaction, so after a check-in the snapshot
is current; a snapshot that a check-in still overtook (history written by
another path, or none written yet) is computed on read from the check-ins,
through the same ORM definition (outcomes.rules), and never written by a read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Clinic, Patient
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.figures import PlanFigures, figures_of
from outcomes.models import OutcomeSnapshot
from outcomes.rules import outcomes_for_plans, zone_todays


def clinic_outcomes(*, clinic: Clinic) -> QuerySet[OutcomeSnapshot]:
    """The only way into outcome snapshots for therapists: those of ``clinic``'s patients' plans."""
    return OutcomeSnapshot.objects.filter(plan__patient__clinic=clinic).select_related("plan__patient")


def snapshot_overtaken(*, plan: str = "plan_id", computed_at: str = "computed_at") -> Exists:
    """The condition "a check-in of the plan was received or corrected after its snapshot was
    written": the snapshot's figures no longer reflect the check-ins (today.corrections: a
    corrected check-in counts as new).

    ``plan`` and ``computed_at``: the outer query's paths to the plan's id and the snapshot's
    ``computed_at`` (on OutcomeSnapshot rows the defaults; on plans "pk" and
    "outcome__computed_at"). Returns an ``Exists`` for filter() or annotate(); raises nothing.
    """
    computed = OuterRef(computed_at)
    return Exists(
        PainCheckIn.objects.filter(
            Q(received_at__gt=computed) | Q(corrected_at__gt=computed), plan=OuterRef(plan)
        )
    )


def outcome_figures(*, plans: Sequence[CarePlan]) -> dict[int, PlanFigures]:
    """Each plan's outcome figures as shown, by plan id (outcomes.figures: rounding and state).

    ``plans``: care plans with their ``patient`` loaded (each patient's local date
    decides the state at the start of the plan). One query for the snapshots;
    a second only when some plan has none or a check-in overtook it, computing
    those plans' figures from the check-ins. Raises nothing.
    """
    if not plans:
        return {}
    today = {plan.pk: plan.patient.local_today() for plan in plans}
    snapshots: dict[int, OutcomeSnapshot] = {
        snapshot.plan_id: snapshot
        for snapshot in OutcomeSnapshot.objects.filter(plan__in=[plan.pk for plan in plans]).annotate(
            overtaken=snapshot_overtaken()
        )
    }
    behind = [plan for plan in plans if plan.pk not in snapshots or snapshots[plan.pk].overtaken]  # type: ignore[attr-defined]
    if behind:
        zones = {str(plan.patient.timezone): today[plan.pk] for plan in behind}
        fresh = CarePlan.objects.filter(pk__in=[plan.pk for plan in behind])
        snapshots.update(outcomes_for_plans(fresh, today_by_zone=zones))
    return {
        plan.pk: figures_of(
            snapshots.get(plan.pk), plan_id=plan.pk, start=plan.start_date, today=today[plan.pk]
        )
        for plan in plans
    }


def plan_outcome(*, plan: CarePlan) -> PlanFigures:
    """One plan's figures, as ``outcome_figures`` (``plan`` with its patient loaded)."""
    return outcome_figures(plans=[plan])[plan.pk]


#: The export's columns before the figures: who and which plan.
EXPORT_IDENTITY = ("clinic", "patient_email", "plan_title", "plan_start")


@dataclass(frozen=True)
class PlanOutcomeRow:
    """One exported plan: ``identity`` keyed by EXPORT_IDENTITY, ``figures`` by OutcomeSnapshot.FIGURES."""

    identity: Mapping[str, Any]
    figures: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.identity[name] if name in self.identity else self.figures[name]


#: What the export adds to OutcomeSnapshot.FIGURES: the figures as the pages show them.
SHOWN_FIGURES = ("state", "change_so_far", "percent_change_so_far")


def outcome_export_rows(
    *, clinic_ids: Sequence[int] | None = None, using: str = DEFAULT_DB_ALIAS
) -> Iterator[PlanOutcomeRow]:
    """Every plan's snapshot (of some clinics' plans, by id; None: all), in plan id order, for exports;
    drafts left out.

    ``using``: the database alias.
    Yields one PlanOutcomeRow per snapshot: ``identity`` keyed by EXPORT_IDENTITY,
    ``figures`` by OutcomeSnapshot.FIGURES then SHOWN_FIGURES (``outcomes.figures``).
    Streams from the database, so a large export never sits in memory whole. The
    caller refreshes the snapshots first (``outcome_refresh_all``) to cover plans
    whose week 12 ended since the last run. Two queries, then one per 2,000 rows.
    """
    # A draft is not a plan yet: the patient has not been given it (the report leaves it out too).
    snapshots = OutcomeSnapshot.objects.using(using).exclude(plan__status=PlanStatus.DRAFT)
    patients = Patient.objects.using(using).all()
    if clinic_ids is not None:
        snapshots = snapshots.filter(plan__patient__clinic_id__in=list(clinic_ids))
        patients = patients.filter(clinic_id__in=list(clinic_ids))
    todays = zone_todays(patients, now=timezone.now())
    identity = {
        "clinic": F("plan__patient__clinic__name"),
        "patient_email": F("plan__patient__user__email"),
        "plan_title": F("plan__title"),
        "plan_start": F("plan__start_date"),
        "zone": F("plan__patient__timezone"),
    }
    rows = (
        snapshots.annotate(**{f"export_{k}": v for k, v in identity.items()})
        .values("plan_id", "export_zone", *(f"export_{k}" for k in EXPORT_IDENTITY), *OutcomeSnapshot.FIGURES)
        .order_by("plan_id")
    )
    for row in rows.iterator(chunk_size=2_000):
        stored = {name: row[name] for name in OutcomeSnapshot.FIGURES}
        shown = figures_of(
            OutcomeSnapshot(plan_id=row["plan_id"], **stored),
            plan_id=row["plan_id"],
            start=row["export_plan_start"],
            today=todays[str(row["export_zone"])],
        )
        yield PlanOutcomeRow(
            identity={k: row[f"export_{k}"] for k in EXPORT_IDENTITY},
            figures={
                **stored,
                "state": shown.state.value,
                "change_so_far": None if shown.change is None else float(shown.change),
                "percent_change_so_far": shown.percent,
            },
        )
