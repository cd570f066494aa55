"""API: a patient's check-ins as therapists of their clinic read them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import patient_for_clinic
from audit.services import audit_read
from checkins.models import PainCheckIn
from checkins.selectors import clinic_checkins
from portal.api.common import (
    INVALID,
    NOT_FOUND,
    UNAUTHENTICATED,
    Pagination,
    StrictQueryParamsMixin,
    parse_id,
)
from portal.api.filters import ApiFilterBackend, ApiFilterSet, IsoDateFilter


class CheckInSerializer(serializers.ModelSerializer[PainCheckIn]):
    has_red_flag = serializers.BooleanField(read_only=True)

    class Meta:
        model = PainCheckIn
        fields = [
            "id",
            "patient",
            "plan",
            "local_date",
            "nprs",
            "side",
            "flag_leg_weakness",
            "flag_bladder_bowel",
            "flag_fever",
            "flag_weight_loss",
            "has_red_flag",
            "note",
            "received_at",
            "corrected_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "corrected_at": {"help_text": "When the patient last corrected it (null: as first sent)."}
        }


class CheckInStoredSerializer(CheckInSerializer):
    replaced = serializers.SerializerMethodField(
        help_text="True when this replaced an earlier check-in on the same local date."
    )

    class Meta(CheckInSerializer.Meta):
        fields = [*CheckInSerializer.Meta.fields, "replaced"]
        read_only_fields = fields

    def get_replaced(self, obj: PainCheckIn) -> bool:
        return bool(self.context.get("replaced", False))


class CheckInFilter(ApiFilterSet):
    since = IsoDateFilter(field_name="local_date", lookup_expr="gte", help_text="From this local date.")
    until = IsoDateFilter(field_name="local_date", lookup_expr="lte", help_text="Up to this local date.")

    class Meta:
        model = PainCheckIn
        fields: list[str] = []


@extend_schema(
    tags=["check-ins"],
    summary="A patient's check-ins, newest first (therapists of the patient's clinic)",
    parameters=[
        OpenApiParameter(
            "patient_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The patient's id."
        )
    ],
    responses={
        200: CheckInSerializer(many=True),
        400: INVALID,
        401: UNAUTHENTICATED,
        404: OpenApiResponse(
            NOT_FOUND.response, description="No such patient in your clinic (also for non-therapists)."
        ),
    },
)
class PatientCheckInListView(StrictQueryParamsMixin, ListAPIView[PainCheckIn]):
    serializer_class = CheckInSerializer
    pagination_class = Pagination
    filter_backends = [ApiFilterBackend, OrderingFilter]
    filterset_class = CheckInFilter
    ordering_fields = ["local_date", "nprs", "received_at"]
    ordering = ["-local_date", "-id"]

    def get_queryset(self) -> QuerySet[PainCheckIn]:
        therapist = getattr(self.request.user, "therapist", None)
        patient_id = parse_id(self.kwargs.get("patient_id", ""))
        if therapist is None or patient_id is None:
            return PainCheckIn.objects.none()
        return clinic_checkins(clinic=therapist.clinic).filter(patient_id=patient_id)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        therapist = getattr(request.user, "therapist", None)
        patient_id = parse_id(kwargs["patient_id"])
        # Another clinic's patient, a wrong id or a non-therapist: the same 404, revealing nothing.
        # Reading a patient's check-ins is a view of their record: the access function audits it.
        try:
            if therapist is None or patient_id is None:
                raise Http404
            patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
        except Http404 as missing:
            raise NotFound("No such patient.") from missing
        return super().list(request, *args, **kwargs)

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        if page is not None:
            audit_read(page)
        return page
