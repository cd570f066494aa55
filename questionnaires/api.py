"""API v1 for questionnaires (issue 18): the instruments a user may use, a plan's questionnaire
schedule, patients' responses (read, and as FHIR), and a patient sending one.

Reads start from the user's clinic (therapists) or from the patient themselves
(``questionnaires.scoping``); anything else is 404. Every response shown is noted for the audit
trail (``instrumentresponse.viewed``, by ``audit_read``). Sending goes through the same services as
the patient's page (``response_submit``, ``response_save_draft``), so the rules are identical.
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import ScopedLookupMixin, patient_for, therapist_for
from accounts.models import Clinic
from careplans.models import CarePlan
from careplans.selectors import plan_for_clinic
from portal.access import client_ip
from portal.api.common import (
    MAX_ID,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHENTICATED,
    ErrorSerializer,
    StrictQueryParamsMixin,
    list_errors,
    parse_id,
    read_errors,
)
from portal.api.filters import ApiFilterSet
from portal.errors import DomainError
from questionnaires.api_serializers import (
    InstrumentResponseSerializer,
    InstrumentSerializer,
    ResponseSendSerializer,
    ScheduledOccasionSerializer,
)
from questionnaires.fhir import response_bundle
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus
from questionnaires.scoping import (
    clinic_responses,
    instrument_by_key,
    instruments_for,
    own_plan,
    own_responses,
    schedule_of,
)
from questionnaires.services import response_save_draft, response_submit


def _clinic(request: Request) -> Clinic | None:
    therapist, patient = therapist_for(request), patient_for(request)
    return therapist.clinic if therapist else patient.clinic if patient else None


# --- instruments -------------------------------------------------------------------------


class InstrumentFilter(ApiFilterSet):
    code = django_filters.CharFilter(max_length=64, help_text="The instrument's code, e.g. psfs.")

    class Meta:
        model = Instrument
        fields = ["code"]


@extend_schema_view(
    list=extend_schema(
        tags=["questionnaires"],
        summary="The questionnaire instruments you may use: Plinth's shared ones and your clinic's own",
        responses={200: InstrumentSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        tags=["questionnaires"],
        summary="One instrument with its FHIR Questionnaire definition, by id or by code",
        description=(
            "`key`: the instrument's id, or its code (`psfs`), which gives the instrument your clinic's "
            "plans use for it: the clinic's own if it has loaded one, else the shared one, the latest "
            "loaded. Another clinic's own instrument is not found."
        ),
        parameters=[OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: InstrumentSerializer, **read_errors()},
    ),
)
class InstrumentViewSet(StrictQueryParamsMixin, viewsets.ReadOnlyModelViewSet[Instrument]):
    serializer_class = InstrumentSerializer
    filterset_class = InstrumentFilter
    ordering_fields = ["title", "code", "id"]
    ordering = ["title", "version", "id"]
    lookup_url_kwarg = "key"
    lookup_value_regex = "[A-Za-z0-9_-]{1,64}"

    def get_queryset(self) -> QuerySet[Instrument]:
        return instruments_for(clinic=_clinic(self.request))

    def get_object(self) -> Instrument:
        return instrument_by_key(clinic=_clinic(self.request), key=str(self.kwargs["key"]))


# --- a plan's schedule --------------------------------------------------------------------


@extend_schema(
    tags=["questionnaires"],
    summary="A plan's questionnaire schedule and where each occasion stands (its therapists, its patient)",
    description=(
        "Every questionnaire the plan asks for, earliest window first: its instrument, its window in "
        "the patient's local dates and its status on the patient's local date today. A patient sees "
        "their own plans (not a draft); a therapist, the plans of their clinic's patients."
    ),
    parameters=[OpenApiParameter("plan_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    responses={200: ScheduledOccasionSerializer(many=True), **read_errors()},
)
class PlanQuestionnaireScheduleView(StrictQueryParamsMixin, APIView):
    def get(self, request: Request, plan_id: str) -> Response:
        """The schedule of a plan the caller may see; 404 for any other (and for other roles)."""
        pk = parse_id(plan_id)
        therapist, patient = therapist_for(request), patient_for(request)
        plan: CarePlan
        if pk is None:
            raise Http404
        if therapist is not None:
            plan = plan_for_clinic(clinic=therapist.clinic, plan_id=pk)
        elif patient is not None:
            plan = own_plan(patient=patient, plan_id=pk)
        else:
            raise Http404
        rows = schedule_of(plan=plan, today=plan.patient.local_today())
        return Response(ScheduledOccasionSerializer(cast(Any, rows), many=True).data)


# --- responses ------------------------------------------------------------------------------


class ResponseFilter(ApiFilterSet):
    patient = django_filters.NumberFilter(field_name="patient_id", min_value=1, max_value=MAX_ID)
    plan = django_filters.NumberFilter(field_name="plan_id", min_value=1, max_value=MAX_ID)
    instrument = django_filters.CharFilter(
        field_name="instrument__code", max_length=64, help_text="The instrument's code, e.g. psfs."
    )
    status = django_filters.ChoiceFilter(choices=ResponseStatus.choices)

    class Meta:
        model = InstrumentResponse
        fields = ["patient", "plan", "instrument", "status"]


#: The body of a refused response: the field (``answers.<linkId>`` for a question) with its reason,
#: and the rule's code.
SEND_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "description": (
                "The rule: answer_out_of_range, not_a_number, required, unknown_item, too_long, "
                "activity_unnamed, activity_unrated, activity_repeated, activity_renamed (a later "
                "PSFS must keep the first one's activities, by name, in their slots), "
                "invalid (text expected, or the body's shape), "
                "not_due (outside the window), already_completed, conflict."
            ),
        }
    },
    "required": ["code"],
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"answers.rating-1": ["Choose an answer from 0 to 10."], "code": "answer_out_of_range"},
}
#: Codes that mean the occasion is no longer open to this request: 409, not 400.
CONFLICTS = ("already_completed", "conflict")


class FhirJsonRenderer(JSONRenderer):
    """JSON as FHIR names it: ``application/fhir+json`` (plain JSON too, for a client that asks for it)."""

    media_type = "application/fhir+json"
    format = "fhir"


def _refusal(error: DomainError) -> Response:
    """A service's refusal as the send endpoint answers it (``SEND_ERROR_SCHEMA``)."""
    field = f"answers.{error.field}" if error.field else "schedule"
    code = status.HTTP_409_CONFLICT if error.code in CONFLICTS else status.HTTP_400_BAD_REQUEST
    return Response({field: [error.message], "code": error.code}, status=code)


@extend_schema_view(
    list=extend_schema(
        summary="Questionnaire responses: your clinic's patients' (therapists) or your own (patients)",
        description="Filter by `patient` or `plan`; drafts are listed too, with status draft.",
        responses={200: InstrumentResponseSerializer, **list_errors()},
    ),
    retrieve=extend_schema(
        summary="One questionnaire response with its answers and score",
        responses={200: InstrumentResponseSerializer, **read_errors()},
    ),
)
@extend_schema(tags=["questionnaires"])
class QuestionnaireResponseViewSet(
    StrictQueryParamsMixin,
    ScopedLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[InstrumentResponse],
):
    serializer_class = InstrumentResponseSerializer
    filterset_class = ResponseFilter
    ordering_fields = ["opens_on", "completed_at", "id"]
    ordering = ["opens_on", "id"]

    def get_queryset(self) -> QuerySet[InstrumentResponse]:
        therapist = therapist_for(self.request)
        if therapist is not None:
            return clinic_responses(clinic=therapist.clinic)
        patient = patient_for(self.request)
        if patient is not None:
            return own_responses(patient=patient)
        return InstrumentResponse.objects.none()

    def handle_exception(self, exc: Exception) -> Response:
        # Sending answers: every refusal names its rule's code (SEND_ERROR_SCHEMA).
        if getattr(self, "action", None) == "create":
            # Past the drafts' rate limit: 429 with Retry-After (portal.api.exceptions).
            if isinstance(exc, DomainError) and exc.code not in ("not_found", "rate_limited"):
                return _refusal(exc)
            response = super().handle_exception(exc)
            if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(response.data, dict):
                response.data["code"] = "invalid"
            return response
        return super().handle_exception(exc)

    @extend_schema(
        summary="Send (or keep as a draft) your answers to one of your due questionnaires (patients)",
        description=(
            "Checks the answers as the questionnaire page does, then saves them in one transaction: "
            "status completed (default) checks every required item and scores the response; draft "
            "keeps the answers so far to finish later (in the app or the API). A refusal writes "
            "nothing (an earlier draft stays as it was) and names the question as "
            "`answers.<linkId>` (or `schedule`) with the reason and the rule's `code`. 201 when the "
            "response is new, 200 when it completed or replaced your draft; a questionnaire already "
            "sent is 409 (code already_completed), never a second response."
        ),
        request=ResponseSendSerializer,
        responses={
            201: OpenApiResponse(InstrumentResponseSerializer, description="Saved (a new response)."),
            200: OpenApiResponse(
                InstrumentResponseSerializer, description="Your draft, completed or replaced."
            ),
            400: OpenApiResponse(
                SEND_ERROR_SCHEMA,
                description=(
                    "An answer out of range, not a number or not text, a required question left out, "
                    "an unknown linkId, a rating without its activity (PSFS), a questionnaire outside "
                    "its window (code not_due), or a body of the wrong shape (code invalid)."
                ),
            ),
            401: UNAUTHENTICATED,
            403: OpenApiResponse(ErrorSerializer, description="Not a patient, or the CSRF check failed."),
            404: OpenApiResponse(
                NOT_FOUND.response, description="No such questionnaire on your active plan."
            ),
            409: OpenApiResponse(SEND_ERROR_SCHEMA, description="Already sent (code already_completed)."),
            429: RATE_LIMITED,
        },
    )
    def create(self, request: Request) -> Response:
        """Validate the body, send or keep the signed-in patient's answers, answer with the response.

        Errors: 403 for a user who is not a patient; 404 for a schedule entry that is not on their
        active plan (or whose instrument is not loaded); 400/409 with ``SEND_ERROR_SCHEMA``.
        """
        patient = patient_for(request)
        if patient is None:
            raise exceptions.PermissionDenied("Only a patient can answer a questionnaire, for themselves.")
        data = ResponseSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule_id = data.validated_data["schedule"]
        existed = own_responses(patient=patient).filter(schedule_id=schedule_id).exists()
        save = (
            response_submit
            if data.validated_data["status"] == ResponseStatus.COMPLETED
            else response_save_draft
        )
        saved = save(
            patient=patient,
            schedule_id=schedule_id,
            answers=data.validated_data["answers"],
            ip=client_ip(request),
        )
        return Response(
            self.get_serializer(saved).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="A questionnaire response as FHIR R4: a Bundle of its QuestionnaireResponse and Observation",
        description=(
            "A FHIR R4 Bundle (type collection, `application/fhir+json`): the QuestionnaireResponse "
            "(the instrument's canonical URL and version, the patient, when it was sent, each answered "
            "question) and, for a sent response with a score, an Observation of the score (LOINC where "
            "the instrument names one) derived from it. Same access as the response itself."
        ),
        # DRF's ?format= suffix is not offered (StrictQueryParamsMixin refuses it): the Accept header chooses.
        parameters=[OpenApiParameter("format", exclude=True)],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 Bundle."),
            **read_errors(),
        },
    )
    @action(detail=True, methods=["get"], url_path="fhir", renderer_classes=[FhirJsonRenderer, JSONRenderer])
    def fhir(self, request: Request, pk: str | None = None) -> Response:
        response = cast(InstrumentResponse, self.get_object())
        return Response(response_bundle(response))
