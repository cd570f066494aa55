"""The outcome rules of careplans.outcomes, computed for many plans at once in SQL.

The nightly recompute must cover 100,000 plans (8.4 million check-ins) without a
Python loop over plans and without holding check-ins in Python memory. So for
each batch of plans (a plan id range) one statement computes every plan's
figures into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT DO
UPDATE`` applies the rules and writes the snapshots. The same SQL feeds
``export_outcomes``.

The check-ins are read from the ``(plan, local_date, nprs)`` index
(``checkin_plan_day_nprs``), never from their rows: a plan's check-ins are
adjacent there, in date order. PostgreSQL aggregates the whole batch in one
parallel GROUP BY pass (``_core_postgresql``); SQLite, which has no parallel
workers and pays a function call per aggregated row, reads each figure's few
entries plan by plan (``_core_sqlite``). How each rule becomes SQL (all days
counted from the plan's start):

- week means (baseline, week-12 endpoint): the mean of the check-ins dated in
  the week's 7 days;
- "the first check-in in days 7-13" and "the latest check-in in days 63-83":
  the first (last) of the check-ins dated in the window;
- current: the plan's latest date, then the mean of the 7 days ending there
  (one short index read per plan on both backends);
- change, percent change, responder, worsening: arithmetic on those per-plan
  figures, with the same tolerance as the Python rules.

The recompute writes only the snapshots whose figures changed (and new ones):
an unchanged row is left as it is, ``computed_at`` included, so ``computed_at``
is when the figures were last written. Every check-in received before it is
reflected in them (a later recompute that found the same figures confirms
them), which is what the attention list relies on.

The patient's local "today" decides whether week 12 is over. PostgreSQL computes
it per patient with ``AT TIME ZONE``; SQLite has no time zone database, so
Python computes today once per distinct zone (a handful, not one per plan) and
passes them in as a VALUES table.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from careplans.models import CarePlan, OutcomeSnapshot
from careplans.outcomes import (
    RESPONDER_PERCENT,
    RESPONDER_POINTS,
    TOLERANCE,
    WEEK12_COMPLETE_DAY,
    WORSENING_POINTS,
)
from patients.models import Clinic, PainCheckIn, Patient, User

#: Plans per batch, each batch one transaction and one temporary table. The
#: check-ins are read plan by plan, so the batch size changes neither the work
#: nor the memory of this process (nothing but a count comes back to Python).
DEFAULT_BATCH = 100_000

SNAPSHOT_COLUMNS = (
    "plan_id",
    "baseline",
    "current",
    "endpoint",
    "change",
    "percent_change",
    "responder",
    "worsening",
    "reached_week_12",
    "missing_endpoint",
    "checkin_count",
    "last_checkin_date",
    "computed_at",
)
EXPORT_COLUMNS = ("clinic", "patient_email", "plan_title", "plan_start")


def _zone_values(now: datetime, where: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    """SQLite only: a ``zone_today(zone, today)`` CTE, one row per distinct patient time zone."""
    patient = Patient._meta.db_table
    plan = CarePlan._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT pt.timezone FROM {plan} cp "  # noqa: S608 - table names only
            f"JOIN {patient} pt ON pt.id = cp.patient_id WHERE {where}",
            params,
        )
        zones = [row[0] for row in cursor.fetchall()] or ["UTC"]
    values: list[Any] = []
    for zone in zones:
        values += [zone, now.astimezone(zoneinfo.ZoneInfo(zone)).date().isoformat()]
    return f"zone_today(zone, today) AS (VALUES {', '.join(['(%s, %s)'] * len(zones))})", values


def _core(
    *, now: datetime, where: str, params: Sequence[Any], plan_range: tuple[int, int], export: bool
) -> tuple[list[str], str, list[Any]]:
    """Per plan matching ``where`` (on ``cp``): baseline, endpoint, current, counts, today's plan day.

    Returns CTEs, a SELECT, and their parameters in order. The SELECT's columns
    are plan_id, today_day, baseline, endpoint, current, n, last_date (then
    clinic_id, user_id, plan_title, plan_start when ``export``).
    """
    if connection.vendor == "postgresql":
        return _core_postgresql(now=now, where=where, params=params, plan_range=plan_range, export=export)
    return _core_sqlite(now=now, where=where, params=params, export=export)


_EXPORT_COLUMNS = ", pt.clinic_id, pt.user_id, cp.title AS plan_title, cp.start_date AS plan_start"


def _core_postgresql(
    *, now: datetime, where: str, params: Sequence[Any], plan_range: tuple[int, int], export: bool
) -> tuple[list[str], str, list[Any]]:
    """PostgreSQL: one GROUP BY pass over the batch's index range, then each plan's latest week.

    A plain join, no CTE and no LATERAL: PostgreSQL then runs the aggregate
    with parallel workers (a CTE scan, or a subquery taking the plan from
    outside, would keep it on one core). The day windows are compared as
    dates; "first in days 7-13" and "latest in days 63-83" are ``MIN``/``MAX``
    of ``day * 16 + nprs`` in the window, then ``% 16``: at most one check-in
    per plan per day and NPRS < 16, so the smallest (largest) code belongs to
    the first (latest) day and its remainder is its NPRS. The same pass finds
    each plan's latest date; the at most 7 check-ins of the week ending there
    are then one short index-only read per plan.
    """
    plan = CarePlan._meta.db_table
    patient = Patient._meta.db_table
    checkin = PainCheckIn._meta.db_table
    real = "double precision"
    low, high = plan_range

    def window(first: int, last: int) -> str:
        return f"c.local_date BETWEEN cp.start_date + {first} AND cp.start_date + {last}"

    day = "(c.local_date - cp.start_date)"
    # Table names and fixed fragments only; every value is a parameter.
    select = f"""
SELECT cp.id AS plan_id,
       ((%s::timestamptz AT TIME ZONE pt.timezone)::date - cp.start_date) AS today_day,
       COALESCE(agg.week1, agg.first_7_13 %% 16) AS baseline,
       COALESCE(agg.week12, agg.last_63_83 %% 16) AS endpoint,
       (SELECT AVG(CAST(c.nprs AS {real})) FROM {checkin} c
        WHERE c.plan_id = cp.id AND c.local_date BETWEEN agg.last_date - 6 AND agg.last_date) AS current,
       COALESCE(agg.n, 0) AS n,
       agg.last_date{_EXPORT_COLUMNS if export else ""}
FROM {plan} cp
JOIN {patient} pt ON pt.id = cp.patient_id
LEFT JOIN (
    SELECT c.plan_id,
           COUNT(*) AS n,
           MAX(c.local_date) AS last_date,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {window(0, 6)}) AS week1,
           MIN({day} * 16 + c.nprs) FILTER (WHERE {window(7, 13)}) AS first_7_13,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {window(77, 83)}) AS week12,
           MAX({day} * 16 + c.nprs) FILTER (WHERE {window(63, 83)}) AS last_63_83
    FROM {checkin} c JOIN {plan} cp ON cp.id = c.plan_id
    WHERE {where} AND c.plan_id >= %s AND c.plan_id < %s
    GROUP BY c.plan_id
) agg ON agg.plan_id = cp.id
WHERE {where}"""  # noqa: S608
    return [], select, [now, *params, low, high, *params]


def _core_sqlite(
    *, now: datetime, where: str, params: Sequence[Any], export: bool
) -> tuple[list[str], str, list[Any]]:
    """SQLite: per plan, one short index range read per figure.

    SQLite runs each aggregate step as a function call per row, so instead of
    aggregating all 84 rows of a plan six ways, each figure reads only its own
    dates: a week mean reads at most 7 entries, "first in days 7-13" and
    "latest in days 63-83" one entry each (``ORDER BY ... LIMIT 1`` on the
    index order), the latest date one. Dates are ISO text, so they compare in
    calendar order; each plan's window bounds are computed once per plan.
    """
    plan = CarePlan._meta.db_table
    patient = Patient._meta.db_table
    checkin = PainCheckIn._meta.db_table
    zones_cte, zone_params = _zone_values(now, where, params)

    def bound(offset: int) -> str:
        return f"date(cp.start_date, '+{offset} days')"

    def mean(first: int, last: int) -> str:
        return (
            f"(SELECT AVG(CAST(c.nprs AS REAL)) FROM {checkin} c "  # noqa: S608 - names and fixed fragments
            f"WHERE c.plan_id = cp.id AND c.local_date BETWEEN {bound(first)} AND {bound(last)})"
        )

    def pick(first: int, last: int, order: str) -> str:
        return (
            f"(SELECT c.nprs FROM {checkin} c "  # noqa: S608 - names and fixed fragments
            f"WHERE c.plan_id = cp.id AND c.local_date BETWEEN {bound(first)} AND {bound(last)} "
            f"ORDER BY c.local_date {order} LIMIT 1)"
        )

    export_cols = ", p.clinic_id, p.user_id, p.plan_title, p.plan_start" if export else ""
    # Table names and fixed fragments only; every value is a parameter.
    select = f"""
SELECT p.plan_id,
       p.today_day,
       COALESCE(p.week1, p.first_7_13) AS baseline,
       COALESCE(p.week12, p.last_63_83) AS endpoint,
       (SELECT AVG(CAST(c.nprs AS REAL)) FROM {checkin} c
        WHERE c.plan_id = p.plan_id AND c.local_date BETWEEN date(p.last_date, '-6 days') AND p.last_date
       ) AS current,
       p.n,
       p.last_date{export_cols}
FROM (
    SELECT cp.id AS plan_id,
           CAST(julianday(zt.today) - julianday(cp.start_date) AS INTEGER) AS today_day,
           (SELECT COUNT(*) FROM {checkin} c WHERE c.plan_id = cp.id) AS n,
           (SELECT MAX(c.local_date) FROM {checkin} c WHERE c.plan_id = cp.id) AS last_date,
           {mean(0, 6)} AS week1,
           {pick(7, 13, "ASC")} AS first_7_13,
           {mean(77, 83)} AS week12,
           {pick(63, 83, "DESC")} AS last_63_83{_EXPORT_COLUMNS if export else ""}
    FROM {plan} cp
    JOIN {patient} pt ON pt.id = cp.patient_id
    JOIN zone_today zt ON zt.zone = pt.timezone
    WHERE {where}
) p"""  # noqa: S608
    return [zones_cte], select, [*zone_params, *params]


def _derived() -> str:
    """The rules that follow from baseline, endpoint and current, over a core row ``b``.

    Its columns are named and ordered as ``SNAPSHOT_COLUMNS`` without ``computed_at``.
    """
    eps = repr(TOLERANCE)
    return f"""
SELECT b.plan_id,
       b.baseline AS baseline,
       b.current AS current,
       b.endpoint AS endpoint,
       b.endpoint - b.baseline AS change,
       CASE WHEN b.baseline <> 0 THEN 100.0 * (b.endpoint - b.baseline) / b.baseline END AS percent_change,
       CASE WHEN b.endpoint IS NULL OR b.baseline IS NULL THEN NULL
            WHEN b.baseline = 0 THEN FALSE
            ELSE (b.endpoint - b.baseline <= {RESPONDER_POINTS!r} + {eps}
                  AND 100.0 * (b.endpoint - b.baseline) / b.baseline <= {RESPONDER_PERCENT!r} + {eps})
       END AS responder,
       COALESCE(b.current - b.baseline >= {WORSENING_POINTS!r} - {eps}, FALSE) AS worsening,
       b.today_day >= {WEEK12_COMPLETE_DAY} AS reached_week_12,
       (b.today_day >= {WEEK12_COMPLETE_DAY} AND b.endpoint IS NULL) AS missing_endpoint,
       b.n AS checkin_count,
       b.last_date AS last_checkin_date"""


def _batches(
    *, where: str, params: Sequence[Any], batch_size: int
) -> Iterator[tuple[str, list[Any], tuple[int, int]]]:
    """Plan id ranges of ``batch_size`` ids: a ``where`` clause on ``cp``, its parameters, the range."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(cp.id), MAX(cp.id) FROM {CarePlan._meta.db_table} cp WHERE {where}",  # noqa: S608
            params,
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return
    low, high = int(row[0]), int(row[1])
    for start in range(low, high + 1, batch_size):
        stop = start + batch_size
        yield f"({where}) AND cp.id >= %s AND cp.id < %s", [*params, start, stop], (start, stop)


def _scope(*, clinic_ids: Sequence[int] | None, plan_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    where, params = ["TRUE"], []
    if clinic_ids is not None:
        # A plan's clinic is its patient's (tenancy has one source).
        where.append(
            f"cp.patient_id IN (SELECT id FROM {Patient._meta.db_table} "  # noqa: S608 - table name only
            f"WHERE clinic_id IN ({', '.join(['%s'] * len(clinic_ids)) or 'NULL'}))"
        )
        params += list(clinic_ids)
    if plan_ids is not None:
        where.append(f"cp.id IN ({', '.join(['%s'] * len(plan_ids)) or 'NULL'})")
        params += list(plan_ids)
    return " AND ".join(where), params


def _with(ctes: list[str]) -> str:
    return f"WITH {', '.join(ctes)}" if ctes else ""


def outcome_refresh_all(
    *,
    now: datetime | None = None,
    clinic_ids: Sequence[int] | None = None,
    plan_ids: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> int:
    """Recompute the snapshots of every plan (or of some clinics' or plans'), set-based.

    Per ``batch_size`` plan ids, in one short transaction: the aggregates go
    into a temporary table (a plain CREATE TABLE AS, which PostgreSQL may run
    with parallel workers; an INSERT may not), then one ``INSERT ... SELECT ...
    ON CONFLICT DO UPDATE`` applies the rules and writes the snapshots that are
    new or whose figures changed; the others are left untouched. Returns the
    number of snapshots written.
    """
    now = now or timezone.now()
    scope, scope_params = _scope(clinic_ids=clinic_ids, plan_ids=plan_ids)
    table = OutcomeSnapshot._meta.db_table
    columns = ", ".join(SNAPSHOT_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in SNAPSHOT_COLUMNS[1:])
    figures = [name for name in SNAPSHOT_COLUMNS if name not in {"plan_id", "computed_at"}]
    same = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"
    unchanged = " AND ".join(f"s.{name} {same} d.{name}" for name in figures)
    stamp = connection.ops.adapt_datetimefield_value(now)
    written = 0
    for where, params, id_range in _batches(where=scope, params=scope_params, batch_size=batch_size):
        ctes, core, core_params = _core(
            now=now, where=where, params=params, plan_range=id_range, export=False
        )
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Compiling this statement with JIT costs more (about 0.1 s) than it saves.
                cursor.execute("SET LOCAL jit = off")
            cursor.execute("DROP TABLE IF EXISTS outcome_batch")
            cursor.execute(f"CREATE TEMPORARY TABLE outcome_batch AS {_with(ctes)} {core}", core_params)
            # Rows whose figures are unchanged are filtered out before the upsert
            # (an ON CONFLICT ... WHERE would still lock each of them). The WHERE
            # also lets SQLite parse the ON CONFLICT clause after a SELECT.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 - table and column names only
                f"SELECT d.*, %s FROM ({_derived()} FROM outcome_batch b) d "
                f"LEFT JOIN {table} s ON s.plan_id = d.plan_id "
                f"WHERE s.plan_id IS NULL OR NOT ({unchanged}) "
                f"ON CONFLICT (plan_id) DO UPDATE SET {updates}",
                [stamp],
            )
            written += cursor.rowcount
            cursor.execute("DROP TABLE outcome_batch")
    return written


@dataclass(frozen=True)
class PlanOutcomeRow:
    clinic: str
    patient_email: str
    plan_title: str
    plan_start: date
    baseline: float | None
    current: float | None
    endpoint_12w: float | None
    change: float | None
    percent_change: float | None
    responder: bool | None
    worsening: bool
    reached_week_12: bool
    missing_endpoint: bool


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _as_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def outcome_rows(
    *,
    now: datetime | None = None,
    clinic_ids: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[PlanOutcomeRow]:
    """Every plan's outcome computed afresh from its check-ins, batch by batch.

    For exports: it reads the check-ins, never the (possibly stale) snapshots.
    """
    now = now or timezone.now()
    scope, scope_params = _scope(clinic_ids=clinic_ids, plan_ids=None)
    derived = _derived()
    for where, params, id_range in _batches(where=scope, params=scope_params, batch_size=batch_size):
        ctes, core, core_params = _core(now=now, where=where, params=params, plan_range=id_range, export=True)
        query = (
            f"{_with([*ctes, f'b AS ({core})'])} {derived}, cl.name, u.email, b.plan_title, b.plan_start "
            f"FROM b JOIN {Clinic._meta.db_table} cl ON cl.id = b.clinic_id "
            f"JOIN {User._meta.db_table} u ON u.id = b.user_id ORDER BY b.plan_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(query, core_params)
            for row in cursor.fetchall():
                (_, base, cur, end, chg, pct, resp, worse, reached, missing, _, _) = row[:12]
                clinic, email, title, start = row[12:]
                yield PlanOutcomeRow(
                    clinic=clinic,
                    patient_email=email,
                    plan_title=title,
                    plan_start=_as_date(start),
                    baseline=base,
                    current=cur,
                    endpoint_12w=end,
                    change=chg,
                    percent_change=pct,
                    responder=_as_bool(resp),
                    worsening=bool(worse),
                    reached_week_12=bool(reached),
                    missing_endpoint=bool(missing),
                )


def floor_query(*, per_plan: bool = False) -> str:
    """The benchmark's floor: baseline and week-12 means per plan, hand-written, one scan.

    By default only a summary of the per-plan means leaves the database, so the
    floor is the aggregate alone; ``per_plan`` returns every plan's row instead.
    """
    plan = CarePlan._meta.db_table
    checkin = PainCheckIn._meta.db_table
    if connection.vendor == "postgresql":
        day = "(c.local_date - p.start_date)"
        real = "double precision"
        indexed = ""
    else:
        day = "CAST(julianday(c.local_date) - julianday(p.start_date) AS INTEGER)"
        real = "REAL"
        # SQLite's planner would read the check-in rows through the plan index;
        # the (plan, day, nprs) index that the recompute reads makes the floor
        # faster too, so the floor uses it.
        indexed = "INDEXED BY checkin_plan_day_nprs"
    inner = f"""
    SELECT c.plan_id,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {day} BETWEEN 0 AND 6) AS baseline,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {day} BETWEEN 77 AND 83) AS endpoint
    FROM {checkin} c {indexed} JOIN {plan} p ON p.id = c.plan_id
    GROUP BY c.plan_id"""  # noqa: S608
    if per_plan:
        return inner
    return f"SELECT COUNT(*), AVG(baseline), AVG(endpoint) FROM ({inner}) per_plan"  # noqa: S608
