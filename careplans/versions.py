"""Plan versions: a snapshot of what the patient was asked to do, and what changed.

A version's ``content`` is self-contained (exercise names and dosage are copied,
not referenced), so the history still reads correctly after an exercise is
renamed, archived or removed from the plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from careplans.models import CarePlan, PlanExercise
from careplans.phases import PhaseLabel
from library.models import DOSE_LABELS

PLAN_LABELS: dict[str, str] = {
    "title": "Title",
    "condition": "Condition",
    "start_date": "Start date",
    "length_weeks": "Length in weeks",
}


def plan_snapshot(
    plan: CarePlan, items: Iterable[PlanExercise], *, phase: PhaseLabel | None = None
) -> dict[str, Any]:
    """A version's ``content``: the plan's fields (``start_date`` ISO 8601) and ``items`` in the
    order given, each with its id ("item"), exercise id and name, dosage and note (JSON-ready).

    A phased plan's (``phase``: its current phase's label) also has "phase" (the current
    phase's id, label and whether it is held) and each item its phase's name ("phase",
    ``phase`` loaded); a plan without phases has neither, as before phases existed.
    """
    content: dict[str, Any] = {
        "title": plan.title,
        "condition": plan.condition,
        "start_date": plan.start_date.isoformat(),
        "length_weeks": plan.length_weeks,
        "exercises": [
            {
                "item": item.pk,
                "exercise": item.exercise_id,
                "name": item.exercise.name,
                **{name: getattr(item, name) for name in DOSE_LABELS},
                "note": item.note,
                **({"phase": item.phase.name} if item.phase is not None else {}),
            }
            for item in items
        ],
    }
    if phase is not None:
        content["phase"] = {"id": plan.current_phase_id, "label": str(phase), "held": plan.phase_held}
    return content


def _phase_lines(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The sentences for a phase move and a hold set or released (nothing without phases)."""
    if new is None:
        return []
    if old is None:
        return [f"In {new['label']}."]
    lines = []
    if old["id"] != new["id"]:
        lines.append(f"Moved from {old['label']} to {new['label']}.")
        if old["held"] and new["held"]:
            lines.append("The plan stays held: no automatic move until released.")
    if old["held"] != new["held"]:
        lines.append(
            f"{new['label']} held: no automatic move until released."
            if new["held"]
            else f"Hold on {new['label']} released."
        )
    return lines


def _names(entries: Iterable[dict[str, Any]]) -> str:
    return ", ".join(str(entry["name"]) for entry in entries)


def change_summary(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What changed between two ``plan_snapshot`` contents, one plain sentence per change.

    ``old`` None: the activation sentence ("Activated with 5 exercises: ..."). An empty
    list means nothing changed.
    """
    if old is None:
        count = len(new["exercises"])
        return [
            f"Activated with {count} exercise{'s' if count != 1 else ''}: {_names(new['exercises'])}.",
            *_phase_lines(None, new.get("phase")),
        ]
    lines: list[str] = _phase_lines(old.get("phase"), new.get("phase"))
    for field, label in PLAN_LABELS.items():
        if old.get(field) != new.get(field):
            lines.append(f"{label} changed from “{old.get(field)}” to “{new.get(field)}”.")
    old_items = {entry["item"]: entry for entry in old["exercises"]}
    new_items = {entry["item"]: entry for entry in new["exercises"]}
    added = [entry for key, entry in new_items.items() if key not in old_items]
    removed = [entry for key, entry in old_items.items() if key not in new_items]
    if added:
        lines.append(f"Added {_names(added)}.")
    if removed:
        lines.append(f"Removed {_names(removed)}.")
    for key, after in new_items.items():
        before = old_items.get(key)
        if before is None:
            continue
        if before.get("exercise") != after.get("exercise"):
            # A progression or regression: the same place in the plan, another exercise.
            lines.append(f"{before['name']} swapped for {after['name']}.")
        doses = [
            f"{label} {before[name]} → {after[name]}"
            for name, label in DOSE_LABELS.items()
            if before.get(name) != after.get(name)
        ]
        if doses:
            lines.append(f"{after['name']}: {', '.join(doses)}.")
        if before.get("note", "") != after.get("note", ""):
            lines.append(f"{after['name']}: note {'changed' if after.get('note') else 'removed'}.")
    kept_old = [key for key in old_items if key in new_items]
    kept_new = [key for key in new_items if key in old_items]
    if kept_old != kept_new:
        lines.append(f"New order: {_names(new['exercises'])}.")
    return lines
