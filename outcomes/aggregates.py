"""Percentiles as a database aggregate, on PostgreSQL and on SQLite alike.

PostgreSQL has the ordered-set aggregate ``PERCENTILE_CONT``. The SQLite that
Python ships has none, so every new SQLite connection gets an aggregate of the
same definition (``register_sqlite_percentile``, connected in
outcomes.apps), in the way Django gives SQLite its ``VAR_SAMP`` and
``STDDEV_SAMP``. Both interpolate linearly between the two nearest ranks:
the p-th percentile of n sorted values x_0..x_{n-1} is at position p(n - 1)
(Hyndman and Fan 1996, definition 7; PostgreSQL's documentation,
"Ordered-Set Aggregate Functions"). NULLs are skipped; no values give NULL.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField

SQLITE_FUNCTION = "plinth_percentile_cont"


class Percentile(Aggregate):
    """``Percentile(expression, fraction)``: the ``fraction`` (0-1) percentile of a float expression.

    Returns a float, or None over no (non-NULL) values.
    """

    function = "PERCENTILE_CONT"
    name = "Percentile"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"A percentile's fraction is between 0 and 1, not {fraction}")
        self.fraction = float(fraction)
        super().__init__(expression, fraction=repr(self.fraction), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        """SQLite: the registered aggregate, with the fraction as its second argument."""
        sqlite = self.copy()
        sqlite.function = SQLITE_FUNCTION
        sqlite.template = "%(function)s(%(expressions)s, " + repr(self.fraction) + ")"
        return super(Percentile, sqlite).as_sql(compiler, connection, **extra_context)


def percentile_of_sorted(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of ascending ``values``, interpolated as PERCENTILE_CONT does."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (position - low) * (values[high] - values[low])


class _SqlitePercentile:
    """The SQLite aggregate behind ``Percentile``: collects the group's values, sorts them once."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return percentile_of_sorted(sorted(self.values), self.fraction)


def register_sqlite_percentile(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: give a new SQLite connection the percentile aggregate."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_FUNCTION, 2, _SqlitePercentile)


def connect() -> None:
    """Register the receiver (outcomes.apps, at start-up)."""
    connection_created.connect(register_sqlite_percentile, dispatch_uid="outcomes.percentile")
