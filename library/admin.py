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
from library.forms import ExerciseAdminForm, ExerciseMediaInlineForm, ExerciseMediaInlineFormSet
from library.media import exercise_media_add, exercise_media_remove
from library.models import BodyRegion, Exercise, ExerciseMedia, ExerciseStatus
from library.services import exercise_set_status
from library.template_models import PlanTemplate, TemplateExercise, TemplatePhase, TemplateSchedule
from portal.access import client_ip
from portal.errors import DomainError


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


class ExerciseMediaInline(admin.StackedInline[ExerciseMedia, Exercise]):
    """An exercise's pictures and video, uploaded through library.media's checks (never stored as sent)."""

    model = ExerciseMedia
    form = ExerciseMediaInlineForm
    formset = ExerciseMediaInlineFormSet
    extra = 0
    fields = ["shown", "upload", "description", "position"]
    readonly_fields = ["shown"]
    verbose_name = "picture or video"
    verbose_name_plural = "Pictures and video"

    @admin.display(description="Stored")
    def shown(self, obj: ExerciseMedia) -> SafeString:
        if obj.pk is None:
            return format_html("<p>{}</p>", "Choose a file below.")
        if obj.kind == "video":
            return format_html('<a href="{}">{}</a> ({} bytes)', obj.url(), "The video", obj.size_bytes)
        return format_html('<img src="{}" alt="" width="160" height="120">', obj.card_url)


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin[Exercise]):
    form = ExerciseAdminForm
    inlines = [ExerciseMediaInline]
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

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Pictures and video go through library.media (checked, drawn again, thumbnailed,
        audited); a removed one takes its files with it."""
        if formset.model is not ExerciseMedia:
            super().save_formset(request, form, formset, change)
            return
        by, ip = cast(User, request.user), client_ip(request)
        # What the admin's change message reads (a formset's own save would set them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for media_form in formset.forms:
            instance = media_form.instance
            if media_form in formset.deleted_forms:
                if instance.pk is not None:
                    exercise_media_remove(media=instance, by=by, ip=ip)
                    formset.deleted_objects.append(instance)
            elif instance.pk is None and media_form.cleaned_data.get("upload"):
                try:
                    added = exercise_media_add(
                        exercise=form.instance,
                        by=by,
                        upload=media_form.cleaned_data["upload"],
                        description=media_form.cleaned_data["description"],
                        ip=ip,
                    )
                except DomainError as exc:  # two videos in one save: the second is refused
                    self.message_user(request, f"Not added: {exc.message}", messages.ERROR)
                else:
                    formset.new_objects.append(added)
            elif instance.pk is not None and media_form.has_changed():
                instance.save(update_fields=["description", "position"])
                formset.changed_objects.append((instance, media_form.changed_data))

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


class TemplateScheduleInline(admin.StackedInline[TemplateSchedule, PlanTemplate]):
    """The questionnaires a template's plans ask for (issue 18), copied onto each new plan: the
    instrument's code, what the patient reads ("intake", "week 6") and the window in plan days
    (plan week k opens on day 7(k-1))."""

    model = TemplateSchedule
    extra = 0
    fields = ["instrument_code", "occasion", "opens_day", "window_days"]


@admin.register(PlanTemplate)
class PlanTemplateAdmin(LabelledInputsAdmin[PlanTemplate]):
    list_display = ["name", "condition", "clinic", "created_at"]
    list_filter = ["clinic"]
    search_fields = ["name", "condition"]
    inlines = [TemplatePhaseInline, TemplateExerciseInline, TemplateScheduleInline]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A template is written by staff or a therapist; patients are never offered.
        if db_field.name == "created_by":
            kwargs["queryset"] = User.objects.filter(Q(is_staff=True) | Q(therapist__isnull=False))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
