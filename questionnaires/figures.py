"""How a questionnaire score is shown: one rule per instrument, used by every page, chart label
and sentence that shows one (the record's table and chart, the change in words).

A score that can only be a whole number is shown whole ("3"); one that can be fractional is
shown to one decimal, rounded half up as people round, so a whole value keeps its decimal
("3.0" beside "6.7"). Which one an instrument's score is follows from its definition's scoring
method (``questionnaires.scoring``): a ``sum`` of whole-number items, or the ``mean`` of a single
item (the global rating of change), is whole; a mean of several items (PSFS, Stratford et al.
1995; PEG, Krebs et al. 2009) or a ``percent_of_max`` (Oswestry, Fairbank & Pynsent 2000) is
not. The API and the exports give the stored number unrounded.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from questionnaires.definitions import CheckedDefinition
from questionnaires.models import ScoringMethod


def score_places(definition: CheckedDefinition) -> int:
    """The decimals ``definition``'s score is shown with: 0 when it can only be whole (a sum, or
    the mean of one item), else 1."""
    if definition.method == ScoringMethod.SUM:
        return 0
    if definition.method == ScoringMethod.MEAN and len(definition.items) == 1:
        return 0
    return 1


def score_text(value: float | Decimal, places: int, *, signed: bool = False) -> str:
    """``value`` (a score, or a change in points, in the instrument's units) to ``places``
    decimals (``score_places``), half up: 6.75 -> "6.8", 3 -> "3.0" with one place, "3" with
    none; with ``signed`` a plus before a rise ("+2.0"); never "-0.0"."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    # + 0 turns -0.0 into 0.0, so no change never shows as "-0.0".
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) + 0
    return f"+{rounded}" if signed and rounded > 0 else str(rounded)
