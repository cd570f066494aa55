"""Check-ins through the API: the patient posts today's, therapists read a patient's.

Validation is strict: NPRS is a JSON integer 0-10 (not 3.5, "7", "seven" or
true), red-flag answers are JSON booleans, unknown fields are refused. The day
is the optional ``local_date`` (ISO 8601), under the rule of
``accounts.localday``; other date keys are refused with the reason.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import patient_for
from accounts.localday import ANSWER_GRACE, CORRECTION_DAYS
from accounts.models import Patient
from audit.services import audit_log
from checkins.api import CheckInSerializer, CheckInStoredSerializer
from checkins.models import NPRS_MAX, NPRS_MIN, Side
from portal.access import client_ip
from portal.api.common import (
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHENTICATED,
    ErrorSerializer,
    StrictQueryParamsMixin,
    StrictSerializer,
    parse_id,
    read_errors,
)
from portal.api.fields import StrictBooleanField, StrictIntegerField
from today.corrections import checkin_correct
from today.export import patient_export
from today.forms import DATE_KEYS
from today.services import NOTE_MAX, checkin_submit

#: The grace period in whole hours, for the schema's words.
ANSWER_GRACE_HOURS = int(ANSWER_GRACE.total_seconds() // 3600)


# The page refuses a check-in until each red-flag question is answered (today.forms); the API
# keeps v1's documented default instead of refusing. A client that leaves a flag out has
# decided not to ask it (a pain-only logger, a device): refusing would make it send false,
# the same record, and would break every v1 client. What the schema owes such a client is
# the plain statement of what an omitted flag means.
RED_FLAG_OMITTED = (
    "The patient's own answer, true (yes) or false (no). Omitted: recorded as false, exactly as "
    "if the patient had answered no, so ask the patient the question before leaving it out."
)


class CheckInCreateSerializer(StrictSerializer):
    nprs = StrictIntegerField(
        min_value=NPRS_MIN,
        max_value=NPRS_MAX,
        help_text=(
            f"Pain right now on the {NPRS_MIN}-{NPRS_MAX} Numeric Pain Rating Scale (LOINC 72514-3), "
            "a whole number."
        ),
        error_messages={
            "required": f"Pain ({NPRS_MIN}-{NPRS_MAX}) is required.",
            "null": f"Pain ({NPRS_MIN}-{NPRS_MAX}) is required.",
            "min_value": f"Must be from {NPRS_MIN} to {NPRS_MAX}.",
            "max_value": f"Must be from {NPRS_MIN} to {NPRS_MAX}.",
        },
    )
    side = serializers.ChoiceField(
        choices=Side.choices,
        error_messages={"invalid_choice": f"Must be one of: {', '.join(Side.values)}."},
    )
    # Omitted flags stay "false", as v1 has always documented; see RED_FLAG_OMITTED.
    flag_leg_weakness = StrictBooleanField(
        default=False, help_text=f"New weakness in a leg. {RED_FLAG_OMITTED}"
    )
    flag_bladder_bowel = StrictBooleanField(
        default=False, help_text=f"Loss of bowel or bladder control. {RED_FLAG_OMITTED}"
    )
    flag_fever = StrictBooleanField(default=False, help_text=f"Fever. {RED_FLAG_OMITTED}")
    flag_weight_loss = StrictBooleanField(
        default=False, help_text=f"Unexplained weight loss. {RED_FLAG_OMITTED}"
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX, default="")
    local_date = serializers.DateField(
        required=False,
        input_formats=["iso-8601"],
        help_text=(
            "The patient's local date these answers are for, ISO 8601 (YYYY-MM-DD). Optional: "
            "without it, the patient's date (in their time zone) when the server receives the "
            f"check-in. Accepted: that date, or the day before until {ANSWER_GRACE_HOURS} hours "
            "after the patient's local midnight; never a future date, an older one, or a date "
            "before the plan starts (400 naming `local_date`)."
        ),
        error_messages={"invalid": "Must be a date in ISO 8601 format, YYYY-MM-DD (for example 2026-05-04)."},
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            sent = [key for key in DATE_KEYS if key in data]
            if sent:
                raise serializers.ValidationError(
                    {
                        key: [
                            "Refused: send the day the answers are for as local_date (ISO 8601, "
                            "YYYY-MM-DD); the time received is always the server's."
                        ]
                        for key in sent
                    }
                )
        return super().to_internal_value(data)


@extend_schema(
    tags=["check-ins"],
    summary="Submit a pain check-in for today (or, just after midnight, yesterday) (patients only)",
    description=(
        "Records the authenticated patient's check-in for `local_date` if given, else for their local "
        "date (their time zone) at the moment the server receives it. A form answered at 23:58 and "
        f"sent at 00:02 keeps its day: the day before is accepted until {ANSWER_GRACE_HOURS} hours after "
        "the patient's local midnight. A second check-in on the same local date replaces the first: "
        "the answer is 200 instead of 201, and the replaced values are kept in the audit trail. "
        "Any red-flag answer opens an alert for the therapist at once and emails them. A red flag "
        "left out of the body is recorded as false (no): ask the patient all four questions."
    ),
    request=CheckInCreateSerializer,
    responses={
        201: OpenApiResponse(CheckInStoredSerializer, description="Created."),
        200: OpenApiResponse(CheckInStoredSerializer, description="Replaced today's earlier check-in."),
        400: OpenApiResponse(
            INVALID.response,
            description=(
                "Invalid input (each field with its reasons): a `local_date` that is not ISO 8601, in "
                "the future, closed (before yesterday, or yesterday after the grace period) or before "
                "the plan starts; another date key (refused); an unknown field; or no active care "
                "plan (field `plan`)."
            ),
        ),
        401: UNAUTHENTICATED,
        403: OpenApiResponse(
            ErrorSerializer,
            description="Not a patient (therapists cannot check in for a patient), or the CSRF check failed.",
        ),
        429: RATE_LIMITED,
    },
)
class CheckInCreateView(APIView):
    def post(self, request: Request) -> Response:
        """Validate the answers, submit them for the signed-in patient, answer with the stored check-in.

        201 for the day's first check-in, 200 when it replaced an earlier one.
        Errors: 400 naming each invalid field; a broken rule (no active plan, plan
        not started, a closed day) is a 400 naming the field and too many check-ins
        a minute a 429 with Retry-After (both through portal.api.exceptions); 403 for
        a user who is not a patient.
        """
        patient: Patient | None = getattr(request.user, "patient", None)
        if patient is None:
            raise PermissionDenied(
                "Only a patient can submit a check-in, for themselves; "
                "a therapist cannot check in on a patient's behalf."
            )
        serializer = CheckInCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        checkin, replaced = checkin_submit(
            patient=patient, **serializer.validated_data, ip=client_ip(request)
        )
        return Response(
            CheckInStoredSerializer(checkin, context={"replaced": replaced}).data,
            status=status.HTTP_200_OK if replaced else status.HTTP_201_CREATED,
        )


class MeExportView(StrictQueryParamsMixin, APIView):
    @extend_schema(
        summary="Everything Plinth holds about the signed-in patient, as JSON (patients)",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="Profile, plans, check-ins, sessions, outcomes."
            ),
            **read_errors(),
        },
    )
    def get(self, request: Request) -> Response:
        patient = patient_for(request)
        if patient is None:
            raise Http404
        audit_log(
            action="patient.exported",
            actor=request.user,
            obj=patient,
            ip=client_ip(request),
            data={"via": "api"},
        )
        response = Response(patient_export(patient=patient))
        response["Content-Disposition"] = 'attachment; filename="plinth-my-data.json"'
        return response


# --- correcting a recent check-in ------------------------------------------------------


class CheckInCorrectSerializer(StrictSerializer):
    """The answers to change, each optional; the day of a check-in never moves."""

    nprs = StrictIntegerField(
        required=False,
        min_value=NPRS_MIN,
        max_value=NPRS_MAX,
        help_text=f"Pain on the {NPRS_MIN}-{NPRS_MAX} Numeric Pain Rating Scale (LOINC 72514-3).",
        error_messages={
            "null": f"Pain ({NPRS_MIN}-{NPRS_MAX}) cannot be empty.",
            "min_value": f"Must be from {NPRS_MIN} to {NPRS_MAX}.",
            "max_value": f"Must be from {NPRS_MIN} to {NPRS_MAX}.",
        },
    )
    side = serializers.ChoiceField(
        required=False,
        choices=Side.choices,
        error_messages={"invalid_choice": f"Must be one of: {', '.join(Side.values)}."},
    )
    flag_leg_weakness = StrictBooleanField(required=False, help_text="New weakness in a leg.")
    flag_bladder_bowel = StrictBooleanField(required=False, help_text="Loss of bowel or bladder control.")
    flag_fever = StrictBooleanField(required=False, help_text="Fever.")
    flag_weight_loss = StrictBooleanField(required=False, help_text="Unexplained weight loss.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            sent = [key for key in ("local_date", *DATE_KEYS) if key in data]
            if sent:
                raise serializers.ValidationError(
                    {key: ["The day of a check-in cannot be changed."] for key in sent}
                )
        return super().to_internal_value(data)


@extend_schema(
    tags=["check-ins"],
    summary=f"Correct one of your check-ins of the last {CORRECTION_DAYS} days (patients only)",
    description=(
        f"Changes the answers sent in the body and keeps the others. A check-in of the last "
        f"{CORRECTION_DAYS} local days (today and the {CORRECTION_DAYS - 1} days before, in the "
        "patient's time zone) can be corrected; an older one is read-only (400). The values before "
        "and after are kept in the audit trail, the check-in's `corrected_at` is set (therapists "
        "see it as edited), a red flag newly answered yes opens an alert at once, as on a new "
        "check-in, and the plan's outcome figures are recomputed. Answers equal to the stored ones "
        "change nothing. Another patient's check-in, or any caller who is not a patient, gets 404."
    ),
    parameters=[
        OpenApiParameter(
            "checkin_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The check-in's id."
        )
    ],
    request=CheckInCorrectSerializer,
    responses={
        200: OpenApiResponse(CheckInSerializer, description="The check-in, corrected (or unchanged)."),
        400: OpenApiResponse(
            INVALID.response,
            description=(
                "Invalid input (each field with its reasons), a date key (the day cannot move), an "
                "unknown field, or a check-in older than the correction window (non_field_errors)."
            ),
        ),
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        404: NOT_FOUND,
        429: RATE_LIMITED,
    },
)
class CheckInCorrectView(APIView):
    def patch(self, request: Request, checkin_id: str) -> Response:
        """Validate the changes, correct the signed-in patient's own check-in, answer with it.

        404 for a caller who is not a patient and for a check-in that is not theirs;
        400 naming each invalid field, or the window's refusal (checkin_too_old);
        429 past the check-in rate limit (through portal.api.exceptions).
        """
        patient: Patient | None = getattr(request.user, "patient", None)
        pk = parse_id(checkin_id)
        if patient is None or pk is None:
            raise NotFound("No such check-in.")
        serializer = CheckInCorrectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        checkin, _ = checkin_correct(
            patient=patient, checkin_id=pk, changes=dict(serializer.validated_data), ip=client_ip(request)
        )
        return Response(CheckInSerializer(checkin).data)
