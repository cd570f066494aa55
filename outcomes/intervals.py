"""95% confidence intervals for the outcome report, from aggregates the database computed.

SciPy computes them (``scipy.stats``): the interval of a mean from Student's t
distribution, and of a proportion Wilson's score interval (Wilson 1927, JASA
22:209; recommended over the normal approximation for small samples and
rates near 0 or 100% by Brown, Cai and DasGupta 2001, Statistical Science
16:101). Nothing here sees a patient's figures: only counts, means and
variances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def mean_interval(
    *,
    n: int,
    mean: float | None,
    variance: float | None,
    within: tuple[float | None, float | None] = (None, None),
) -> Interval | None:
    """The 95% interval of a mean of ``n`` values with sample ``variance`` (n - 1 denominator).

    Units are those of ``mean``. Returns None with fewer than 2 values (no
    spread to estimate from) or without a mean; a variance of 0 gives the mean
    itself. ``within``: the range the mean can take (a change in NPRS points
    -10 to 10, a percent change from -100): Student's t interval is symmetric
    and, from few plans, can reach past it, so it is cut at its ends.
    """
    if mean is None or variance is None or n < 2:
        return None
    scale = math.sqrt(max(variance, 0.0) / n)
    if scale == 0:
        return Interval(mean, mean)
    margin = _t_critical(n - 1) * scale
    low, high = mean - margin, mean + margin
    floor, ceiling = within
    if floor is not None:
        low = max(low, floor)
    if ceiling is not None:
        high = min(high, ceiling)
    return Interval(low, high)


# Both are pure functions of whole numbers that recur on every report (the same
# plan counts, page after page), and SciPy's binomtest also computes a p-value the
# report does not use: each is computed once per process.
@lru_cache(maxsize=4096)
def _t_critical(degrees_of_freedom: int) -> float:
    """Student's t quantile whose central interval holds CONFIDENCE (two-sided)."""
    return float(stats.t.ppf((1 + CONFIDENCE) / 2, degrees_of_freedom))


@lru_cache(maxsize=16384)
def proportion_interval(*, count: int, n: int) -> Interval | None:
    """Wilson's 95% interval of the proportion ``count`` / ``n``, in percent (0-100); None when n is 0.

    Raises ValueError when ``count`` is not between 0 and ``n``.
    """
    if n <= 0:
        return None
    if not 0 <= count <= n:
        raise ValueError(f"A count of {count} out of {n} is not a proportion")
    ci = stats.binomtest(count, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return Interval(100 * float(ci.low), 100 * float(ci.high))
