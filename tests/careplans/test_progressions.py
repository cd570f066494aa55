"""Progressing and regressing a plan exercise: the variant swapped in place, the dose kept or the
variant's own, a new plan version with its reason, and every refusal saying why."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from careplans.models import PlanExercise, PlanStatus
from careplans.plan_exercises import KEEP_DOSE, VARIANT_DOSE, careplan_exercise_vary
from careplans.services import careplan_activate
from library.models import Exercise, ExerciseStatus
from portal.errors import DomainError
from tests.conftest import Personas, login
from tests.factories import CarePlanFactory, ExerciseFactory, PlanExerciseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ladder(personas: Personas) -> dict[str, Any]:
    """Bridge between its easier (hip lift) and harder (single-leg bridge) variants, in an active plan."""
    single = ExerciseFactory(name="Single-leg bridge", sets=3, reps=6, hold_seconds=2)
    bridge = ExerciseFactory(name="Bridge", harder=single, sets=2, reps=10)
    lift = ExerciseFactory(name="Hip lift", harder=bridge)
    ExerciseFactory(name="Draft lift", harder=bridge, status=ExerciseStatus.DRAFT)
    ExerciseFactory(name="Other clinic lift", harder=bridge, clinic=personas.other_clinic)
    plan = CarePlanFactory(patient=personas.patient_a, therapist=personas.owner, status=PlanStatus.DRAFT)
    item = PlanExerciseFactory(plan=plan, exercise=bridge, sets=4, reps=12)
    plan = careplan_activate(plan=plan, by=personas.owner)
    return {"plan": plan, "item": item, "bridge": bridge, "single": single, "lift": lift}


def test_a_progression_swaps_in_the_harder_variant_keeping_the_dose(
    personas: Personas, ladder: dict[str, Any]
) -> None:
    item = careplan_exercise_vary(
        plan_exercise=ladder["item"],
        by=personas.owner,
        variant_id=ladder["single"].pk,
        dose=KEEP_DOSE,
        reason="  Pain down to 2/10 and the bridge is easy now.  ",
    )
    assert (item.pk, item.exercise, item.sets, item.reps) == (ladder["item"].pk, ladder["single"], 4, 12)
    version = ladder["plan"].versions.order_by("-number").first()
    assert version.number == 2 and version.reason == "Pain down to 2/10 and the bridge is easy now."
    assert version.summary == "Bridge swapped for Single-leg bridge."
    event = AuditEvent.objects.get(action="careplan.exercise_progressed")
    assert (event.data["from"], event.data["to"], event.data["dose"]) == (
        "bridge",
        "single-leg-bridge",
        "keep",
    )


def test_a_regression_can_take_the_easier_variants_own_dose(
    personas: Personas, ladder: dict[str, Any]
) -> None:
    item = careplan_exercise_vary(
        plan_exercise=ladder["item"],
        by=personas.owner,
        variant_id=ladder["lift"].pk,
        dose=VARIANT_DOSE,
        reason="Flare-up after lifting at work.",
    )
    lift: Exercise = ladder["lift"]
    assert (item.exercise, item.sets, item.reps) == (lift, lift.sets, lift.reps)
    assert AuditEvent.objects.filter(action="careplan.exercise_regressed").count() == 1


@pytest.mark.parametrize(
    ("variant", "dose", "reason", "code"),
    [
        ("draft", KEEP_DOSE, "why", "not_a_variant"),
        ("other clinic", KEEP_DOSE, "why", "not_a_variant"),
        ("unrelated", KEEP_DOSE, "why", "not_a_variant"),
        ("single", "double", "why", "unknown_dose"),
        ("single", KEEP_DOSE, "   ", "required"),
        ("single", KEEP_DOSE, "x" * 301, "too_long"),
    ],
)
def test_a_bad_request_is_refused_with_its_reason_and_changes_nothing(
    personas: Personas, ladder: dict[str, Any], variant: str, dose: str, reason: str, code: str
) -> None:
    ids = {
        "draft": Exercise.objects.get(name="Draft lift").pk,
        "other clinic": Exercise.objects.get(name="Other clinic lift").pk,
        "unrelated": ExerciseFactory(name="Wall sit").pk,
        "single": ladder["single"].pk,
    }
    with pytest.raises(DomainError) as caught:
        careplan_exercise_vary(
            plan_exercise=ladder["item"], by=personas.owner, variant_id=ids[variant], dose=dose, reason=reason
        )
    assert caught.value.code == code
    assert PlanExercise.objects.get(pk=ladder["item"].pk).exercise == ladder["bridge"]
    assert ladder["plan"].versions.count() == 1


def test_a_variant_already_in_the_plan_is_refused(personas: Personas, ladder: dict[str, Any]) -> None:
    PlanExerciseFactory(plan=ladder["plan"], exercise=ladder["single"])
    with pytest.raises(DomainError) as caught:
        careplan_exercise_vary(
            plan_exercise=ladder["item"],
            by=personas.owner,
            variant_id=ladder["single"].pk,
            dose=KEEP_DOSE,
            reason="x",
        )
    assert caught.value.code == "exercise_already_in_plan"


def test_the_builder_offers_the_variants_and_the_history_shows_the_reason(
    client: Client, personas: Personas, ladder: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    login(client, personas.colleague.user)
    plan = ladder["plan"]
    page = client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "Harder: Single-leg bridge" in page and "Easier: Hip lift" in page
    assert "Draft lift" not in page and "Other clinic lift" not in page
    url = reverse("plan-exercise-vary", args=[plan.pk, ladder["item"].pk])
    refused = client.post(url, {"variant": ladder["single"].pk, "dose": "variant", "reason": " \u200b "})
    # The plan again, this exercise's form open with what was chosen and the message at the reason.
    assert refused.status_code == 400
    html = refused.content.decode()
    item = ladder["item"].pk
    assert '<details class="vary" open>' in html and html.count('<details class="vary" open>') == 1
    assert re.search(rf'name="variant" value="{ladder["single"].pk}" required checked', html)
    assert 'name="dose" value="variant" checked' in html
    reason = re.search(rf'<input type="text" id="vary-reason-{item}"[^>]*>', html)
    assert reason and 'aria-invalid="true"' in reason.group(0) and "autofocus" in reason.group(0)
    assert re.search(rf'id="vary-error-{item}" role="alert">Bridge was not changed: Say why', html)
    unknown = client.post(url, {"variant": "0", "dose": "keep", "reason": "Ready."})
    assert unknown.status_code == 400 and 'aria-describedby="vary-error-' in unknown.content.decode()
    assert ladder["item"].exercise_id == ladder["bridge"].pk
    shown = client.get(reverse("exercise-detail", args=[ladder["bridge"].slug])).content.decode()
    assert "Harder: <a" in shown and "Single-leg bridge</a>" in shown and "Hip lift</a>" in shown
    assert "Draft lift" not in shown and "Other clinic lift" not in shown
    done = client.post(url, {"variant": ladder["single"].pk, "dose": "keep", "reason": "Ready for more."})
    assert done.status_code == 302 and done["Location"].endswith(f"#plan-exercise-{ladder['item'].pk}")
    history = client.get(reverse("plan-history", args=[plan.pk])).content.decode()
    assert "<strong>Why:</strong> Ready for more." in history
    # The variants of every exercise on the page come in one query, however many there are.
    for n in range(6):
        harder = ExerciseFactory(name=f"Harder {n}")
        PlanExerciseFactory(plan=plan, exercise=ExerciseFactory(name=f"Move {n}", harder=harder))
    with django_assert_max_num_queries(40) as many:
        client.get(reverse("plan-detail", args=[plan.pk]))
    PlanExercise.objects.filter(plan=plan, exercise__name__startswith="Move").delete()
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("plan-detail", args=[plan.pk]))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_api_progresses_a_plan_exercise_and_says_why_it_refuses(
    personas: Personas, ladder: dict[str, Any]
) -> None:
    api = APIClient()
    api.force_authenticate(personas.owner.user)
    url = reverse("api-careplan-exercise-vary", args=[ladder["plan"].pk, ladder["item"].pk])
    refused = api.post(url, {"variant": ladder["single"].pk}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    wrong = api.post(url, {"variant": ladder["bridge"].pk, "reason": "x"}, format="json")
    assert wrong.status_code == 400 and "variant" in wrong.json(), wrong.json()
    done = api.post(
        url, {"variant": ladder["single"].pk, "dose": "variant", "reason": "Stronger."}, format="json"
    )
    assert done.status_code == 200
    assert (done.json()["exercise"], done.json()["sets"]) == (ladder["single"].pk, 3)
    outsider = APIClient()
    outsider.force_authenticate(personas.outsider.user)
    assert outsider.post(url, {"variant": ladder["lift"].pk, "reason": "x"}, format="json").status_code == 404
