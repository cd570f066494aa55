"""API v1 serializers for care plans: what a plan and its exercises and phases look like, and
the inputs of the plan actions (careplans.api)."""

from __future__ import annotations

from rest_framework import serializers

from careplans import plan_exercises
from careplans.models import CarePlan, PlanExercise, PlanPhase, PlanStatus, PlanVersion
from library.models import DOSAGE_LIMITS
from portal.api.common import MAX_ID, StrictSerializer
from portal.validity import max_length_of, range_of


class PlanExerciseSerializer(serializers.ModelSerializer[PlanExercise]):
    exercise_slug = serializers.CharField(source="exercise.slug", read_only=True)
    exercise_name = serializers.CharField(source="exercise.name", read_only=True)

    class Meta:
        model = PlanExercise
        fields = [
            "id",
            "exercise",
            "exercise_slug",
            "exercise_name",
            "phase",
            "position",
            *DOSAGE_LIMITS,
            "note",
        ]
        read_only_fields = fields


class PlanPhaseSerializer(serializers.ModelSerializer[PlanPhase]):
    """A phase of a plan (issue 17): ``began_on``/``ended_on`` are the patient's local dates it
    was in force (null: not begun, or not ended)."""

    class Meta:
        model = PlanPhase
        fields = ["id", "name", "starts_week", "began_on", "ended_on"]
        read_only_fields = fields


class CarePlanSerializer(serializers.ModelSerializer[CarePlan]):
    patient_name = serializers.CharField(source="patient.user.full_name", read_only=True)
    therapist_name = serializers.CharField(source="therapist.user.full_name", read_only=True)
    end_date = serializers.DateField(read_only=True)
    exercises = PlanExerciseSerializer(many=True, read_only=True)
    phases = PlanPhaseSerializer(many=True, read_only=True)

    class Meta:
        model = CarePlan
        fields = [
            "id",
            "patient",
            "patient_name",
            "therapist",
            "therapist_name",
            "title",
            "condition",
            "start_date",
            "length_weeks",
            "end_date",
            "status",
            "status_reason",
            "version",
            "created_at",
            "activated_at",
            "ended_at",
            "exercises",
            "phases",
            "current_phase",
            "phase_held",
        ]
        read_only_fields = fields


_WEEKS = range_of(CarePlan, "length_weeks")


class PlanCreateInput(StrictSerializer):
    patient = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    title = serializers.CharField(
        max_length=max_length_of(CarePlan, "title"), allow_blank=True, required=False, default=""
    )
    condition = serializers.CharField(
        max_length=max_length_of(CarePlan, "condition"), allow_blank=True, required=False, default=""
    )
    start_date = serializers.DateField()
    length_weeks = serializers.IntegerField(
        min_value=_WEEKS[0],
        max_value=_WEEKS[1],
        required=False,
        default=CarePlan._meta.get_field("length_weeks").default,
    )
    template = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)


class PlanUpdateInput(StrictSerializer):
    title = serializers.CharField(max_length=max_length_of(CarePlan, "title"), required=False)
    condition = serializers.CharField(
        max_length=max_length_of(CarePlan, "condition"), allow_blank=True, required=False
    )
    start_date = serializers.DateField(required=False)
    length_weeks = serializers.IntegerField(min_value=_WEEKS[0], max_value=_WEEKS[1], required=False)


class PlanEndInput(StrictSerializer):
    status = serializers.ChoiceField(choices=[PlanStatus.COMPLETED.value, PlanStatus.STOPPED.value])
    reason = serializers.CharField(max_length=max_length_of(CarePlan, "status_reason"))


class PlanExerciseAddInput(StrictSerializer):
    exercise = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class PlanExerciseVaryInput(StrictSerializer):
    variant = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        help_text="The exercise id of the harder variant (a progression) or of an easier one (a regression).",
    )
    dose = serializers.ChoiceField(
        choices=[plan_exercises.KEEP_DOSE, plan_exercises.VARIANT_DOSE],
        default=plan_exercises.KEEP_DOSE,
        help_text="keep: the plan's dose stays; variant: the variant's own default dose.",
    )
    reason = serializers.CharField(
        max_length=max_length_of(PlanVersion, "reason"), help_text="Why, kept with the new plan version."
    )


def _dose_field(name: str) -> serializers.IntegerField:
    low, high = DOSAGE_LIMITS[name]
    return serializers.IntegerField(min_value=low, max_value=high, required=False)


class PlanExerciseUpdateInput(StrictSerializer):
    sets = _dose_field("sets")
    reps = _dose_field("reps")
    hold_seconds = _dose_field("hold_seconds")
    sessions_per_day = _dose_field("sessions_per_day")
    days_per_week = _dose_field("days_per_week")
    note = serializers.CharField(
        max_length=max_length_of(PlanExercise, "note"), allow_blank=True, required=False
    )


class PlanPhaseReasonInput(StrictSerializer):
    reason = serializers.CharField(
        max_length=max_length_of(PlanVersion, "reason"), help_text="Why, kept with the new plan version."
    )


class PlanPhaseReleaseInput(StrictSerializer):
    reason = serializers.CharField(
        max_length=max_length_of(PlanVersion, "reason"),
        required=False,
        default="",
        allow_blank=True,
        help_text="Why, if you like; kept with the new plan version.",
    )
