"""API: the clinic's alerts."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import ScopedLookupMixin, therapist_for, user_of
from alerts.models import Alert, AlertKind
from alerts.selectors import clinic_alerts
from alerts.services import ACK_NOTE_MAX, alert_acknowledge
from portal.access import client_ip
from portal.api.common import (
    MAX_ID,
    StrictQueryParamsMixin,
    StrictSerializer,
    list_errors,
    read_errors,
    write_errors,
)
from portal.api.filters import ApiFilterSet


class AlertSerializer(serializers.ModelSerializer[Alert]):
    patient_name = serializers.CharField(source="patient.user.full_name", read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "patient",
            "patient_name",
            "plan",
            "checkin",
            "kind",
            "detail",
            "opened_at",
            "cleared_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_note",
            "is_open",
        ]
        read_only_fields = fields


class AlertAcknowledgeInput(StrictSerializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=ACK_NOTE_MAX,
        help_text=f"What was done about the alert (optional, at most {ACK_NOTE_MAX} characters).",
    )


class AlertFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    patient = django_filters.NumberFilter(field_name="patient_id", min_value=1, max_value=MAX_ID)
    open = django_filters.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", label="open")

    class Meta:
        model = Alert
        fields = ["kind", "patient", "open"]


@extend_schema_view(
    list=extend_schema(
        summary="The clinic's alerts (therapists)", responses={200: AlertSerializer, **list_errors()}
    ),
    retrieve=extend_schema(summary="One alert", responses={200: AlertSerializer, **read_errors()}),
)
class AlertViewSet(StrictQueryParamsMixin, ScopedLookupMixin, viewsets.ReadOnlyModelViewSet[Alert]):
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = ["opened_at", "kind", "id"]
    ordering = ["-opened_at", "-id"]

    def get_queryset(self) -> QuerySet[Alert]:
        therapist = therapist_for(self.request)
        if therapist is None:
            return Alert.objects.none()
        return clinic_alerts(clinic=therapist.clinic)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if therapist_for(request) is None:
            raise Http404
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Acknowledge an alert, with an optional note (therapists of its clinic)",
        description=(
            "Records who acknowledged the alert, when, and the note of what was done. A second "
            "acknowledgement changes nothing: the first one, and its note, stand."
        ),
        request=AlertAcknowledgeInput,
        responses={200: AlertSerializer, **write_errors()},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        alert = cast(Alert, self.get_object())
        data = AlertAcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_acknowledge(
            alert=alert, by=user_of(request), note=data.validated_data["note"], ip=client_ip(request)
        )
        return Response(AlertSerializer(alert).data)
