"""The built-in library as data: ``builtin.toml`` beside this module, read once.

The file holds the body regions, the exercises, their progressions (each exercise's harder
variant) and the shared low-back template with its phases.
Nothing here restates what a valid exercise is: ``library.services.library_load`` checks
each entry with the ``Exercise`` model (choices, dosage limits, lengths) as it writes it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NotRequired, TypedDict

PATH = Path(__file__).with_name("builtin.toml")


class ExerciseData(TypedDict):
    """One exercise as the file gives it. ``instructions`` are steps, one per line on the page;
    ``regions`` are body-region slugs; dosage fields are counts, ``hold_seconds`` seconds."""

    slug: str
    name: str
    summary: str
    instructions: list[str]
    regions: list[str]
    category: str
    equipment: str
    difficulty: str
    sets: int
    reps: int
    hold_seconds: int
    sessions_per_day: int
    days_per_week: int
    precautions: str
    video_url: str


class RegionData(TypedDict):
    slug: str
    name: str


class PhaseExerciseData(TypedDict):
    """One exercise of a template phase: its slug and, where given, a dose other than its
    default (counts; ``hold_seconds`` seconds)."""

    slug: str
    sets: NotRequired[int]
    reps: NotRequired[int]
    hold_seconds: NotRequired[int]
    sessions_per_day: NotRequired[int]
    days_per_week: NotRequired[int]


class PhaseData(TypedDict):
    """A template phase: its name, the plan week it starts in (1-based), its exercises in order."""

    name: str
    starts_week: int
    exercises: list[PhaseExerciseData]


class QuestionnaireData(TypedDict):
    """A questionnaire the template's plans ask for: its instrument's code and the plan weeks
    (1-based; week 1 is the intake) it is due in."""

    instrument: str
    weeks: list[int]


class TemplateData(TypedDict):
    """The shared template, its phases in the order they start, and its questionnaires."""

    name: str
    condition: str
    description: str
    phases: list[PhaseData]
    questionnaires: list[QuestionnaireData]


@dataclass(frozen=True)
class BuiltinLibrary:
    regions: list[RegionData]
    exercises: list[ExerciseData]
    progressions: dict[str, str]
    template: TemplateData


@cache
def builtin_library() -> BuiltinLibrary:
    """The file's regions (in display order), exercises, progressions (easier slug: harder slug)
    and template.

    Raises ``tomllib.TOMLDecodeError`` for a file that is not TOML and ``KeyError`` for a
    missing section; what each exercise may hold is the loader's (the model's) to check.
    """
    with PATH.open("rb") as file:
        data = tomllib.load(file)
    return BuiltinLibrary(
        regions=data["regions"],
        exercises=data["exercises"],
        progressions=data["progressions"],
        template=data["template"],
    )
