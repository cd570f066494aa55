"""How a pain figure is shown: one rounding rule for every page, chart label, list and API value.

A figure is an NPRS mean (0-10, the Numeric Pain Rating Scale) or a difference
of two; it is shown to one decimal, rounded half up as people round (a mean of
6.75 shows as 6.8, never 6.7; Python's ``round`` and ``"{:.1f}"`` would give
6.8 or 6.7 depending on the binary value). It lives here, with the check-ins,
because the pain chart (this app) and every outcome page (above it) use it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TENTH = Decimal("0.1")


def nprs_tenths(value: float | Decimal) -> Decimal:
    """``value`` (NPRS points, a float or Decimal) rounded half up to one decimal: 6.75 -> Decimal("6.8")."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    # + 0 turns -0.0 into 0.0, so a difference of equal figures never shows as "-0.0".
    return exact.quantize(TENTH, rounding=ROUND_HALF_UP) + 0


def nprs_text(value: float | Decimal) -> str:
    """``value`` as shown: "5.0", "6.8", "-1.7" (NPRS points, one decimal, half up)."""
    return str(nprs_tenths(value))


def whole_percent(value: float) -> int:
    """A percentage rounded half up to a whole number: 33.5 -> 34, -33.5 -> -34 (away from zero)."""
    return int(Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
