"""``{{ value|score:places }}``: a questionnaire score in a template, shown by its instrument's rule
(``questionnaires.figures``)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from questionnaires.figures import score_text

register = template.Library()


@register.filter
def score(value: float | Decimal | None, places: int) -> str:
    """``value`` to ``places`` decimals, half up ("3.0", "6.7"; "3" with none); "" for None."""
    return "" if value is None else score_text(value, int(places))
