from __future__ import annotations

from django import forms

from careplans.models import BodyRegion, Category, Equipment, Exercise


def _choices(label: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *pairs]


class LibraryFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or description"}),
    )
    region = forms.ChoiceField(required=False, label="Body region")
    category = forms.ChoiceField(required=False, choices=_choices("Any category", Category.choices))
    equipment = forms.ChoiceField(required=False, choices=_choices("Any equipment", Equipment.choices))

    def __init__(self, *args: object, regions: list[BodyRegion], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        region_field = self.fields["region"]
        assert isinstance(region_field, forms.ChoiceField)
        region_field.choices = _choices("Any region", [(r.slug, r.name) for r in regions])


class ExerciseAdminForm(forms.ModelForm[Exercise]):
    class Meta:
        model = Exercise
        fields = [
            "name",
            "slug",
            "status",
            "summary",
            "instructions",
            "precautions",
            "regions",
            "category",
            "equipment",
            "difficulty",
            "sets",
            "reps",
            "hold_seconds",
            "sessions_per_day",
            "days_per_week",
            "image_url",
            "video_url",
        ]
        widgets = {"instructions": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"instructions": "One step per line, in the order the patient does them."}

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("reps") == 0 and data.get("hold_seconds") == 0:
            raise forms.ValidationError("Give the exercise some reps or a hold time (or both).")
        return data
