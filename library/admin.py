"""Admin for the library: body regions, exercises (publish, archive) and plan templates."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import ManyToManyField, Q, QuerySet
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.models import User
from audit.admin import LabelledInputsAdmin
from library.forms import ExerciseAdminForm
from library.models import (
    BodyRegion,
    Exercise,
    ExerciseStatus,
    PlanTemplate,
    TemplateExercise,
    TemplatePhase,
)
from library.services import exercise_set_status
from portal.access import client_ip


@admin.register(BodyRegion)
class BodyRegionAdmin(admin.ModelAdmin[BodyRegion]):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}


def _set_status(
    modeladmin: admin.ModelAdmin[Exercise], request: HttpRequest, queryset: QuerySet[Exercise], status: str
) -> None:
    changed = exercise_set_status(
        exercises=queryset, status=status, by=cast(User, request.user), ip=client_ip(request)
    )
    label = ExerciseStatus(status).label.lower()
    modeladmin.message_user(
        request, f"{changed} exercise{'s' if changed != 1 else ''} {label}.", messages.SUCCESS
    )


@admin.action(description="Publish selected exercises")
def publish(
    modeladmin: admin.ModelAdmin[Exercise], request: HttpRequest, queryset: QuerySet[Exercise]
) -> None:
    _set_status(modeladmin, request, queryset, ExerciseStatus.PUBLISHED)


@admin.action(description="Archive selected exercises (plans that use them keep them)")
def archive(
    modeladmin: admin.ModelAdmin[Exercise], request: HttpRequest, queryset: QuerySet[Exercise]
) -> None:
    _set_status(modeladmin, request, queryset, ExerciseStatus.ARCHIVED)


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin[Exercise]):
    form = ExerciseAdminForm
    list_display = ["name", "status", "region_list", "category", "equipment", "updated_at"]
    list_filter = ["status", "regions", "category", "equipment", "difficulty"]
    search_fields = ["name", "slug", "summary", "instructions"]
    prepopulated_fields = {"slug": ["name"]}
    # A dozen regions fit as checkboxes, each with its own label (the two-box filter's
    # search icon carries an aria-label its role does not allow).
    formfield_overrides = {ManyToManyField: {"widget": CheckboxSelectMultiple}}
    actions = [publish, archive]
    readonly_fields = ["preview"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["name", "slug", "status", "summary", "instructions", "precautions"]}),
        ("Classification", {"fields": ["regions", "category", "equipment", "difficulty"]}),
        (
            "Default dosage",
            {"fields": ["sets", "reps", "hold_seconds", "sessions_per_day", "days_per_week"]},
        ),
        ("Progression", {"fields": ["harder"]}),
        ("Media", {"fields": ["image_url", "video_url"]}),
        ("Preview: what therapists and patients read", {"fields": ["preview"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Exercise]:
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description="Regions")
    def region_list(self, obj: Exercise) -> str:
        return ", ".join(region.name for region in obj.regions.all())

    @admin.display(description="Preview")
    def preview(self, obj: Exercise) -> SafeString:
        if obj.pk is None:
            return format_html("<p>{}</p>", "Save the exercise to see its preview.")
        steps = format_html_join("", "<li>{}</li>", ((step,) for step in obj.steps))
        return format_html(
            '<div class="plinth-preview"><h3>{}</h3><p>{}</p><p>{} · {} · {} · {}</p><ol>{}</ol>'
            "<p><strong>Dosage:</strong> {}</p><p><strong>Precautions:</strong> {}</p></div>",
            obj.name,
            obj.summary,
            self.region_list(obj) or "no region",
            obj.get_category_display(),
            obj.get_equipment_display(),
            obj.get_difficulty_display(),
            steps,
            obj.dosage_text,
            obj.precautions or "none given",
        )


# Stacked, not tabular: each dosage field keeps its help text, linked for screen readers, and
# the rows fit a narrow screen (a tabular inline's help is an icon its inputs cannot point at).
class TemplateExerciseInline(admin.StackedInline[TemplateExercise, PlanTemplate]):
    model = TemplateExercise
    extra = 0
    autocomplete_fields = ["exercise"]
    fields = [
        "phase",
        "position",
        "exercise",
        "sets",
        "reps",
        "hold_seconds",
        "sessions_per_day",
        "days_per_week",
        "note",
    ]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Only this template's phases (a new template has none yet: save its phases first).
        if db_field.name == "phase":
            match = request.resolver_match
            template_id = match.kwargs.get("object_id") if match else None
            kwargs["queryset"] = TemplatePhase.objects.filter(template_id=template_id or None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TemplatePhaseInline(admin.StackedInline[TemplatePhase, PlanTemplate]):
    """A template's phases (issue 17); an exercise joins one in its own inline below."""

    model = TemplatePhase
    extra = 0
    fields = ["name", "starts_week"]


@admin.register(PlanTemplate)
class PlanTemplateAdmin(LabelledInputsAdmin[PlanTemplate]):
    list_display = ["name", "condition", "clinic", "created_at"]
    list_filter = ["clinic"]
    search_fields = ["name", "condition"]
    inlines = [TemplatePhaseInline, TemplateExerciseInline]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A template is written by staff or a therapist; patients are never offered.
        if db_field.name == "created_by":
            kwargs["queryset"] = User.objects.filter(Q(is_staff=True) | Q(therapist__isnull=False))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
