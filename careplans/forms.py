"""Forms of the plan builder: the plan's details, a plan exercise's dosage, moves, ending, templates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from careplans.models import CarePlan, PlanExercise, PlanStatus
from library.models import DOSAGE_LIMITS
from library.template_models import PlanTemplate
from portal.validity import max_length_of, range_of

# --- care plan builder -------------------------------------------------------


_WEEKS = range_of(CarePlan, "length_weeks")


_WEEKS_TEXT = f"A plan lasts between {_WEEKS[0]} and {_WEEKS[1]} weeks."


class PlanDetailsForm(forms.Form):
    title = forms.CharField(max_length=max_length_of(CarePlan, "title"))
    condition = forms.CharField(max_length=max_length_of(CarePlan, "condition"), required=False)
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    length_weeks = forms.IntegerField(
        label="Length in weeks",
        min_value=_WEEKS[0],
        max_value=_WEEKS[1],
        initial=CarePlan._meta.get_field("length_weeks").default,
        error_messages={"min_value": _WEEKS_TEXT, "max_value": _WEEKS_TEXT},
    )


class TemplateChoiceField(forms.ModelChoiceField[PlanTemplate]):
    def label_from_instance(self, obj: PlanTemplate) -> str:
        count = getattr(obj, "exercise_count", None)
        phases = getattr(obj, "phase_count", 0)
        owner = "your clinic" if obj.clinic_id else "shared"
        in_phases = f" in {phases} phases" if phases > 1 else ""
        return f"{obj.name} ({count} exercises{in_phases}, {owner})" if count is not None else obj.name


class PlanCreateForm(PlanDetailsForm):
    template = TemplateChoiceField(
        queryset=PlanTemplate.objects.none(),
        required=False,
        empty_label="Start from scratch",
        label="Start from",
        help_text="A template copies its exercises and dosage; you can change everything before activating.",
    )
    field_order = ["template", "title", "condition", "start_date", "length_weeks"]

    def __init__(self, *args: Any, templates: QuerySet[PlanTemplate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["template"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = templates
        self.fields["title"].required = False
        self.fields["title"].help_text = "Leave empty to use the template's name."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("title") and not data.get("template") and "title" not in self.errors:
            self.add_error("title", "Give the plan a title, or start from a template.")
        return data


def _dose_field(name: str, label: str) -> forms.IntegerField:
    low, high = DOSAGE_LIMITS[name]
    text = f"{label.capitalize()} must be between {low} and {high}."
    return forms.IntegerField(
        label=label.capitalize(),
        min_value=low,
        max_value=high,
        error_messages={"min_value": text, "max_value": text, "invalid": text, "required": text},
    )


class PlanExerciseForm(forms.Form):
    sets = _dose_field("sets", "sets")
    reps = _dose_field("reps", "reps")
    hold_seconds = _dose_field("hold_seconds", "hold (s)")
    sessions_per_day = _dose_field("sessions_per_day", "times a day")
    days_per_week = _dose_field("days_per_week", "days a week")
    note = forms.CharField(
        label="Note for the patient",
        max_length=max_length_of(PlanExercise, "note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reps") == 0 and data.get("hold_seconds") == 0:
            self.add_error("reps", "Give the exercise some reps or a hold time (or both).")
        return data


class PlanAddExerciseForm(forms.Form):
    exercise = forms.IntegerField(
        min_value=1, error_messages={"invalid": "Choose an exercise from the library."}
    )


class PlanMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class PlanEndForm(forms.Form):
    status = forms.ChoiceField(
        label="How does the plan end?",
        choices=[(PlanStatus.COMPLETED, "Completed"), (PlanStatus.STOPPED, "Stopped early")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=max_length_of(CarePlan, "status_reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept with the plan, for example “goals met” or “referred for imaging”.",
        error_messages={"required": "Say why the plan ends; the patient's record keeps the reason."},
    )


class SaveTemplateForm(forms.Form):
    name = forms.CharField(label="Template name", max_length=max_length_of(PlanTemplate, "name"))


class PlanSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search the library",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, region or description"}),
    )
