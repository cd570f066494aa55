"""The outcome rules of careplans.outcomes, computed for many plans at once in SQL.

The nightly recompute must cover 100,000 plans (8.4 million check-ins) without a
Python loop over plans and without holding check-ins in Python memory. So for
each batch of plans (a plan id range) the database aggregates the check-ins per
plan into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT DO
UPDATE`` applies the rules and writes the snapshots. The same SQL feeds
``export_outcomes``.

How each rule becomes SQL (all days counted from the plan's start):

- week means (baseline, week-12 endpoint): ``AVG`` with a ``FILTER`` on the
  date window, in one GROUP BY pass over the check-ins;
- "the first check-in in days 7-13" and "the latest check-in in days 63-83":
  ``MIN``/``MAX`` of ``day * 16 + nprs`` in the window, then ``% 16``. There is
  at most one check-in per plan per day and NPRS < 16, so the smallest
  (largest) code belongs to the first (latest) day and its remainder is its NPRS;
- current: the same pass finds each plan's latest check-in date. The snapshot
  already holds the latest date the previous recompute saw, so the same pass
  also averages the 7 days ending there; when the latest date has not moved
  (the per-check-in task keeps snapshots up to date, so at night it mostly has
  not), that average is current. Otherwise (no snapshot yet, a newer or deleted
  latest check-in) the at most 7 check-ins of the 7 days ending at the latest
  date are one short range read of the ``(plan, local_date)`` index per plan.
  Either way the figure comes from the check-ins; the snapshot only says where
  to look;
- change, percent change, responder, worsening: arithmetic on those per-plan
  figures, with the same tolerance as the Python rules.

The recompute writes only the snapshots whose figures changed (and new ones):
an unchanged row is left as it is, ``computed_at`` included, so ``computed_at``
is when the figures were last written. Every check-in received before it is
reflected in them, which is what the attention list relies on.

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

#: Plans per batch. Each batch's aggregate reads the check-ins of its plan id
#: range, so fewer batches means fewer passes over the table; memory does not
#: grow with it (nothing comes back to Python, and the database spills its hash
#: tables to disk beyond work_mem). 100,000 plans are one pass.
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


def _core_postgresql(
    *, now: datetime, where: str, params: Sequence[Any], export: bool
) -> tuple[list[str], str, list[Any]]:
    """PostgreSQL: plan by plan, two short reads of the ``(plan, local_date)`` covering index.

    For each plan (in plan id order) one aggregate over its check-ins, read from
    the covering index alone, then the at most 7 check-ins of the week ending at
    its latest one. Nothing is sorted or hashed, and nothing waits for the end of
    a whole-table aggregate before ``current`` can be computed.
    """
    plan = CarePlan._meta.db_table
    patient = Patient._meta.db_table
    checkin = PainCheckIn._meta.db_table
    real = "double precision"

    def window(first: int, last: int) -> str:
        return f"c.local_date BETWEEN cp.start_date + {first} AND cp.start_date + {last}"

    day = "(c.local_date - cp.start_date)"
    export_cols = (
        ", cp.clinic_id, pt.user_id, cp.title AS plan_title, cp.start_date AS plan_start" if export else ""
    )
    # Table names and fixed fragments only; every value is a parameter.
    select = f"""
SELECT cp.id AS plan_id,
       ((%s::timestamptz AT TIME ZONE pt.timezone)::date - cp.start_date) AS today_day,
       COALESCE(agg.week1, agg.first_7_13 %% 16) AS baseline,
       COALESCE(agg.week12, agg.last_63_83 %% 16) AS endpoint,
       cur.current,
       agg.n,
       agg.last_date{export_cols}
FROM {plan} cp
JOIN {patient} pt ON pt.id = cp.patient_id
CROSS JOIN LATERAL (
    SELECT COUNT(*) AS n,
           MAX(c.local_date) AS last_date,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {window(0, 6)}) AS week1,
           MIN({day} * 16 + c.nprs) FILTER (WHERE {window(7, 13)}) AS first_7_13,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {window(77, 83)}) AS week12,
           MAX({day} * 16 + c.nprs) FILTER (WHERE {window(63, 83)}) AS last_63_83
    FROM {checkin} c
    WHERE c.plan_id = cp.id
) agg
CROSS JOIN LATERAL (
    SELECT AVG(CAST(c.nprs AS {real})) AS current
    FROM {checkin} c
    WHERE c.plan_id = cp.id AND c.local_date BETWEEN agg.last_date - 6 AND agg.last_date
) cur
WHERE {where}"""  # noqa: S608
    return [], select, [now, *params]


def _core(
    *, now: datetime, where: str, params: Sequence[Any], checkin_range: tuple[int, int], export: bool
) -> tuple[list[str], str, list[Any]]:
    """Per plan matching ``where`` (on ``cp``): baseline, endpoint, current, counts, today's plan day.

    Returns CTEs, a SELECT, and their parameters in order. The SELECT's columns
    are plan_id, today_day, baseline, endpoint, current, n, last_date (then
    clinic_id, user_id, plan_title, plan_start when ``export``). The export
    does not look at the snapshots at all, not even for where the current week is.
    """
    plan = CarePlan._meta.db_table
    patient = Patient._meta.db_table
    checkin = PainCheckIn._meta.db_table
    snapshot = OutcomeSnapshot._meta.db_table
    low, high = checkin_range
    real = "REAL"
    ctes: list[str] = []
    cte_params: list[Any] = []
    if connection.vendor == "postgresql":
        return _core_postgresql(now=now, where=where, params=params, export=export)
    if True:
        # SQLite evaluates date functions per row, so each plan's window bounds
        # are computed once, in a materialized table, and compared as ISO text.
        zones_cte, cte_params = _zone_values(now, where, params)
        offsets = (6, 7, 13, 63, 77, 83)
        bounds = ", ".join(f"date(cp.start_date, '+{n} days') AS d{n}" for n in offsets)
        if export:
            hint_cols, hint_join = "NULL AS hint, NULL AS hint_from", ""
        else:
            hint_cols = "s.last_checkin_date AS hint, date(s.last_checkin_date, '-6 days') AS hint_from"
            hint_join = f"LEFT JOIN {snapshot} s ON s.plan_id = cp.id"
        ctes = [
            zones_cte,
            f"bounds AS MATERIALIZED (SELECT"  # noqa: S608 - fixed fragments; values are parameters
            f" cp.id, cp.start_date AS d0, {bounds}, "
            f"CAST(julianday(cp.start_date) AS INTEGER) AS jd, {hint_cols} "
            f"FROM {plan} cp {hint_join} WHERE {where})",
        ]
        hint = "cp.hint"
        hint_window = "c.local_date BETWEEN cp.hint_from AND cp.hint"
        cte_params += list(params)

        def window(first: int, last: int) -> str:
            return f"c.local_date BETWEEN cp.d{first} AND cp.d{last}"

        day = "(CAST(julianday(c.local_date) AS INTEGER) - cp.jd)"
        source = f"bounds cp JOIN {checkin} c ON c.plan_id = cp.id"
        source_where, source_params = "TRUE", []
        today = "CAST(julianday(zt.today) - julianday(cp.start_date) AS INTEGER)"
        today_params = []
        zones_join = "JOIN zone_today zt ON zt.zone = pt.timezone"
        week_before = "date(agg.last_date, '-6 days')"

    export_cols = (
        ", cp.clinic_id, pt.user_id, cp.title AS plan_title, cp.start_date AS plan_start" if export else ""
    )
    # Table names and fixed fragments only; every value is a parameter.
    select = f"""
SELECT cp.id AS plan_id,
       {today} AS today_day,
       COALESCE(agg.week1, agg.first_7_13 %% 16) AS baseline,
       COALESCE(agg.week12, agg.last_63_83 %% 16) AS endpoint,
       CASE WHEN agg.last_date = agg.hint THEN agg.hint_week
            ELSE (SELECT AVG(CAST(c.nprs AS {real})) FROM {checkin} c
                  WHERE c.plan_id = cp.id AND c.local_date BETWEEN {week_before} AND agg.last_date)
       END AS current,
       COALESCE(agg.n, 0) AS n,
       agg.last_date{export_cols}
FROM {plan} cp
JOIN {patient} pt ON pt.id = cp.patient_id
{zones_join}
LEFT JOIN (
    SELECT c.plan_id,
           COUNT(*) AS n,
           MAX(c.local_date) AS last_date,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {window(0, 6)}) AS week1,
           MIN({day} * 16 + c.nprs) FILTER (WHERE {window(7, 13)}) AS first_7_13,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {window(77, 83)}) AS week12,
           MAX({day} * 16 + c.nprs) FILTER (WHERE {window(63, 83)}) AS last_63_83,
           MAX({hint}) AS hint,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {hint_window}) AS hint_week
    FROM {source}
    WHERE {source_where} AND c.plan_id >= %s AND c.plan_id < %s
    GROUP BY c.plan_id
) agg ON agg.plan_id = cp.id
WHERE {where}"""  # noqa: S608
    return ctes, select, [*cte_params, *today_params, *source_params, low, high, *params]


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
        where.append(f"cp.clinic_id IN ({', '.join(['%s'] * len(clinic_ids)) or 'NULL'})")
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
            now=now, where=where, params=params, checkin_range=id_range, export=False
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
        ctes, core, core_params = _core(
            now=now, where=where, params=params, checkin_range=id_range, export=True
        )
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
    else:
        day = "CAST(julianday(c.local_date) - julianday(p.start_date) AS INTEGER)"
        real = "REAL"
    inner = f"""
    SELECT c.plan_id,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {day} BETWEEN 0 AND 6) AS baseline,
           AVG(CAST(c.nprs AS {real})) FILTER (WHERE {day} BETWEEN 77 AND 83) AS endpoint
    FROM {checkin} c JOIN {plan} p ON p.id = c.plan_id
    GROUP BY c.plan_id"""  # noqa: S608
    if per_plan:
        return inner
    return f"SELECT COUNT(*), AVG(baseline), AVG(endpoint) FROM ({inner}) per_plan"  # noqa: S608
