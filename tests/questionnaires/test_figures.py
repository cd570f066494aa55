"""One display rule per instrument for its scores (questionnaires.figures): whole for a score that
can only be whole, else one decimal half up, a whole value keeping its decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from questionnaires.definitions import definition_checked
from questionnaires.figures import score_places, score_text
from questionnaires.models import Instrument

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(library: None) -> None:
    from questionnaires.services import questionnaires_load_shipped

    questionnaires_load_shipped()


def test_each_shipped_instrument_has_its_rule(shipped: None) -> None:
    places = {i.code: score_places(definition_checked(i.definition)) for i in Instrument.objects.all()}
    # PSFS and PEG: means of several items, fractional; GROC: one item, whole.
    assert places == {"psfs": 1, "peg": 1, "groc": 0}


@pytest.mark.parametrize(
    ("value", "places", "signed", "shown"),
    [
        (3, 1, False, "3.0"),
        (3.0, 1, False, "3.0"),
        (20 / 3, 1, False, "6.7"),
        (6.75, 1, False, "6.8"),  # half up, where "{:.1f}" gives 6.8 or 6.7 by the binary value
        (0.05, 1, False, "0.1"),
        (Decimal("4.25"), 1, False, "4.3"),
        (3, 0, False, "3"),
        (-7, 0, False, "-7"),
        (2, 1, True, "+2.0"),
        (-2.33, 1, True, "-2.3"),
        (-0.04, 1, True, "0.0"),  # no "-0.0"
        (3, 0, True, "+3"),
    ],
)
def test_score_text(value: float, places: int, signed: bool, shown: str) -> None:
    assert score_text(value, places, signed=signed) == shown


def test_the_template_filter_shows_a_score_by_the_rule() -> None:
    template = Template(
        "{% load questionnaire_figures %}[{{ a|score:1 }}|{{ b|score:1 }}|{{ c|score:0 }}|{{ d|score:1 }}]"
    )
    assert template.render(Context({"a": 3.0, "b": 20 / 3, "c": 5.0, "d": None})) == "[3.0|6.7|5|]"
