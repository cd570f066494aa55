"""Messages through the API: the patient's own conversation, and a patient's for therapists of their clinic.

The same rules as the pages (``conversations.services.message_send``): text of 1 to
2,000 characters after trimming, no NUL characters; a 429 with Retry-After past the rate
limit. A send needs an ``Idempotency-Key`` header (400 naming it when missing): a repeated
send with the same key returns the stored message (200) instead of storing it twice (201), so
a client retrying after a lost answer never sends twice. Listing a conversation reads it: the reader's
unread count drops and the audit trail has the read. Anyone else's conversation is 404.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import patient_for, therapist_for, user_of
from accounts.selectors import patient_for_clinic
from audit.services import audit_read
from conversations.models import MESSAGE_MAX_LENGTH, Conversation, Message
from conversations.services import conversation_for, conversation_read, message_send
from portal.access import client_ip
from portal.api.common import (
    INVALID,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHENTICATED,
    Pagination,
    StrictQueryParamsMixin,
    StrictSerializer,
    parse_id,
)
from portal.errors import DomainError


class MessageSerializer(serializers.ModelSerializer[Message]):
    sender_name = serializers.SerializerMethodField(help_text="The sender's name as the pages show it.")
    from_patient = serializers.SerializerMethodField(
        help_text="True for the patient's own messages, false for the care team's."
    )

    class Meta:
        model = Message
        fields = ["id", "sender", "sender_name", "from_patient", "body", "created_at"]
        read_only_fields = fields

    def get_sender_name(self, obj: Message) -> str:
        return obj.sender.full_name or obj.sender.email

    def get_from_patient(self, obj: Message) -> bool:
        return obj.sender_id == obj.conversation.patient.user_id


class MessageCreateSerializer(StrictSerializer):
    body = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"The text: 1 to {MESSAGE_MAX_LENGTH:,} characters after trimming; no NUL characters.",
    )


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "Required: 1 to 64 of A-Z a-z 0-9 - _ . : chosen by the client for this message (a UUID "
        "will do); sent again (a retry), the stored message comes back with 200 and nothing is "
        'stored twice. Missing: 400 `{"Idempotency-Key": [reason]}`.'
    ),
)

#: The header a send must carry, and the refusal without it.
KEY_HEADER = "Idempotency-Key"
KEY_MISSING = (
    "Send an Idempotency-Key header: 1 to 64 letters, digits or - _ . : chosen for this message, "
    "the same on a retry, so a message is never stored twice."
)

MISSING = OpenApiResponse(NOT_FOUND.response, description="No such conversation for you (never 403).")


ConversationLookup = Callable[[Request, Mapping[str, Any]], Conversation]
"""Finds a request's conversation from the request and the URL's keyword arguments; raises
NotFound (404) for anyone not in it."""


def own_conversation(request: Request, url_kwargs: Mapping[str, Any]) -> Conversation:
    """The signed-in patient's conversation with their care team.

    ``url_kwargs`` is unused (the route has none). Raises NotFound for anyone who is not a patient.
    """
    patient = patient_for(request)
    if patient is None:
        raise NotFound("No such conversation.")
    return conversation_for(patient=patient)


def clinic_patient_conversation(request: Request, url_kwargs: Mapping[str, Any]) -> Conversation:
    """The conversation of the patient ``url_kwargs["patient_id"]`` (a string from the path), for a
    therapist of that patient's clinic.

    Another clinic's patient, a malformed or unknown id, or a user who is not a therapist: the
    same NotFound, revealing nothing.
    """
    therapist = therapist_for(request)
    patient_id = parse_id(url_kwargs.get("patient_id", ""))
    if therapist is None or patient_id is None:
        raise NotFound("No such conversation.")
    try:
        patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    except Http404 as missing:
        raise NotFound("No such conversation.") from missing
    return conversation_for(patient=patient)


class _MessagesView(StrictQueryParamsMixin, ListAPIView[Message]):
    """A conversation's messages, newest first, and sending one.

    Each concrete view names its ``find_conversation`` (a ConversationLookup).
    """

    serializer_class = MessageSerializer
    pagination_class = Pagination
    find_conversation: ClassVar[ConversationLookup]
    _conversation: Conversation | None = None

    def conversation(self) -> Conversation:
        if self._conversation is None:
            # Looked up on the class: a plain function there is not bound to the view.
            self._conversation = type(self).find_conversation(self.request, self.kwargs)
        return self._conversation

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the view for the schema
            return Message.objects.none()
        conversation = self.conversation()
        return conversation.messages.select_related("sender", "conversation__patient").order_by("-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        conversation_read(
            conversation=self.conversation(), user=user_of(request), via="api", ip=client_ip(request)
        )
        return response

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        if page is not None:
            audit_read(page)
        return page

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A URL naming a patient is a 404 for one not the user's before anything else (tenancy);
        # /me/messages/ names none, so there the missing key is the answer (400), for anyone.
        if self.kwargs:
            self.conversation()
        key = request.headers.get(KEY_HEADER, "")
        if not key.strip():
            raise DomainError(KEY_MISSING, field=KEY_HEADER, code="required")
        conversation = self.conversation()
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message, created = message_send(
            conversation=conversation,
            sender=user_of(request),
            body=serializer.validated_data["body"],
            idempotency_key=key,
            ip=client_ip(request),
        )
        message.conversation = conversation
        return Response(
            MessageSerializer(message).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


POST_RESPONSES: dict[int, Any] = {
    201: MessageSerializer,
    200: OpenApiResponse(
        MessageSerializer, description="Sent before with this Idempotency-Key: stored once."
    ),
    400: OpenApiResponse(
        INVALID.response,
        description=(
            "Invalid input: `body` empty, over 2,000 characters or not text; the Idempotency-Key "
            "header missing (`Idempotency-Key`) or malformed (`idempotency_key`)."
        ),
    ),
    401: UNAUTHENTICATED,
    404: MISSING,
    429: RATE_LIMITED,
}


@extend_schema(tags=["messages"])
class MyMessagesView(_MessagesView):
    find_conversation = own_conversation

    @extend_schema(
        summary="The signed-in patient's messages with their care team, newest first (patients)",
        responses={200: MessageSerializer(many=True), 400: INVALID, 401: UNAUTHENTICATED, 404: MISSING},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Send a message to the care team (patients)",
        request=MessageCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses=POST_RESPONSES,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


PATIENT_ID = OpenApiParameter(
    "patient_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The patient's id."
)


@extend_schema(tags=["messages"], parameters=[PATIENT_ID])
class PatientMessagesView(_MessagesView):
    find_conversation = clinic_patient_conversation

    @extend_schema(
        summary="A patient's messages with the care team, newest first (therapists of the patient's clinic)",
        responses={200: MessageSerializer(many=True), 400: INVALID, 401: UNAUTHENTICATED, 404: MISSING},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Send a message to a patient (therapists of the patient's clinic)",
        request=MessageCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses=POST_RESPONSES,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)
