"""The outcome rules of careplans.outcomes, computed for many plans at once in SQL.

The nightly recompute must cover 100,000 plans (8.4 million check-ins) without a
Python loop over plans and without holding check-ins in Python memory. So each
batch of plans (a plan id range) is one ``INSERT ... SELECT ... ON CONFLICT DO
UPDATE`` statement: the database aggregates the check-ins per plan and writes
the snapshots itself. The same SELECT feeds ``export_outcomes``.

How each rule becomes an aggregate (all days counted from the plan's start):

- week means (baseline, week-12 endpoint, current): ``AVG`` with a ``FILTER``
  on the date window;
- "the first check-in in days 7-13" and "the latest check-in in days 63-83":
  ``MIN``/``MAX`` of ``day * 16 + nprs`` in the window, then ``% 16``. There is
  at most one check-in per plan per day and NPRS < 16, so the smallest
  (largest) code belongs to the first (latest) day and its remainder is its NPRS;
- current: the plan's latest check-in date comes first (an index-only probe of
  ``(plan, local_date)``), then the 7 days ending there are one more filter.

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

#: Plans per statement: big enough that per-statement overhead is noise, small
#: enough that one batch's hash tables stay a few megabytes.
DEFAULT_BATCH = 25_000

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


@dataclass(frozen=True)
class _Sql:
    """The few places where PostgreSQL and SQLite spell things differently."""

    day: str  # day number of check-in c since plan start p (an integer)
    shift: str  # a date p.start_date + N days, with {n} for N
    before_last: str  # the day 6 days before a date expression {d}
    today_day: str  # the plan's day number on the patient's local today
    real: str  # a float type for AVG
    zones_join: str  # SQLite: join to the today-per-zone table


def _dialect() -> _Sql:
    table = Patient._meta.db_table
    if connection.vendor == "postgresql":
        return _Sql(
            day="(c.local_date - p.start_date)",
            shift="(p.start_date + {n})",
            before_last="({d} - 6)",
            today_day=f"((%s::timestamptz AT TIME ZONE {table}.timezone)::date - cp.start_date)",
            real="double precision",
            zones_join="",
        )
    return _Sql(
        day="(CAST(julianday(c.local_date) AS INTEGER) - p.start_jd)",
        shift="date(p.start_date, '+{n} days')",
        before_last="date({d}, '-6 days')",
        today_day="CAST(julianday(zt.today) - julianday(cp.start_date) AS INTEGER)",
        real="REAL",
        zones_join=f"JOIN zone_today zt ON zt.zone = {table}.timezone",
    )


def _zone_values(now: datetime, where: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    """SQLite only: ``zone_today(zone, today)`` rows, one per distinct patient time zone."""
    patient = Patient._meta.db_table
    plan = CarePlan._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT {patient}.timezone FROM {plan} cp "  # noqa: S608 - table names only
            f"JOIN {patient} ON {patient}.id = cp.patient_id WHERE {where}",
            params,
        )
        zones = [row[0] for row in cursor.fetchall()]
    if not zones:
        zones = ["UTC"]
    rows = ", ".join(["(%s, %s)"] * len(zones))
    values: list[Any] = []
    for zone in zones:
        values += [zone, now.astimezone(zoneinfo.ZoneInfo(zone)).date().isoformat()]
    return f"zone_today(zone, today) AS (VALUES {rows}), ", values


def _select(
    *, now: datetime, where: str, params: Sequence[Any], export: bool = False
) -> tuple[str, str, list[Any]]:
    """The per-plan outcome query for the plans matching ``where`` (on ``cp``).

    Returns its WITH clause, its SELECT (columns SNAPSHOT_COLUMNS, then
    EXPORT_COLUMNS when ``export``) and the parameters of both, in order.
    """
    sql = _dialect()
    plan = CarePlan._meta.db_table
    patient = Patient._meta.db_table
    checkin = PainCheckIn._meta.db_table
    values: list[Any] = []
    zones_cte = ""
    if connection.vendor != "postgresql":
        zones_cte, values = _zone_values(now, where, params)
    else:
        values = [now]
    start_jd = (
        ", CAST(julianday(cp.start_date) AS INTEGER) AS start_jd" if connection.vendor != "postgresql" else ""
    )

    def window(low: int, high: int) -> str:
        return f"c.local_date BETWEEN {sql.shift.format(n=low)} AND {sql.shift.format(n=high)}"

    export_plan = (
        f", cp.title AS plan_title, cp.start_date AS plan_start, cp.clinic_id, {patient}.user_id"
        if export
        else ""
    )
    export_cols = ", cl.name, u.email, b.plan_title, b.plan_start" if export else ""
    export_join = (
        f"JOIN {Clinic._meta.db_table} cl ON cl.id = b.clinic_id JOIN {User._meta.db_table} u ON u.id = b.user_id"
        if export
        else ""
    )
    eps = repr(TOLERANCE)
    with_clause = f"""
WITH {zones_cte}p AS MATERIALIZED (
    SELECT cp.id AS plan_id, cp.start_date{start_jd},
           {sql.today_day} AS today_day,
           (SELECT MAX(c.local_date) FROM {checkin} c WHERE c.plan_id = cp.id) AS last_date{export_plan}
    FROM {plan} cp
    JOIN {patient} ON {patient}.id = cp.patient_id
    {sql.zones_join}
    WHERE {where}
),
agg AS (
    SELECT c.plan_id,
           COUNT(*) AS n,
           AVG(CAST(c.nprs AS {sql.real})) FILTER (WHERE {window(0, 6)}) AS week1,
           MIN({sql.day} * 16 + c.nprs) FILTER (WHERE {window(7, 13)}) AS first_7_13,
           AVG(CAST(c.nprs AS {sql.real})) FILTER (WHERE {window(77, 83)}) AS week12,
           MAX({sql.day} * 16 + c.nprs) FILTER (WHERE {window(63, 83)}) AS last_63_83,
           AVG(CAST(c.nprs AS {sql.real})) FILTER (
               WHERE c.local_date >= {sql.before_last.format(d="p.last_date")}
           ) AS current
    FROM p JOIN {checkin} c ON c.plan_id = p.plan_id
    GROUP BY c.plan_id
),
b AS (
    SELECT p.*,
           COALESCE(agg.week1, agg.first_7_13 %% 16) AS baseline,
           agg.current,
           COALESCE(agg.week12, agg.last_63_83 %% 16) AS endpoint,
           COALESCE(agg.n, 0) AS n
    FROM p LEFT JOIN agg ON agg.plan_id = p.plan_id
)"""
    select = f"""
SELECT b.plan_id,
       b.baseline,
       b.current,
       b.endpoint,
       b.endpoint - b.baseline,
       CASE WHEN b.baseline <> 0 THEN 100.0 * (b.endpoint - b.baseline) / b.baseline END,
       CASE WHEN b.endpoint IS NULL OR b.baseline IS NULL THEN NULL
            WHEN b.baseline = 0 THEN FALSE
            ELSE (b.endpoint - b.baseline <= {RESPONDER_POINTS!r} + {eps}
                  AND 100.0 * (b.endpoint - b.baseline) / b.baseline <= {RESPONDER_PERCENT!r} + {eps})
       END,
       COALESCE(b.current - b.baseline >= {WORSENING_POINTS!r} - {eps}, FALSE),
       b.today_day >= {WEEK12_COMPLETE_DAY},
       (b.today_day >= {WEEK12_COMPLETE_DAY} AND b.endpoint IS NULL),
       b.n,
       b.last_date,
       %s{export_cols}
FROM b {export_join}
WHERE TRUE"""
    stamp = connection.ops.adapt_datetimefield_value(now)
    return with_clause, select, [*values, *params, stamp]


def _batches(*, where: str, params: Sequence[Any], batch_size: int) -> Iterator[tuple[str, list[Any]]]:
    """Plan id ranges of ``batch_size`` ids, as ``where`` clauses on ``cp``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(cp.id), MAX(cp.id) FROM {CarePlan._meta.db_table} cp WHERE {where}",  # noqa: S608
            params,
        )
        low, high = cursor.fetchone() or (None, None)
    if low is None:
        return
    for start in range(low, high + 1, batch_size):
        yield f"({where}) AND cp.id >= %s AND cp.id < %s", [*params, start, start + batch_size]


def _scope(*, clinic_ids: Sequence[int] | None, plan_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    where, params = ["TRUE"], []
    if clinic_ids is not None:
        where.append(f"cp.clinic_id IN ({', '.join(['%s'] * len(clinic_ids)) or 'NULL'})")
        params += list(clinic_ids)
    if plan_ids is not None:
        where.append(f"cp.id IN ({', '.join(['%s'] * len(plan_ids)) or 'NULL'})")
        params += list(plan_ids)
    return " AND ".join(where), params


def outcome_refresh_all(
    *,
    now: datetime | None = None,
    clinic_ids: Sequence[int] | None = None,
    plan_ids: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> int:
    """Recompute the snapshots of every plan (or of some clinics' or plans'), set-based.

    One upsert statement per ``batch_size`` plan ids, each in its own short
    transaction, so a long run never holds one big lock and memory stays flat.
    Returns the number of snapshots written.
    """
    now = now or timezone.now()
    scope, scope_params = _scope(clinic_ids=clinic_ids, plan_ids=plan_ids)
    columns = ", ".join(SNAPSHOT_COLUMNS)
    updates = ", ".join(f"{name} = excluded.{name}" for name in SNAPSHOT_COLUMNS[1:])
    written = 0
    for where, params in _batches(where=scope, params=scope_params, batch_size=batch_size):
        with_clause, select, select_params = _select(now=now, where=where, params=params)
        # WITH ... INSERT is accepted by both databases; "WHERE TRUE" in the
        # SELECT lets SQLite parse the ON CONFLICT clause after it.
        query = (
            f"{with_clause}\nINSERT INTO {OutcomeSnapshot._meta.db_table} ({columns}){select}\n"
            f"ON CONFLICT (plan_id) DO UPDATE SET {updates}"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(query, select_params)
            if connection.vendor == "sqlite":
                # Python's sqlite3 reports no row count for a statement that starts with WITH.
                cursor.execute("SELECT changes()")
                written += cursor.fetchone()[0]
            else:
                written += cursor.rowcount
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
    for where, params in _batches(where=scope, params=scope_params, batch_size=batch_size):
        with_clause, select, query_params = _select(now=now, where=where, params=params, export=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"{with_clause}{select}\nORDER BY cl.name, u.email, b.plan_start, b.plan_id", query_params
            )
            for row in cursor.fetchall():
                (_, base, cur, end, chg, pct, resp, worse, reached, missing, _, _, _) = row[:13]
                clinic, email, title, start = row[13:]
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


def floor_query() -> str:
    """The benchmark's floor: baseline and week-12 means per plan, hand-written, one scan."""
    plan = CarePlan._meta.db_table
    checkin = PainCheckIn._meta.db_table
    if connection.vendor == "postgresql":
        day = "(c.local_date - p.start_date)"
        real = "double precision"
    else:
        day = "CAST(julianday(c.local_date) - julianday(p.start_date) AS INTEGER)"
        real = "REAL"
    return f"""
SELECT COUNT(*), AVG(baseline), AVG(endpoint) FROM (
    SELECT c.plan_id,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {day} BETWEEN 0 AND 6) AS baseline,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {day} BETWEEN 77 AND 83) AS endpoint
    FROM {checkin} c JOIN {plan} p ON p.id = c.plan_id
    GROUP BY c.plan_id
) per_plan"""
