"""API: the exercise library and the clinic's plan templates."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import ScopedLookupMixin, patient_for, therapist_for
from library import selectors
from library.models import (
    DOSAGE_LIMITS,
    BodyRegion,
    Category,
    Difficulty,
    Equipment,
    Exercise,
    ExerciseMedia,
    MediaKind,
)
from library.template_models import PlanTemplate, TemplateExercise
from portal.api.common import (
    StrictQueryParamsMixin,
    list_errors,
    read_errors,
)
from portal.api.filters import ApiFilterSet

# --- serializers -------------------------------------------------------------


class ExerciseMediaSerializer(serializers.ModelSerializer[ExerciseMedia]):
    url = serializers.SerializerMethodField(help_text="The file (a video supports HTTP range requests).")
    card_url = serializers.SerializerMethodField(
        help_text="A picture's 320 x 240 thumbnail; empty for a video."
    )
    page_url = serializers.SerializerMethodField(help_text="A picture within 960 x 720; empty for a video.")

    class Meta:
        model = ExerciseMedia
        fields = ["kind", "description", "content_type", "width", "height", "url", "card_url", "page_url"]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, obj: ExerciseMedia) -> str:
        return self._absolute(obj.url())

    def get_card_url(self, obj: ExerciseMedia) -> str:
        return self._absolute(obj.card_url) if obj.kind == MediaKind.IMAGE else ""

    def get_page_url(self, obj: ExerciseMedia) -> str:
        return self._absolute(obj.page_url) if obj.kind == MediaKind.IMAGE else ""


class ExerciseSerializer(serializers.ModelSerializer[Exercise]):
    regions = serializers.SlugRelatedField[BodyRegion](many=True, read_only=True, slug_field="slug")
    steps = serializers.ListField(child=serializers.CharField(), read_only=True)
    shared = serializers.BooleanField(
        read_only=True, help_text="True for the shared library's exercise, false for the clinic's own."
    )
    media = ExerciseMediaSerializer(
        many=True, read_only=True, help_text="Pictures in order, then the video if there is one uploaded."
    )

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
            "shared",
            "media",
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
    exercises = TemplateExerciseSerializer(many=True, read_only=True)

    class Meta:
        model = PlanTemplate
        fields = ["id", "name", "condition", "description", "shared", "created_at", "exercises"]
        read_only_fields = fields

    def get_shared(self, obj: PlanTemplate) -> bool:
        return obj.clinic_id is None


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


# --- views -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Published exercises: the shared library's and the clinic's own",
        responses={200: ExerciseSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        summary="One library exercise", responses={200: ExerciseSerializer, **read_errors()}
    ),
)
class ExerciseViewSet(StrictQueryParamsMixin, ScopedLookupMixin, viewsets.ReadOnlyModelViewSet[Exercise]):
    """The exercise library: published exercises, the shared library's and the user's clinic's own."""

    serializer_class = ExerciseSerializer
    filterset_class = ExerciseFilter
    ordering_fields = ["name", "category", "difficulty", "id"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Exercise]:
        # The shared library's and the user's clinic's own (a therapist's or a patient's):
        # another clinic's exercise is not found.
        therapist, patient = therapist_for(self.request), patient_for(self.request)
        clinic = therapist.clinic if therapist else patient.clinic if patient else None
        return (
            selectors.published_exercises(clinic=clinic).prefetch_related("regions", "media").order_by("name")
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
            Prefetch("exercises", queryset=TemplateExercise.objects.select_related("exercise"))
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if therapist_for(request) is None:
            raise Http404
        return super().list(request, *args, **kwargs)
