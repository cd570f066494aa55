"""Recomputing the outcome snapshots from the check-ins (outcomes.rules' definition), and writing them.

``outcome_refresh_all`` recomputes every plan (at night), some clinics' or the
plans of the last few seconds' check-ins (outcomes.tasks); ``outcome_refresh_plan``
one plan. Only snapshots whose figures changed are written.

The nightly recompute on PostgreSQL checks the stored snapshots first
(``outcomes.snapshot_checks.snapshot_checks``): one GROUP BY over the check-ins of every snapshot's
plan states the same measured figures as conditional aggregates, with no
subquery, so the planner splits it over its parallel workers like a plain
GROUP BY, and compares them with the stored ones in the query; only a flag per
snapshot leaves the database. It takes ``current`` from the snapshot's own
latest date, which is the rule's window while that date is still the latest
check-in. The plans it does not clear (changed, no snapshot yet, a new latest
check-in, no check-in left, week 12 just over) are recomputed with
``measured_figures``. SQLite runs ``measured_figures`` for every plan, which its planner does
faster than the join and GROUP BY.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import (
    Max,
    Min,
    Q,
    QuerySet,
)
from django.utils import timezone

from careplans.models import CarePlan
from outcomes.instrument_outcomes import instrument_outcomes_refresh
from outcomes.models import OutcomeSnapshot
from outcomes.rules import (
    MEASURED,
    WEEK12_COMPLETE_DAY,
    derived_figures,
    measured_figures,
    patients_in_scope,
    week12_over,
    zone_todays,
)
from outcomes.snapshot_checks import Row, snapshot_checks

#: Plans per batch of the nightly recompute: each batch's writes are one transaction,
#: and at most this many plans' measured figures pass through this process at once.
DEFAULT_BATCH = 20_000

#: PostgreSQL's nightly check: when more than one checked snapshot in this many changed,
#: their figures come from a second pass over the check-ins rather than plan by plan
#: (``measured_figures`` takes about 7 times as long per plan as the pass, measured at 100,000 plans).
RECHECK_SHARE = 10


def _plans_to_measure(plans: QuerySet[CarePlan], today_by_zone: Mapping[str, date]) -> QuerySet[CarePlan]:
    """Of ``plans``, those without a snapshot, or whose snapshot's ``reached_week_12`` is out of date.

    ``today_by_zone`` must hold every zone of the plans' patients (``zone_todays``, ``_patients``).
    The zones' todays are a day or two apart, so only the plans that started in
    that band need their patient's zone: before it, week 12 is over in every
    zone; after it, in none.
    """
    if not today_by_zone:
        return plans.filter(outcome__isnull=True)
    cutoffs = [today - timedelta(days=WEEK12_COMPLETE_DAY) for today in today_by_zone.values()]
    band = plans.filter(start_date__gt=min(cutoffs), start_date__lte=max(cutoffs))
    over = Q(start_date__lte=min(cutoffs)) | Q(
        pk__in=band.filter(week12_over(today_by_zone)).order_by().values("pk")
    )
    return plans.filter(
        Q(outcome__isnull=True)
        | Q(outcome__reached_week_12=False) & over
        | Q(outcome__reached_week_12=True) & ~over
    )


def _measured_changes(plans: QuerySet[CarePlan], today_by_zone: Mapping[str, date]) -> list[Row]:
    """``plans``' figures by ``measured_figures``: the rows that differ from their snapshot (or have none)."""
    measured = plans.annotate(**measured_figures(today_by_zone)).values_list("pk", *MEASURED).order_by()
    snapshots = OutcomeSnapshot.objects.using(plans.db).filter(plan__in=plans.values("pk"))
    stored = {row[0]: row[1:] for row in snapshots.values_list("plan_id", *MEASURED).order_by()}
    return [row for row in measured if stored.get(row[0]) != row[1:]]


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _checked_changes(
    plans: QuerySet[CarePlan],
    snapshots: QuerySet[OutcomeSnapshot],
    today_by_zone: Mapping[str, date],
    batch_size: int,
) -> Iterator[list[Row]]:
    """PostgreSQL: the changed measured rows of ``plans`` (whose snapshots are ``snapshots``), in lists
    of at most ``batch_size``.

    ``outcomes.snapshot_checks.snapshot_checks`` clears the snapshots that still hold. ``measured_figures``
    recomputes the others, the plans that lost every check-in and those
    ``_plans_to_measure`` names. When more than ``1 / RECHECK_SHARE`` of the
    checked snapshots changed, a second ``outcomes.snapshot_checks.snapshot_checks`` pass gives their
    new figures instead (one more pass is then cheaper than one plan at a
    time), except where the latest check-in moved (``current`` moves to
    another week).
    """
    to_measure = set(_plans_to_measure(plans, today_by_zone).values_list("pk", flat=True).order_by())
    checked: list[int] = []
    changed: set[int] = set()
    stored_with_checkins = 0
    for pk, holds, stored_count in snapshot_checks(snapshots, changed_only=False):
        checked.append(pk)
        stored_with_checkins += stored_count > 0
        if not holds:
            changed.add(pk)
    with_checkins = snapshots.filter(checkin_count__gt=0)
    if with_checkins.count() != stored_with_checkins:
        # Some plans lost every check-in since their snapshot (the check joins the check-ins).
        to_measure |= set(with_checkins.values_list("plan_id", flat=True).order_by()) - set(checked)
    if len(changed) * RECHECK_SHARE <= len(checked):
        to_measure |= changed
    else:
        decided: list[Row] = []
        for pk, *figures, stored_latest, reached in snapshot_checks(snapshots, changed_only=True):
            baseline, current, endpoint, count, latest = figures
            if pk in to_measure or latest != stored_latest:
                to_measure.add(pk)
            else:
                decided.append((pk, baseline, current, endpoint, reached, count, latest))
        yield from _chunks(decided, batch_size)
    for ids in _chunks(sorted(to_measure), batch_size):
        yield _measured_changes(plans.filter(pk__in=ids), today_by_zone)


def _id_ranges(plans: QuerySet[CarePlan], batch_size: int) -> Iterator[tuple[int, int]]:
    bounds = plans.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, batch_size):
        yield start, start + batch_size


def _scope(*, clinic_ids: Sequence[int] | None, plan_ids: Sequence[int] | None, plan: str = "") -> Q:
    """A filter on CarePlan (``plan=""``) or on a model that points at one (``plan="plan__"``)."""
    scope = Q()
    if clinic_ids is not None:
        # A plan's clinic is its patient's (tenancy has one source).
        scope &= Q(**{f"{plan}patient__clinic_id__in": list(clinic_ids)})
    if plan_ids is not None:
        scope &= Q(**{f"{plan}pk__in": list(plan_ids)})
    return scope


def _write(
    rows: Iterable[Row], *, now: datetime, using: str, among: QuerySet[OutcomeSnapshot] | None = None
) -> int:
    """Upsert the measured ``rows``, then set their derived figures from their own columns; returns how many.

    ``among``: snapshots that include the rows' (the UPDATE picks this run's stamp
    out of them); None: the rows' plan ids, as a list. The caller holds the
    transaction. An unchanged snapshot is never passed here, so it keeps its
    ``computed_at``: when its figures were last written or found to hold
    (``_stamp_checked``), and every check-in received before it is reflected in them.
    """
    changed = [
        OutcomeSnapshot(plan_id=row[0], computed_at=now, **dict(zip(MEASURED, row[1:], strict=True)))
        for row in rows
    ]
    if not changed:
        return 0
    OutcomeSnapshot.objects.using(using).bulk_create(
        changed,
        batch_size=1_000,
        update_conflicts=True,
        unique_fields=["plan"],
        update_fields=[*MEASURED, "computed_at"],
    )
    if among is None:
        among = OutcomeSnapshot.objects.using(using).filter(plan__in=[s.plan_id for s in changed])
    # Only the rows just written carry this stamp (or rows written at the very same instant).
    among.filter(computed_at=now).update(**derived_figures())
    return len(changed)


def outcome_refresh_all(
    *,
    now: datetime | None = None,
    clinic_ids: Sequence[int] | None = None,
    plan_ids: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Recompute the snapshots of every plan (or of some clinics' or plans'), writing the changed ones.

    ``now``: an aware datetime (default: now), which decides each patient's
    local today; ``clinic_ids`` / ``plan_ids``: limit the plans (None: all);
    ``batch_size``: at most this many snapshots written per transaction (and,
    on SQLite, plan ids computed per query); ``using``: the database alias.
    The plans' questionnaire figures (outcomes.instrument_outcomes) are recomputed after them.
    Returns the number of pain snapshots written (new or with changed figures);
    unchanged ones keep their figures, and with ``plan_ids`` (a check-in's
    recompute) are stamped as checked now (``_stamp_checked``). Raises nothing of its own.
    """
    now = now or timezone.now()
    plans = CarePlan.objects.using(using).filter(_scope(clinic_ids=clinic_ids, plan_ids=plan_ids))
    today_by_zone = zone_todays(
        patients_in_scope(using=using, clinic_ids=clinic_ids, plan_ids=plan_ids), now=now
    )
    written = 0
    if plan_ids is not None:
        # A check-in's run: a few plans, nearly all changed (the new check-in is counted),
        # so the definition itself, plan by plan, is the shortest way on both databases.
        for ids in _chunks(sorted(set(plan_ids)), batch_size):
            with transaction.atomic(using=using):
                batch = plans.filter(pk__in=ids)
                written += _write(_measured_changes(batch, today_by_zone), now=now, using=using)
                _stamp_checked(ids, now=now, using=using)
    elif connections[using].vendor == "postgresql":
        # Scoped on their own columns: through ``plans`` the check would carry one more join.
        snapshots = OutcomeSnapshot.objects.using(using).filter(
            _scope(clinic_ids=clinic_ids, plan_ids=plan_ids, plan="plan__")
        )
        for rows in _checked_changes(plans, snapshots, today_by_zone, batch_size):
            with transaction.atomic(using=using):
                written += _write(rows, now=now, using=using)
    else:
        for low, high in _id_ranges(plans, batch_size):
            with transaction.atomic(using=using):
                batch = plans.filter(pk__gte=low, pk__lt=high)
                among = OutcomeSnapshot.objects.using(using).filter(plan__in=batch.values("pk"))
                written += _write(_measured_changes(batch, today_by_zone), now=now, using=using, among=among)
    # The questionnaires' figures read the pain snapshots' reached_week_12: after them.
    instrument_outcomes_refresh(plans, now=now, using=using)
    return written


def _stamp_checked(plan_ids: Sequence[int], *, now: datetime, using: str) -> None:
    """Stamp the plans' unchanged snapshots ``computed_at = now``: they were checked against every
    check-in received before ``now`` and still hold.

    Only for plans recomputed because a check-in arrived (or was corrected): a
    check-in that leaves every figure as it was (the same answers again, a day
    outside every window) would otherwise leave its snapshot overtaken for good
    (outcomes.selectors.snapshot_overtaken), and every page would compute that
    plan from its check-ins again, more of them each day. The nightly run over
    every plan does not stamp (it would have to read every check-in's time of
    receipt, which its index-only check does not): a snapshot overtaken by a
    check-in whose recompute was lost (a broker down) is read from the check-ins
    until the plan's next check-in's recompute stamps it.
    """
    OutcomeSnapshot.objects.using(using).filter(plan_id__in=list(plan_ids), computed_at__lt=now).update(
        computed_at=now
    )


def outcome_refresh_plan(
    *, plan_id: int, today: date | None = None, using: str = DEFAULT_DB_ALIAS
) -> OutcomeSnapshot | None:
    """Recompute one plan's snapshot from its check-ins (after a check-in); a missing plan is a no-op.

    ``today``: the patient's local date (default: from their time zone now).
    Returns the snapshot as stored afterwards, or None when the plan does not
    exist. Writes figures only when one changed; stamps ``computed_at`` either way; then
    recomputes the plan's questionnaire figures (outcomes.instrument_outcomes).
    """
    plan = CarePlan.objects.using(using).select_related("patient").filter(pk=plan_id).first()
    if plan is None:
        return None
    today = today or plan.patient.local_today()
    plans = CarePlan.objects.using(using).filter(pk=plan_id)
    now = timezone.now()
    with transaction.atomic(using=using):
        rows = _measured_changes(plans, {str(plan.patient.timezone): today})
        _write(rows, now=now, using=using)
        _stamp_checked([plan_id], now=now, using=using)
    instrument_outcomes_refresh(plans, now=now, using=using)
    return OutcomeSnapshot.objects.using(using).get(plan_id=plan_id)
