"""The built-in library: at least 30 sound exercises, loaded by an idempotent command."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from library import services
from library.builtin import BuiltinLibrary, builtin_library
from library.forms import ExerciseAdminForm
from library.models import BodyRegion, Exercise, ExerciseStatus
from library.template_models import PlanTemplate, TemplateExercise, TemplatePhase

pytestmark = pytest.mark.django_db

EXERCISES = builtin_library().exercises
PHASES = builtin_library().template["phases"]
LOW_BACK_ONE_SIDE_SLUGS = [entry["slug"] for entry in PHASES[0]["exercises"]]


def _snapshot() -> dict[str, Any]:
    return {
        "regions": list(BodyRegion.objects.order_by("pk").values()),
        "exercises": list(Exercise.objects.order_by("pk").values()),
        "links": sorted(Exercise.regions.through.objects.values_list("exercise_id", "bodyregion_id")),
        "templates": list(PlanTemplate.objects.order_by("pk").values()),
        "items": list(TemplateExercise.objects.order_by("pk").values()),
        "phases": list(TemplatePhase.objects.order_by("pk").values()),
    }


def _load() -> str:
    out = StringIO()
    call_command("load_library", stdout=out)
    return out.getvalue()


def test_load_library_twice_changes_nothing() -> None:
    first = _load()
    assert f"{len(EXERCISES)} exercises" in first
    before = _snapshot()
    second = _load()
    assert "0 exercises, 0 regions, 0 templates added" in second
    assert _snapshot() == before


def test_admin_edits_survive_a_reload() -> None:
    _load()
    bridge = Exercise.objects.get(slug="bridge")
    bridge.summary = "Edited by the clinic's admin."
    bridge.reps = 8
    bridge.status = ExerciseStatus.ARCHIVED
    bridge.save()
    bridge.regions.set([BodyRegion.objects.get(slug="hip")])
    region = BodyRegion.objects.get(slug="knee")
    region.name = "Knee (renamed)"
    region.save()
    before = _snapshot()

    _load()

    assert _snapshot() == before
    bridge.refresh_from_db()
    assert (bridge.summary, bridge.reps, bridge.status) == ("Edited by the clinic's admin.", 8, "archived")
    assert [r.slug for r in bridge.regions.all()] == ["hip"]


def test_library_ships_at_least_30_published_exercises_with_the_low_back_five() -> None:
    _load()
    published = Exercise.objects.filter(status=ExerciseStatus.PUBLISHED)
    assert published.count() >= 30
    names = set(published.filter(slug__in=LOW_BACK_ONE_SIDE_SLUGS).values_list("name", flat=True))
    assert len(names) == 5
    lowered = " | ".join(sorted(names)).lower()
    for words in ("pelvic tilt", "child", "bridge", "bird dog", "lateral flexion"):
        assert words in lowered
    template = PlanTemplate.objects.get(clinic=None, name__icontains="low back")
    first = template.phases.order_by("starts_week").first()
    assert first is not None
    assert [item.exercise.slug for item in first.exercises.select_related("exercise")] == (
        LOW_BACK_ONE_SIDE_SLUGS
    )


def _harder_chain(exercise: Exercise) -> set[str]:
    slugs = set()
    while exercise.harder is not None and exercise.harder.slug not in slugs:
        exercise = exercise.harder
        slugs.add(exercise.slug)
    return slugs


def test_the_low_back_template_ships_three_phases_of_progressions_from_the_five() -> None:
    _load()
    template = PlanTemplate.objects.get(clinic=None, name__icontains="low back")
    phases = list(template.phases.order_by("starts_week"))
    assert [(phase.name, phase.starts_week) for phase in phases] == [
        ("Settle and move", 1),
        ("Control", 5),
        ("Strength", 9),
    ]
    five = [Exercise.objects.get(slug=slug) for slug in LOW_BACK_ONE_SIDE_SLUGS]
    reachable = set(LOW_BACK_ONE_SIDE_SLUGS).union(*(_harder_chain(exercise) for exercise in five))
    for phase in phases[1:]:
        items = list(phase.exercises.select_related("exercise"))
        assert len(items) == 4
        # Later phases are the five and their harder variants (the [progressions]), nothing else.
        assert {item.exercise.slug for item in items} <= reachable
        assert any(item.exercise.slug not in LOW_BACK_ONE_SIDE_SLUGS for item in items)
    # A phase's dose is its own where the file gives one: the single-leg bridge grows.
    bridges = TemplateExercise.objects.filter(template=template, exercise__slug="single-leg-bridge")
    assert sorted(bridges.values_list("phase__starts_week", "sets", "reps")) == [(5, 2, 6), (9, 3, 10)]
    assert not template.exercises.filter(phase=None).exists()


def test_a_template_loaded_before_phases_keeps_its_exercises_as_the_first_phase() -> None:
    """An existing database: the shared template was loaded without phases (and an admin
    changed it); loading again gives it the phases, its own exercises first, once."""
    _load()
    template = PlanTemplate.objects.get(clinic=None, name__icontains="low back")
    TemplatePhase.objects.filter(template=template).delete()  # the exercises of phases go with them
    TemplateExercise.objects.create(template=template, exercise=Exercise.objects.get(slug="clamshell"))
    out = _load()
    assert "0 templates added" in out
    first, *later = template.phases.order_by("starts_week")
    assert [item.exercise.slug for item in first.exercises.select_related("exercise")] == ["clamshell"]
    assert [phase.exercises.count() for phase in later] == [4, 4]
    before = _snapshot()
    _load()
    assert _snapshot() == before


def test_every_shipped_exercise_passes_the_admin_form() -> None:
    """The shipped data obeys the same rules as an admin's edits: dosage, regions, precautions."""
    _load()
    for exercise in Exercise.objects.prefetch_related("regions"):
        data = {field: getattr(exercise, field) for field in ExerciseAdminForm.Meta.fields}
        data["regions"] = [region.pk for region in exercise.regions.all()]
        form = ExerciseAdminForm(data=data, instance=exercise)
        assert form.is_valid(), (exercise.slug, form.errors)
        assert exercise.precautions.strip(), exercise.slug
        assert len(exercise.steps) >= 2, exercise.slug


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"sets": 11}, "sets"),  # a field's own range
        ({"category": "juggling"}, "category"),  # a choice the model does not have
        ({"reps": 0, "hold_seconds": 0}, "exercise_reps_or_hold"),  # the table's check constraint
    ],
    ids=["sets-out-of-range", "unknown-category", "neither-reps-nor-hold"],
)
def test_a_bad_entry_is_refused_by_name_and_nothing_is_loaded(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], words: str
) -> None:
    shipped = builtin_library()
    bad = [dict(entry) for entry in shipped.exercises]
    bad[3] = {**bad[3], **change}
    changed = BuiltinLibrary(
        regions=shipped.regions, exercises=bad, progressions=shipped.progressions, template=shipped.template
    )
    monkeypatch.setattr(services, "builtin_library", lambda: changed)
    with pytest.raises(ValidationError) as refused:
        services.library_load()
    [message] = refused.value.messages
    assert message.startswith(f"Library exercise {bad[3]['slug']!r}: ") and words in message
    assert not Exercise.objects.exists() and not BodyRegion.objects.exists()


def test_the_shipped_progressions_link_each_exercise_to_its_harder_variant() -> None:
    services.library_load()
    bridge = Exercise.objects.select_related("harder").get(slug="bridge")
    assert bridge.harder is not None and bridge.harder.slug == "single-leg-bridge"
    assert {e.slug for e in Exercise.objects.get(slug="kneeling-plank").easier_variants.all()} == {
        "dead-bug",
        "bird-dog",
    }
    # Every file entry became a link, and an admin's own choice survives a second load.
    assert Exercise.objects.filter(harder__isnull=False).count() == len(builtin_library().progressions)
    Exercise.objects.filter(slug="bridge").update(harder=Exercise.objects.get(slug="wall-sit"))
    services.library_load()
    assert Exercise.objects.get(slug="bridge").harder.slug == "wall-sit"  # type: ignore[union-attr]


def test_a_progression_to_an_unknown_exercise_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = builtin_library()
    changed = BuiltinLibrary(
        regions=shipped.regions,
        exercises=shipped.exercises,
        progressions={**shipped.progressions, "bridge": "moon-walk"},
        template=shipped.template,
    )
    monkeypatch.setattr(services, "builtin_library", lambda: changed)
    with pytest.raises(ValidationError, match="unknown exercises \\['moon-walk'\\]"):
        services.library_load()
    assert not Exercise.objects.exists()
