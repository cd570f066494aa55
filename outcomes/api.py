"""API: the outcome snapshots of the clinic's plans (therapists) or one's own (patients)."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets

from accounts.access import ScopedLookupMixin, patient_for, therapist_for
from careplans.models import PlanStatus
from outcomes.figures import OutcomeState, PlanFigures, figures_of
from outcomes.models import InstrumentOutcome, OutcomeSnapshot
from outcomes.selectors import clinic_outcomes
from portal.api.common import (
    MAX_ID,
    StrictQueryParamsMixin,
    list_errors,
    read_errors,
)
from portal.api.filters import ApiFilterSet


def _figures(snapshot: OutcomeSnapshot) -> PlanFigures:
    plan = snapshot.plan
    return figures_of(snapshot, plan_id=plan.pk, start=plan.start_date, today=plan.patient.local_today())


class InstrumentOutcomeSerializer(serializers.ModelSerializer[InstrumentOutcome]):
    """One questionnaire's figures on the plan (outcomes.instrument_outcomes): scores in the
    instrument's own points, the responder by its own MCID."""

    instrument = serializers.CharField(source="instrument.code", read_only=True, help_text="e.g. psfs")
    title = serializers.CharField(source="instrument.title", read_only=True)

    class Meta:
        model = InstrumentOutcome
        fields = ["instrument", "title", *InstrumentOutcome.FIGURES]
        read_only_fields = fields


class OutcomeSnapshotSerializer(serializers.ModelSerializer[OutcomeSnapshot]):
    """The snapshot's figures as stored, and as the pages show them (``state``, the change so far)."""

    patient = serializers.IntegerField(source="plan.patient_id", read_only=True)
    state = serializers.SerializerMethodField(help_text="Where the plan stands with its baseline.")
    change_so_far = serializers.SerializerMethodField(
        help_text="Current minus baseline as the pages show them (NPRS points, one decimal); "
        "null until there is a baseline."
    )
    percent_change_so_far = serializers.SerializerMethodField(
        help_text="The change so far in percent of the baseline, a whole number; null at baseline 0."
    )
    questionnaires = InstrumentOutcomeSerializer(
        source="plan.instrument_outcomes",
        many=True,
        read_only=True,
        help_text="Each questionnaire the plan's schedule asks for: intake to week 12.",
    )

    class Meta:
        model = OutcomeSnapshot
        fields = [
            "plan",
            "patient",
            *OutcomeSnapshot.FIGURES,
            "state",
            "change_so_far",
            "percent_change_so_far",
            "questionnaires",
            "computed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=[s.value for s in OutcomeState]))
    def get_state(self, snapshot: OutcomeSnapshot) -> str:
        return _figures(snapshot).state.value

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_change_so_far(self, snapshot: OutcomeSnapshot) -> float | None:
        change = _figures(snapshot).change
        return None if change is None else float(change)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_percent_change_so_far(self, snapshot: OutcomeSnapshot) -> int | None:
        return _figures(snapshot).percent


class OutcomeFilter(ApiFilterSet):
    plan = django_filters.NumberFilter(field_name="plan_id", min_value=1, max_value=MAX_ID)
    patient = django_filters.NumberFilter(field_name="plan__patient_id", min_value=1, max_value=MAX_ID)
    responder = django_filters.BooleanFilter()
    worsening = django_filters.BooleanFilter()
    reached_week_12 = django_filters.BooleanFilter()

    class Meta:
        model = OutcomeSnapshot
        fields = ["plan", "patient", "responder", "worsening", "reached_week_12"]


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
        # One query for every listed plan's questionnaire figures, whatever their number.
        questionnaires = Prefetch(
            "plan__instrument_outcomes",
            InstrumentOutcome.objects.select_related("instrument").defer("instrument__definition"),
        )
        therapist = therapist_for(self.request)
        if therapist is not None:
            return clinic_outcomes(clinic=therapist.clinic).prefetch_related(questionnaires)
        patient = patient_for(self.request)
        if patient is not None:
            return (
                OutcomeSnapshot.objects.select_related("plan__patient")
                .filter(plan__patient=patient)
                .exclude(plan__status=PlanStatus.DRAFT)
                .prefetch_related(questionnaires)
            )
        return OutcomeSnapshot.objects.none()
