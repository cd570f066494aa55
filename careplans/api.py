"""API v1 for the library, templates, care plans and their outcome snapshots.

Views validate input, call one service from careplans.services and serialize
the result. Querysets start from the user's clinic (therapists) or from the
patient themselves; anything else is not found.
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from careplans import selectors, services
from careplans.models import (
    DOSAGE_LIMITS,
    BodyRegion,
    CarePlan,
    Category,
    Difficulty,
    Equipment,
    Exercise,
    ExerciseStatus,
    OutcomeSnapshot,
    PlanExercise,
    PlanStatus,
    PlanTemplate,
    TemplateExercise,
)
from patients.audit import audit_read
from patients.models import Patient, Therapist, User
from patients.selectors import clinic_patients
from portal.access import client_ip
from portal.api_common import (
    ID_PATTERN,
    StrictQueryParamsMixin,
    StrictSerializer,
    list_errors,
    parse_id,
    read_errors,
    write_errors,
)
from portal.api_filters import ApiFilterSet, IsoDateFilter
from portal.errors import DomainError
from portal.validity import max_length_of, range_of

MAX_ID = 2**63 - 1


def therapist_for(request: Request) -> Therapist | None:
    return cast(Therapist | None, getattr(request.user, "therapist", None))


def patient_for(request: Request) -> Patient | None:
    return cast(Patient | None, getattr(request.user, "patient", None))


def user_of(request: Request) -> User:
    return cast(User, request.user)


class ScopedLookupMixin:
    # get_object() that answers 404, never 500, for ids that cannot exist; both it and
    # each page of a list note what they return for the audit trail.

    kwargs: dict[str, Any]
    lookup_value_regex = ID_PATTERN

    def get_object(self) -> Any:
        pk = parse_id(self.kwargs.get("pk", ""))
        if pk is None:
            raise Http404
        obj = cast(Any, self).get_queryset().filter(pk=pk).first()
        if obj is None:
            raise Http404
        cast(Any, self).check_object_permissions(cast(Any, self).request, obj)
        audit_read([obj])
        return obj

    def paginate_queryset(self, queryset: Any) -> Any:
        # Every object of a page of patient data is a read (patients.audit.audit_read).
        page = cast(Any, super()).paginate_queryset(queryset)
        if page is not None:
            audit_read(page)
        return page


# --- serializers -------------------------------------------------------------


class ExerciseSerializer(serializers.ModelSerializer[Exercise]):
    regions = serializers.SlugRelatedField[BodyRegion](many=True, read_only=True, slug_field="slug")
    steps = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Exercise
        fields = [
            "id",
            "slug",
            "name",
            "summary",
            "steps",
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
            "precautions",
            "status",
        ]
        read_only_fields = fields

    # Blank when the exercise has no picture or video, so not documented as format "uri".
    image_url = serializers.CharField(read_only=True, help_text="An absolute URL, or empty.")
    video_url = serializers.CharField(read_only=True, help_text="An absolute URL, or empty.")


class TemplateExerciseSerializer(serializers.ModelSerializer[TemplateExercise]):
    exercise_slug = serializers.CharField(source="exercise.slug", read_only=True)
    exercise_name = serializers.CharField(source="exercise.name", read_only=True)

    class Meta:
        model = TemplateExercise
        fields = ["exercise", "exercise_slug", "exercise_name", "position", *DOSAGE_LIMITS, "note"]
        read_only_fields = fields


class PlanTemplateSerializer(serializers.ModelSerializer[PlanTemplate]):
    shared = serializers.SerializerMethodField()
    exercises = TemplateExerciseSerializer(many=True, read_only=True, source="items")

    class Meta:
        model = PlanTemplate
        fields = ["id", "name", "condition", "description", "shared", "created_at", "exercises"]
        read_only_fields = fields

    def get_shared(self, obj: PlanTemplate) -> bool:
        return obj.clinic_id is None


class PlanExerciseSerializer(serializers.ModelSerializer[PlanExercise]):
    exercise_slug = serializers.CharField(source="exercise.slug", read_only=True)
    exercise_name = serializers.CharField(source="exercise.name", read_only=True)

    class Meta:
        model = PlanExercise
        fields = ["id", "exercise", "exercise_slug", "exercise_name", "position", *DOSAGE_LIMITS, "note"]
        read_only_fields = fields


class CarePlanSerializer(serializers.ModelSerializer[CarePlan]):
    patient_name = serializers.CharField(source="patient.user.full_name", read_only=True)
    therapist_name = serializers.CharField(source="therapist.user.full_name", read_only=True)
    end_date = serializers.DateField(read_only=True)
    exercises = PlanExerciseSerializer(many=True, read_only=True, source="items")

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
        ]
        read_only_fields = fields


class OutcomeSnapshotSerializer(serializers.ModelSerializer[OutcomeSnapshot]):
    patient = serializers.IntegerField(source="plan.patient_id", read_only=True)

    class Meta:
        model = OutcomeSnapshot
        fields = ["plan", "patient", *OutcomeSnapshot.FIGURES, "computed_at"]
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


# --- filters -----------------------------------------------------------------


class ExerciseFilter(ApiFilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices)
    equipment = django_filters.ChoiceFilter(choices=Equipment.choices)
    difficulty = django_filters.ChoiceFilter(choices=Difficulty.choices)
    region = django_filters.CharFilter(field_name="regions__slug", max_length=32, distinct=True)
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        model = Exercise
        fields = ["category", "equipment", "difficulty", "region", "q"]


class CarePlanFilter(ApiFilterSet):
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)
    patient = django_filters.NumberFilter(field_name="patient_id", min_value=1, max_value=MAX_ID)
    therapist = django_filters.NumberFilter(field_name="therapist_id", min_value=1, max_value=MAX_ID)
    start_date_after = IsoDateFilter(field_name="start_date", lookup_expr="gte")
    start_date_before = IsoDateFilter(field_name="start_date", lookup_expr="lte")

    class Meta:
        model = CarePlan
        fields = ["status", "patient", "therapist", "start_date_after", "start_date_before"]


class OutcomeFilter(ApiFilterSet):
    plan = django_filters.NumberFilter(field_name="plan_id", min_value=1, max_value=MAX_ID)
    patient = django_filters.NumberFilter(field_name="plan__patient_id", min_value=1, max_value=MAX_ID)
    responder = django_filters.BooleanFilter()
    worsening = django_filters.BooleanFilter()
    reached_week_12 = django_filters.BooleanFilter()

    class Meta:
        model = OutcomeSnapshot
        fields = ["plan", "patient", "responder", "worsening", "reached_week_12"]


# --- views -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Published library exercises", responses={200: ExerciseSerializer, **list_errors()}
    ),
    retrieve=extend_schema(
        summary="One library exercise", responses={200: ExerciseSerializer, **read_errors()}
    ),
)
class ExerciseViewSet(StrictQueryParamsMixin, ScopedLookupMixin, viewsets.ReadOnlyModelViewSet[Exercise]):
    """The exercise library: published exercises, for every signed-in user."""

    serializer_class = ExerciseSerializer
    filterset_class = ExerciseFilter
    ordering_fields = ["name", "category", "difficulty", "id"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Exercise]:
        return (
            Exercise.objects.filter(status=ExerciseStatus.PUBLISHED)
            .prefetch_related("regions")
            .order_by("name")
        )


@extend_schema_view(
    list=extend_schema(
        summary="Plan templates: shared ones and the clinic's own (therapists)",
        responses={200: PlanTemplateSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        summary="One plan template", responses={200: PlanTemplateSerializer, **read_errors()}
    ),
)
class PlanTemplateViewSet(
    StrictQueryParamsMixin, ScopedLookupMixin, viewsets.ReadOnlyModelViewSet[PlanTemplate]
):
    serializer_class = PlanTemplateSerializer
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]
    filterset_fields = ["condition"]

    def get_queryset(self) -> QuerySet[PlanTemplate]:
        therapist = therapist_for(self.request)
        if therapist is None:
            return PlanTemplate.objects.none()
        return selectors.plan_templates_for(clinic=therapist.clinic).prefetch_related(
            Prefetch("items", queryset=TemplateExercise.objects.select_related("exercise"))
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if therapist_for(request) is None:
            raise Http404
        return super().list(request, *args, **kwargs)


PLAN_ERRORS = write_errors()


@extend_schema_view(
    list=extend_schema(
        summary="Care plans: the clinic's (therapists) or one's own (patients)",
        responses={200: CarePlanSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        summary="One care plan with its exercises", responses={200: CarePlanSerializer, **read_errors()}
    ),
)
class CarePlanViewSet(
    StrictQueryParamsMixin,
    ScopedLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[CarePlan],
):
    serializer_class = CarePlanSerializer
    filterset_class = CarePlanFilter
    ordering_fields = ["start_date", "created_at", "title", "status", "id"]
    ordering = ["-start_date", "-id"]

    def get_queryset(self) -> QuerySet[CarePlan]:
        items = Prefetch(
            "items", queryset=PlanExercise.objects.select_related("exercise").order_by("position", "id")
        )
        therapist = therapist_for(self.request)
        if therapist is not None:
            return selectors.clinic_plans(clinic=therapist.clinic).prefetch_related(items)
        patient = patient_for(self.request)
        if patient is not None:
            # A draft is the therapist's work in progress, not yet the patient's plan.
            return (
                CarePlan.objects.filter(patient=patient)
                .exclude(status=PlanStatus.DRAFT)
                .select_related("patient__user", "therapist__user")
                .prefetch_related(items)
            )
        return CarePlan.objects.none()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = cast(CarePlan, self.get_object())
        return Response(self.get_serializer(plan).data)

    def _therapist(self) -> Therapist:
        therapist = therapist_for(self.request)
        if therapist is None:
            raise Http404
        return therapist

    def _plan(self) -> CarePlan:
        self._therapist()
        return cast(CarePlan, self.get_object())

    def _fresh(self, plan: CarePlan, code: int = status.HTTP_200_OK) -> Response:
        plan = self.get_queryset().get(pk=plan.pk)
        return Response(CarePlanSerializer(plan).data, status=code)

    @extend_schema(
        summary="Create a draft plan for a patient of the clinic (therapists)",
        request=PlanCreateInput,
        responses={201: CarePlanSerializer, **PLAN_ERRORS},
    )
    def create(self, request: Request) -> Response:
        therapist = self._therapist()
        data = PlanCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        patient = clinic_patients(clinic=therapist.clinic).filter(pk=values["patient"]).first()
        if patient is None:
            raise DomainError("No such patient in your clinic.", field="patient")
        template = None
        if values.get("template") is not None:
            template = (
                selectors.plan_templates_for(clinic=therapist.clinic).filter(pk=values["template"]).first()
            )
            if template is None:
                raise DomainError("No such template.", field="template")
        plan = services.careplan_create(
            patient=patient,
            by=therapist,
            title=values["title"],
            condition=values["condition"],
            start_date=values["start_date"],
            length_weeks=values["length_weeks"],
            template=template,
            ip=client_ip(request),
        )
        return self._fresh(plan, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a plan's title, condition, start date or length (therapists)",
        request=PlanUpdateInput,
        responses={200: CarePlanSerializer, **PLAN_ERRORS},
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        plan = self._plan()
        data = PlanUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        plan = services.careplan_update_details(
            plan=plan,
            by=self._therapist(),
            title=values.get("title", plan.title),
            condition=values.get("condition", plan.condition),
            start_date=values.get("start_date", plan.start_date),
            length_weeks=values.get("length_weeks", plan.length_weeks),
            ip=client_ip(request),
        )
        return self._fresh(plan)

    @extend_schema(
        summary="Activate a draft plan (therapists)",
        request=None,
        responses={200: CarePlanSerializer, **PLAN_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        plan = services.careplan_activate(plan=self._plan(), by=self._therapist(), ip=client_ip(request))
        return self._fresh(plan)

    @extend_schema(
        summary="Complete or stop an active plan, with the reason (therapists)",
        request=PlanEndInput,
        responses={200: CarePlanSerializer, **PLAN_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        plan = self._plan()
        data = PlanEndInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.careplan_end(
            plan=plan,
            by=self._therapist(),
            status=data.validated_data["status"],
            reason=data.validated_data["reason"],
            ip=client_ip(request),
        )
        return self._fresh(plan)

    @extend_schema(
        summary="Add a published library exercise to the plan (therapists)",
        request=PlanExerciseAddInput,
        responses={201: PlanExerciseSerializer, **PLAN_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="exercises")
    def add_exercise(self, request: Request, pk: str | None = None) -> Response:
        plan = self._plan()
        data = PlanExerciseAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.careplan_exercise_add(
            plan=plan,
            by=self._therapist(),
            exercise_id=data.validated_data["exercise"],
            ip=client_ip(request),
        )
        return Response(PlanExerciseSerializer(item).data, status=status.HTTP_201_CREATED)

    def _item(self, plan: CarePlan) -> PlanExercise:
        item_id = parse_id(self.kwargs.get("item_id", ""))
        if item_id is None:
            raise Http404
        return selectors.plan_exercise_of(plan=plan, plan_exercise_id=item_id)

    @extend_schema(
        summary="Change one plan exercise's dosage or note (therapists)",
        request=PlanExerciseUpdateInput,
        responses={200: PlanExerciseSerializer, **PLAN_ERRORS},
        methods=["PATCH"],
    )
    @extend_schema(
        summary="Remove an exercise from the plan (therapists)",
        request=None,
        responses={204: OpenApiResponse(description="Removed."), **PLAN_ERRORS},
        methods=["DELETE"],
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=f"exercises/(?P<item_id>{ID_PATTERN})",
        url_name="exercise",
    )
    def exercise(self, request: Request, pk: str | None = None, item_id: str | None = None) -> Response:
        plan = self._plan()
        item = self._item(plan)
        therapist = self._therapist()
        if request.method == "DELETE":
            services.careplan_exercise_remove(item=item, by=therapist, ip=client_ip(request))
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = PlanExerciseUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dose = {name: values.get(name, getattr(item, name)) for name in DOSAGE_LIMITS}
        item = services.careplan_exercise_update(
            item=item, by=therapist, note=values.get("note", item.note), ip=client_ip(request), **dose
        )
        return Response(PlanExerciseSerializer(item).data)


@extend_schema_view(
    list=extend_schema(
        summary="Outcome snapshots: the clinic's plans (therapists) or one's own (patients)",
        responses={200: OutcomeSnapshotSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        summary="One plan's outcome snapshot (by plan id)",
        responses={200: OutcomeSnapshotSerializer, **read_errors()},
    ),
)
class OutcomeSnapshotViewSet(
    StrictQueryParamsMixin, ScopedLookupMixin, viewsets.ReadOnlyModelViewSet[OutcomeSnapshot]
):
    serializer_class = OutcomeSnapshotSerializer
    filterset_class = OutcomeFilter
    ordering_fields = ["computed_at", "percent_change", "baseline", "current", "plan"]
    ordering = ["plan"]

    def get_queryset(self) -> QuerySet[OutcomeSnapshot]:
        therapist = therapist_for(self.request)
        if therapist is not None:
            return selectors.clinic_outcomes(clinic=therapist.clinic)
        patient = patient_for(self.request)
        if patient is not None:
            return (
                OutcomeSnapshot.objects.select_related("plan")
                .filter(plan__patient=patient)
                .exclude(plan__status=PlanStatus.DRAFT)
            )
        return OutcomeSnapshot.objects.none()
