"""Admin for care plans and their versions."""

from __future__ import annotations

from django.contrib import admin

from audit.admin import AuditedReadsAdmin
from careplans.models import CarePlan, PlanExercise, PlanVersion


# Stacked, not tabular: each dosage field keeps its help text, linked for screen readers, and
# the rows fit a narrow screen (a tabular inline's help is an icon its inputs cannot point at).
class PlanExerciseInline(admin.StackedInline[PlanExercise, CarePlan]):
    model = PlanExercise
    extra = 0
    autocomplete_fields = ["exercise"]


@admin.register(CarePlan)
class CarePlanAdmin(AuditedReadsAdmin[CarePlan]):
    list_display = [
        "title",
        "patient",
        "therapist",
        "patient__clinic",
        "status",
        "start_date",
        "length_weeks",
    ]
    list_filter = ["status", "patient__clinic"]
    search_fields = ["title", "patient__user__email", "patient__user__full_name"]
    list_select_related = ["patient__user", "patient__clinic", "therapist__user"]
    raw_id_fields = ["patient", "therapist"]
    inlines = [PlanExerciseInline]


@admin.register(PlanVersion)
class PlanVersionAdmin(AuditedReadsAdmin[PlanVersion]):
    list_display = ["plan", "number", "created_at", "created_by"]
    raw_id_fields = ["plan", "created_by"]
