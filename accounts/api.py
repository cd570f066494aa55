"""API v1 for people: patients (therapists), alerts, the signed-in user and their data export."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import ScopedLookupMixin, patient_for, therapist_for, user_of
from accounts.models import Patient
from accounts.selectors import clinic_patients
from portal.api.common import (
    MAX_ID,
    StrictQueryParamsMixin,
    list_errors,
    read_errors,
)
from portal.api.filters import ApiFilterSet, IsoDateFilter


class PatientSerializer(serializers.ModelSerializer[Patient]):
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    therapist_name = serializers.CharField(source="therapist.user.full_name", read_only=True, default=None)
    # A wall-clock time in the patient's zone; OpenAPI's "time" format would demand an offset.
    reminder_time = serializers.CharField(read_only=True, help_text="HH:MM:SS in the patient's time zone.")

    class Meta:
        model = Patient
        fields = [
            "id",
            "full_name",
            "email",
            "therapist",
            "therapist_name",
            "timezone",
            "reminder_time",
            "reminders_enabled",
            "phone",
            "created_at",
        ]
        read_only_fields = fields


class PatientFilter(ApiFilterSet):
    therapist = django_filters.NumberFilter(field_name="therapist_id", min_value=1, max_value=MAX_ID)
    q = django_filters.CharFilter(field_name="user__full_name", lookup_expr="icontains", max_length=100)
    created_after = IsoDateFilter(field_name="created_at", lookup_expr="date__gte")

    class Meta:
        model = Patient
        fields = ["therapist", "q", "created_after"]


@extend_schema_view(
    list=extend_schema(
        summary="The clinic's patients (therapists)", responses={200: PatientSerializer, **list_errors()}
    ),
    retrieve=extend_schema(
        summary="One patient of the clinic (therapists); the view is audited",
        responses={200: PatientSerializer, **read_errors()},
    ),
)
class PatientViewSet(StrictQueryParamsMixin, ScopedLookupMixin, viewsets.ReadOnlyModelViewSet[Patient]):
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["created_at", "user__full_name", "id"]
    ordering = ["user__full_name", "id"]

    def get_queryset(self) -> QuerySet[Patient]:
        therapist = therapist_for(self.request)
        if therapist is None:
            return Patient.objects.none()
        return clinic_patients(clinic=therapist.clinic)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if therapist_for(request) is None:
            raise Http404
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = cast(Patient, self.get_object())
        return Response(self.get_serializer(patient).data)


class ClinicRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    role = serializers.ChoiceField(choices=["therapist", "patient", "staff", "none"])
    clinic = ClinicRefSerializer(allow_null=True)
    therapist_id = serializers.IntegerField(allow_null=True)
    patient_id = serializers.IntegerField(allow_null=True)


class MeView(StrictQueryParamsMixin, APIView):
    @extend_schema(
        summary="The signed-in user",
        responses={200: MeSerializer, 401: read_errors()[401], 403: read_errors()[403]},
    )
    def get(self, request: Request) -> Response:
        user = user_of(request)
        therapist = therapist_for(request)
        patient = patient_for(request)
        profile = therapist or patient
        clinic = profile.clinic if profile is not None else None
        data = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role,
            "clinic": {"id": clinic.pk, "name": clinic.name} if clinic else None,
            "therapist_id": therapist.pk if therapist else None,
            "patient_id": patient.pk if patient else None,
        }
        return Response(MeSerializer(data).data)
