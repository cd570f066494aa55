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
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import ScopedLookupMixin, patient_for, therapist_for
from accounts.models import Therapist
from accounts.selectors import clinic_patients
from careplans import plan_exercises, selectors, services
from careplans.api_serializers import (
    CarePlanSerializer,
    PlanCreateInput,
    PlanEndInput,
    PlanExerciseAddInput,
    PlanExerciseSerializer,
    PlanExerciseUpdateInput,
    PlanExerciseVaryInput,
    PlanPhaseReasonInput,
    PlanPhaseReleaseInput,
    PlanUpdateInput,
)
from careplans.models import CarePlan, PlanExercise, PlanStatus
from careplans.phase_moves import careplan_phase_advance, careplan_phase_hold
from library.models import (
    DOSAGE_LIMITS,
)
from library.selectors import plan_templates_for
from portal.access import client_ip
from portal.api.common import (
    ID_PATTERN,
    MAX_ID,
    StrictQueryParamsMixin,
    StrictSerializer,
    list_errors,
    parse_id,
    read_errors,
    write_errors,
)
from portal.api.filters import ApiFilterSet, IsoDateFilter
from portal.errors import DomainError


class CarePlanFilter(ApiFilterSet):
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)
    patient = django_filters.NumberFilter(field_name="patient_id", min_value=1, max_value=MAX_ID)
    therapist = django_filters.NumberFilter(field_name="therapist_id", min_value=1, max_value=MAX_ID)
    start_date_after = IsoDateFilter(field_name="start_date", lookup_expr="gte")
    start_date_before = IsoDateFilter(field_name="start_date", lookup_expr="lte")

    class Meta:
        model = CarePlan
        fields = ["status", "patient", "therapist", "start_date_after", "start_date_before"]


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
        items: tuple[Prefetch[Any], str] = (
            Prefetch(
                "exercises",
                queryset=PlanExercise.objects.select_related("exercise").order_by("position", "id"),
            ),
            "phases",
        )
        therapist = therapist_for(self.request)
        if therapist is not None:
            return selectors.clinic_plans(clinic=therapist.clinic).prefetch_related(*items)
        patient = patient_for(self.request)
        if patient is not None:
            # A draft is the therapist's work in progress, not yet the patient's plan.
            return (
                CarePlan.objects.filter(patient=patient)
                .exclude(status=PlanStatus.DRAFT)
                .select_related("patient__user", "therapist__user")
                .prefetch_related(*items)
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
            raise DomainError("No such patient in your clinic.", field="patient", code="unknown_patient")
        template = None
        if values.get("template") is not None:
            template = plan_templates_for(clinic=therapist.clinic).filter(pk=values["template"]).first()
            if template is None:
                raise DomainError("No such template.", field="template", code="unknown_template")
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
        item = plan_exercises.careplan_exercise_add(
            plan=plan,
            by=self._therapist(),
            exercise_id=data.validated_data["exercise"],
            ip=client_ip(request),
        )
        return Response(PlanExerciseSerializer(item).data, status=status.HTTP_201_CREATED)

    def _plan_exercise(self, plan: CarePlan) -> PlanExercise:
        plan_exercise_id = parse_id(self.kwargs.get("plan_exercise_id", ""))
        if plan_exercise_id is None:
            raise Http404
        return selectors.plan_exercise_of(plan=plan, plan_exercise_id=plan_exercise_id)

    @extend_schema(
        summary="Progress or regress one plan exercise to a variant, with the reason (therapists)",
        request=PlanExerciseVaryInput,
        responses={200: PlanExerciseSerializer, **PLAN_ERRORS},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=f"exercises/(?P<plan_exercise_id>{ID_PATTERN})/vary",
        url_name="exercise-vary",
    )
    def vary_exercise(
        self, request: Request, pk: str | None = None, plan_exercise_id: str | None = None
    ) -> Response:
        plan = self._plan()
        item = self._plan_exercise(plan)
        data = PlanExerciseVaryInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = plan_exercises.careplan_exercise_vary(
            plan_exercise=item,
            by=self._therapist(),
            variant_id=data.validated_data["variant"],
            dose=data.validated_data["dose"],
            reason=data.validated_data["reason"],
            ip=client_ip(request),
        )
        return Response(PlanExerciseSerializer(item).data)

    @extend_schema(
        summary="Move a phased plan to its next phase now, with the reason (therapists)",
        request=PlanPhaseReasonInput,
        responses={200: CarePlanSerializer, **PLAN_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="phase/advance", url_name="phase-advance")
    def phase_advance(self, request: Request, pk: str | None = None) -> Response:
        plan = self._plan()
        data = PlanPhaseReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = careplan_phase_advance(
            plan=plan, by=self._therapist(), reason=data.validated_data["reason"], ip=client_ip(request)
        )
        return self._fresh(plan)

    @extend_schema(
        summary="Hold a phased plan in its current phase, with the reason (therapists)",
        request=PlanPhaseReasonInput,
        responses={200: CarePlanSerializer, **PLAN_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="phase/hold", url_name="phase-hold")
    def phase_hold(self, request: Request, pk: str | None = None) -> Response:
        return self._phase_hold(request, held=True, data=PlanPhaseReasonInput(data=request.data))

    @extend_schema(
        summary="Release a held phase: the plan follows its phase schedule again (therapists)",
        request=PlanPhaseReleaseInput,
        responses={200: CarePlanSerializer, **PLAN_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="phase/release", url_name="phase-release")
    def phase_release(self, request: Request, pk: str | None = None) -> Response:
        return self._phase_hold(request, held=False, data=PlanPhaseReleaseInput(data=request.data))

    def _phase_hold(self, request: Request, *, held: bool, data: StrictSerializer) -> Response:
        plan = self._plan()
        data.is_valid(raise_exception=True)
        plan = careplan_phase_hold(
            plan=plan,
            by=self._therapist(),
            held=held,
            reason=data.validated_data["reason"],
            ip=client_ip(request),
        )
        return self._fresh(plan)

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
        url_path=f"exercises/(?P<plan_exercise_id>{ID_PATTERN})",
        url_name="exercise",
    )
    def exercise(
        self, request: Request, pk: str | None = None, plan_exercise_id: str | None = None
    ) -> Response:
        plan = self._plan()
        item = self._plan_exercise(plan)
        therapist = self._therapist()
        if request.method == "DELETE":
            plan_exercises.careplan_exercise_remove(plan_exercise=item, by=therapist, ip=client_ip(request))
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = PlanExerciseUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dose = {name: values.get(name, getattr(item, name)) for name in DOSAGE_LIMITS}
        item = plan_exercises.careplan_exercise_update(
            plan_exercise=item,
            by=therapist,
            note=values.get("note", item.note),
            ip=client_ip(request),
            **dose,
        )
        return Response(PlanExerciseSerializer(item).data)
