"""``{{ value|nprs }}``: an NPRS figure in a template, rounded as every page rounds it (checkins.figures)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from checkins.figures import nprs_text

register = template.Library()


@register.filter
def nprs(value: float | Decimal | None) -> str:
    """An NPRS mean or difference to one decimal, half up ("6.8"); "" for None."""
    return "" if value is None else nprs_text(value)
