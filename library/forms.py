"""Forms of the library: its filters, the admin's exercise form with the dosage limits, and the
form a clinic's therapists write their own exercises with (the same fields and checks)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet

from accounts.models import Clinic
from library.media import media_add_check
from library.models import DOSAGE_LIMITS, BodyRegion, Category, Equipment, Exercise, ExerciseMedia, MediaKind
from library.selectors import SOURCE_OURS, SOURCE_SHARED, published_exercises, visible_exercises
from library.uploads import upload_checked
from portal.errors import DomainError


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
    source = forms.ChoiceField(
        required=False,
        label="Whose",
        choices=[
            ("", "All exercises"),
            (SOURCE_OURS, "Our clinic's"),
            (SOURCE_SHARED, "Shared library"),
        ],
    )

    def __init__(self, *args: object, regions: list[BodyRegion], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        region_field = self.fields["region"]
        assert isinstance(region_field, forms.ChoiceField)
        region_field.choices = _choices("Any region", [(r.slug, r.name) for r in regions])


def _dosage_messages() -> dict[str, dict[str, str]]:
    """Say the allowed range, in words, whichever end of it the value missed."""
    messages: dict[str, dict[str, str]] = {}
    for name, (low, high) in DOSAGE_LIMITS.items():
        label = str(getattr(Exercise._meta.get_field(name), "verbose_name", name)).capitalize()
        text = f"{label} must be a whole number from {low} to {high}."
        if low == 0:
            text = f"{label} cannot be negative: use a whole number from 0 to {high}."
        messages[name] = {"min_value": text, "max_value": text, "invalid": text}
    return messages


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
            "harder",
            "image_url",
            "video_url",
        ]
        widgets: dict[str, forms.Widget] = {"instructions": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"instructions": "One step per line, in the order the patient does them."}
        error_messages = {
            "slug": {"unique": "Another exercise already uses this slug; choose a different one."},
            "regions": {
                "required": "Choose at least one body region.",
                "invalid_choice": "Unknown body region: choose regions from the list.",
                "invalid_pk_value": "Unknown body region: choose regions from the list.",
            },
            **_dosage_messages(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        harder = self.fields.get("harder")
        if not isinstance(harder, forms.ModelChoiceField):
            return  # a form without the field (the admin's fieldsets decide)
        # A shared exercise progresses to a shared one; a clinic's to a shared one or its own.
        harder.queryset = visible_exercises(clinic=self.instance.clinic).exclude(pk=self.instance.pk)

    def clean_slug(self) -> str:
        # Slugs end up in URLs; one spelling per exercise keeps "Bridge" and "bridge" from coexisting.
        return str(self.cleaned_data["slug"]).lower()

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("reps") == 0 and data.get("hold_seconds") == 0:
            # On the field, so the model's matching check constraint is not reported a second time.
            self.add_error("reps", "Give the exercise some reps or a hold time (or both).")
        return data


def _whose_name(exercise: Exercise) -> str:
    """An exercise's name in a list, with "(our clinic's)" after the clinic's own."""
    return exercise.name if exercise.shared else f"{exercise.name} (our clinic's)"


class ClinicExerciseForm(ExerciseAdminForm):
    """A clinic's own exercise: the shared library's fields and checks, but the slug (made from
    the name), the status (published from the exercise page) and the media links. ``clinic``:
    the therapist's, whose published exercises (and the shared library's) are the harder
    variants offered."""

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        harder = self.fields["harder"]
        assert isinstance(harder, forms.ModelChoiceField)
        harder.queryset = published_exercises(clinic=clinic).exclude(pk=self.instance.pk).order_by("name")
        harder.required = False
        # A clinic's copy of a shared exercise keeps its name: say which one is whose.
        harder.label_from_instance = _whose_name  # type: ignore[method-assign,assignment]

    class Meta(ExerciseAdminForm.Meta):
        # The admin's fields, but what the service and the exercise page keep (slug, status)
        # and the old picture link (pictures are uploaded: library.media).
        fields = [
            name for name in ExerciseAdminForm.Meta.fields if name not in ("slug", "status", "image_url")
        ]
        widgets: dict[str, forms.Widget] = {
            "instructions": forms.Textarea(attrs={"rows": 8}),
            "precautions": forms.Textarea(attrs={"rows": 3}),
            "regions": forms.CheckboxSelectMultiple(),
        }


#: The file chooser's filter: what library.uploads accepts (it checks the bytes whatever the name).
MEDIA_ACCEPT = "image/jpeg,image/png,image/webp,video/mp4,video/webm"


class ExerciseMediaForm(forms.Form):
    """One picture or the video of an exercise, with the words that stand in for it."""

    file = forms.FileField(
        label="Picture or video",
        help_text="A JPEG, PNG or WebP picture (up to 10 MB), or an MP4 or WebM video (up to 50 MB).",
        widget=forms.ClearableFileInput(attrs={"accept": MEDIA_ACCEPT}),
        error_messages={
            "required": "Choose a picture or a video to upload.",
            "empty": "The file is empty.",
        },
    )
    description = forms.CharField(
        label="What it shows",
        max_length=300,
        help_text="Read aloud to patients who cannot see it: the position and the movement.",
        error_messages={"required": "Describe it for someone who cannot see it."},
    )


class ExerciseMediaInlineForm(forms.ModelForm[ExerciseMedia]):
    """The admin's row of a picture or video: a new row's file is checked here (the same checks
    as library.media, so a refusal shows beside the field) and stored by ExerciseAdmin.save_formset."""

    #: What the new row's file turned out to be ("image" or "video"), once checked.
    checked_kind = ""

    upload = forms.FileField(
        required=False,
        label="File",
        help_text=ExerciseMediaForm.base_fields["file"].help_text,
        widget=forms.ClearableFileInput(attrs={"accept": MEDIA_ACCEPT}),
    )

    class Meta:
        model = ExerciseMedia
        fields = ["description", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not data.get("DELETE") and not self.has_error("upload"):
            upload = data.get("upload")
            if upload is None:
                self.add_error("upload", "Choose a picture or a video to upload.")
            else:
                try:
                    checked = upload_checked(upload)
                    self.checked_kind = checked.kind
                    exercise = getattr(self.instance, "exercise", None) or Exercise()
                    media_add_check(
                        exercise=exercise, kind=checked.kind, description=data.get("description", "").strip()
                    )
                except DomainError as exc:
                    self.add_error("description" if exc.field == "description" else "upload", exc.message)
        return data


class ExerciseMediaInlineFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """The admin's rows of an exercise's media: at most one video, counting the new rows."""

    def clean(self) -> None:
        super().clean()
        new_videos = [
            form
            for form in self.forms
            if getattr(form, "checked_kind", "") == MediaKind.VIDEO and not form.cleaned_data.get("DELETE")
        ]
        if len(new_videos) > 1:
            raise forms.ValidationError("An exercise has one video: upload one of them.")
