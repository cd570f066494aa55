"""Admin for care plans and their versions."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedReadsAdmin
from careplans.models import CarePlan, PlanExercise, PlanPhase, PlanVersion


# Stacked, not tabular: each dosage field keeps its help text, linked for screen readers, and
# the rows fit a narrow screen (a tabular inline's help is an icon its inputs cannot point at).
class PlanExerciseInline(admin.StackedInline[PlanExercise, CarePlan]):
    model = PlanExercise
    extra = 0
    autocomplete_fields = ["exercise"]
    # A phase is the plan's own; a select would list every plan's phases.
    readonly_fields = ["phase"]


class PlanPhaseInline(admin.TabularInline[PlanPhase, CarePlan]):
    """A plan's phases, to read: moves go through careplans.phase_moves, which keeps versions."""

    model = PlanPhase
    extra = 0
    fields = ["name", "starts_week", "began_on", "ended_on"]
    readonly_fields = ["name", "starts_week", "began_on", "ended_on"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: CarePlan | None = None) -> bool:
        return False


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
    inlines = [PlanPhaseInline, PlanExerciseInline]
    readonly_fields = ["current_phase", "phase_held"]


@admin.register(PlanVersion)
class PlanVersionAdmin(AuditedReadsAdmin[PlanVersion]):
    list_display = ["plan", "number", "created_at", "created_by"]
    raw_id_fields = ["plan", "created_by"]
