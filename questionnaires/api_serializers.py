"""The questionnaires API's serializers: instruments, a plan's schedule, responses, and a response sent."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.common import MAX_ID, StrictSerializer
from portal.api.fields import StrictIntegerField
from questionnaires.answers import FormItem, form_items
from questionnaires.models import Instrument, InstrumentResponse, McidKind, ResponseStatus
from questionnaires.scoping import OccasionStatus, ScheduledOccasion

#: Most items an answer set may name, and the longest linkId read (a definition's are short).
ANSWERS_MAX = 100
LINK_ID_MAX = 64

ANSWER_SCHEMA: dict[str, Any] = {
    "oneOf": [{"type": "integer"}, {"type": "string"}],
    "nullable": True,
    "description": "A scored item's whole number (a choice's ordinal value), a text item's words, or null.",
}


class InstrumentSerializer(serializers.ModelSerializer[Instrument]):
    shared = serializers.SerializerMethodField(
        help_text="True for a shared instrument shipped with Plinth, false for the clinic's own licensed one."
    )
    mcid_kind = serializers.ChoiceField(
        choices=McidKind.choices,
        allow_blank=True,
        read_only=True,
        help_text="What the MCID is measured in; empty when the instrument has no MCID.",
    )
    definition = serializers.JSONField(
        read_only=True, help_text="The FHIR R4 Questionnaire as loaded, with Plinth's scoring extension."
    )

    class Meta:
        model = Instrument
        fields = [
            "id",
            "code",
            "title",
            "version",
            "url",
            "shared",
            "method",
            "score_min",
            "score_max",
            "better",
            "mcid",
            "mcid_kind",
            "min_answered",
            "loinc",
            "definition",
        ]
        read_only_fields = fields

    def get_shared(self, instrument: Instrument) -> bool:
        return instrument.clinic_id is None


class InstrumentBriefSerializer(serializers.ModelSerializer[Instrument]):
    class Meta:
        model = Instrument
        fields = ["id", "code", "title", "version"]
        read_only_fields = fields


class ScheduledOccasionSerializer(serializers.Serializer[ScheduledOccasion]):
    schedule = serializers.IntegerField(
        source="entry.pk", help_text="The schedule entry's id: send it with the answers."
    )
    occasion = serializers.CharField(source="entry.occasion", help_text='e.g. "intake", "week 6".')
    instrument_code = serializers.CharField(source="entry.instrument_code")
    instrument = InstrumentBriefSerializer(
        allow_null=True, help_text="The instrument it uses; null when none of that code is loaded."
    )
    opens_day = serializers.IntegerField(source="entry.opens_day", help_text="Plan day (0: the start date).")
    closes_day = serializers.IntegerField(source="entry.closes_day")
    opens_on = serializers.DateField(help_text="First day of the window, the patient's local date.")
    closes_on = serializers.DateField(help_text="Last day of the window, the patient's local date.")
    status = serializers.ChoiceField(
        choices=list(OccasionStatus.ALL),
        help_text=(
            "On the patient's local date today: not_due (window not open yet), due (open, not begun), "
            "draft (open, begun and kept), completed (sent), missed (not sent and the window closed, "
            "or the plan ended)."
        ),
    )
    response = serializers.IntegerField(
        source="response.pk", allow_null=True, help_text="The response's id, null when not begun."
    )
    score = serializers.FloatField(source="response.score", allow_null=True)


class ResponseItemSerializer(serializers.Serializer[dict[str, Any]]):
    link_id = serializers.CharField()
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "integer", "choice"])
    answer = serializers.SerializerMethodField()
    display = serializers.CharField(allow_null=True, help_text="A choice's words; null otherwise.")

    @extend_schema_field(ANSWER_SCHEMA)
    def get_answer(self, item: dict[str, Any]) -> Any:
        return item["answer"]


def _items(instrument: Instrument, answers: dict[str, Any], cache: dict[int, list[FormItem]]) -> list[Any]:
    if instrument.pk not in cache:
        cache[instrument.pk] = [item for item in form_items(instrument) if item.kind != "display"]
    rows = []
    for item in cache[instrument.pk]:
        value = answers.get(item.link_id)
        words = dict(item.options).get(value) if item.kind == "choice" and isinstance(value, int) else None
        rows.append(
            {"link_id": item.link_id, "text": item.text, "kind": item.kind, "answer": value, "display": words}
        )
    return rows


class InstrumentResponseSerializer(serializers.ModelSerializer[InstrumentResponse]):
    instrument_code = serializers.CharField(source="instrument.code", read_only=True)
    instrument_title = serializers.CharField(source="instrument.title", read_only=True)
    items = serializers.SerializerMethodField(
        help_text="Every question in the definition's order with its answer (null: skipped or not yet)."
    )
    answers = serializers.SerializerMethodField(help_text="linkId to answer, as sent.")
    score = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="The instrument's score (null for a draft, or too few items answered to score).",
    )

    class Meta:
        model = InstrumentResponse
        fields = [
            "id",
            "patient",
            "plan",
            "schedule",
            "instrument",
            "instrument_code",
            "instrument_title",
            "occasion",
            "opens_on",
            "closes_on",
            "status",
            "score",
            "answered",
            "skipped",
            "items",
            "answers",
            "started_at",
            "completed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ResponseItemSerializer(many=True))
    def get_items(self, response: InstrumentResponse) -> list[Any]:
        # One parse of each instrument's definition per list, not per response.
        if not hasattr(self, "_form_items"):
            self._form_items: dict[int, list[FormItem]] = {}
        return _items(response.instrument, response.answers, self._form_items)

    @extend_schema_field({"type": "object", "additionalProperties": ANSWER_SCHEMA})
    def get_answers(self, response: InstrumentResponse) -> dict[str, Any]:
        return dict(response.answers)


@extend_schema_field({"type": "object", "additionalProperties": ANSWER_SCHEMA})
class AnswersField(serializers.JSONField):
    """A JSON object of linkId to answer; each answer is checked by the service, which names its item."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object of linkId to answer.")
        if len(data) > ANSWERS_MAX:
            raise serializers.ValidationError(f"At most {ANSWERS_MAX} answers.")
        if any(len(key) > LINK_ID_MAX for key in data):
            raise serializers.ValidationError(f"A linkId has at most {LINK_ID_MAX} characters.")
        return data


class ResponseSendSerializer(StrictSerializer):
    schedule = StrictIntegerField(
        min_value=1,
        max_value=MAX_ID,
        help_text="The schedule entry's id, from GET /api/v1/careplans/{plan_id}/questionnaires/.",
    )
    answers = AnswersField(
        help_text=(
            "linkId to answer: a whole number for a rating or a choice (its ordinal value), text for a "
            "free-text item (a PSFS activity); null or left out when not answered."
        )
    )
    status = serializers.ChoiceField(
        choices=[ResponseStatus.COMPLETED.value, ResponseStatus.DRAFT.value],
        default=ResponseStatus.COMPLETED.value,
        help_text=(
            "completed (default): send it, checked in full and scored; draft: keep the answers so far "
            "to finish later (required items may be missing)."
        ),
    )
