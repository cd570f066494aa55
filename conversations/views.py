"""Message pages: the patient's conversation, the therapist's inbox and a patient's conversation.

The send box is a plain form (it works without JavaScript): a message sent goes back to
the page (POST, redirect, GET); a refused one shows the page again with the reason
beside the box and the text as typed (400, or 429 past the rate limit with
Retry-After). The thread polls with HTMX; a poll with nothing new answers 204.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import login_next, patient_of, patient_required, therapist_of, therapist_required
from accounts.models import Patient, User
from accounts.selectors import patient_for_clinic
from checkins.redflags import ACTIONS, HEADINGS, RED_FLAGS, Urgency
from conversations.forms import KEY_MISSING, NUL_IN_MESSAGE, MessageForm, new_key
from conversations.models import Conversation
from conversations.selectors import conversation_thread, inbox, unread_count
from conversations.services import (
    conversation_for,
    conversation_read,
    conversation_reply_close,
    message_emails_update,
    message_send,
)
from portal.access import client_ip
from portal.errors import DomainError, RateLimited
from portal.input_guard import nul_removed
from portal.pages import form_error, is_htmx, redirect_back


def urgent_guidance() -> list[dict[str, Any]]:
    """The check-in's red-flag guidance as a standing reminder: per urgency its heading, the
    flags that call for it and its one instruction (checkins.redflags, the same words)."""
    return [
        {
            "urgency": urgency,
            "heading": HEADINGS[urgency],
            "action": ACTIONS[urgency],
            "flags": [flag for flag in RED_FLAGS if flag.urgency is urgency],
        }
        for urgency in Urgency
    ]


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _after(request: HttpRequest) -> int:
    value = request.GET.get("after", "")
    return int(value) if value.isdigit() and len(value) < 19 else 0


def _send(
    request: HttpRequest, conversation: Conversation, user: User
) -> tuple[MessageForm, int, int | None]:
    """Handle a POST of the send box: (form, status, retry_after); status 0 when the message is stored
    (or was already: a repeated key), else 400 or 429 with the reason on the form and the text kept.
    A post without its idempotency key (the form always carries one) stores nothing: the form
    comes back with the text, a fresh key and the reason, so a second press sends it once. A
    message from which the input guard removed NUL characters (``portal.input_guard``) is not
    sent either: the form comes back with the rest of the text to check."""
    form = MessageForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    if "body" in nul_removed(request):
        # A message reaches another person: the text, NULs removed, is shown again to check.
        form.add_error("body", NUL_IN_MESSAGE)
        return form, 400, None
    if not str(data.get("idempotency_key", "")).strip():
        posted = request.POST.copy()
        posted["idempotency_key"] = new_key()
        form = MessageForm(posted)
        form.is_valid()
        form.add_error(None, KEY_MISSING)
        return form, 400, None
    try:
        message_send(
            conversation=conversation,
            sender=user,
            body=data.get("body", ""),
            idempotency_key=data.get("idempotency_key", ""),
            ip=client_ip(request),
        )
    except RateLimited as error:
        form_error(form, error)
        return form, 429, error.retry_after
    except DomainError as error:
        form_error(form, error)
        return form, 400, None
    return form, 0, None


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int, retry_after: int | None = None
) -> HttpResponse:
    response = render(request, template, context, status=status or 200)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# --- the patient ------------------------------------------------------------------------


@patient_required
@require_http_methods(["GET", "POST"])
def patient_messages(request: HttpRequest) -> HttpResponse:
    """The patient's conversation with their care team, newest at the bottom, and the send box."""
    patient = patient_of(request)
    conversation = conversation_for(patient=patient)
    form = MessageForm()
    status = 200
    retry_after: int | None = None
    if request.method == "POST":
        form, status, retry_after = _send(request, conversation, patient.user)
        if not status:
            return redirect(f"{reverse('messages')}#latest")
    before = _before(request)
    thread = conversation_thread(conversation=conversation, reader=patient.user, before=before)
    if before is None:
        conversation_read(conversation=conversation, user=patient.user, via="page", ip=client_ip(request))
    return _page(
        request,
        "conversations/patient_messages.html",
        {
            "patient": patient,
            "thread": thread,
            "form": form,
            "guidance": urgent_guidance(),
            "poll_url": None if before is not None else reverse("messages-thread"),
            "send_url": reverse("messages"),
            "paged": before is not None,
        },
        status,
        retry_after,
    )


def _poll(
    request: HttpRequest, conversation: Conversation, user: User, poll_url: str, zone: str
) -> HttpResponse:
    """A poll of the thread: 204 with nothing new after ``?after=``, else the thread (marked read)."""
    latest = conversation.messages.order_by("-id").values_list("id", flat=True).first() or 0
    if latest <= _after(request):
        conversation_read(conversation=conversation, user=user, via="poll", ip=client_ip(request))
        return HttpResponse(status=204)
    thread = conversation_thread(conversation=conversation, reader=user)
    conversation_read(conversation=conversation, user=user, via="poll", ip=client_ip(request))
    return render(
        request,
        "conversations/_poll.html",
        {"thread": thread, "poll_url": poll_url, "zone": zone, "unread_total": unread_count(user=user)},
    )


@patient_required
@require_GET
def patient_thread(request: HttpRequest) -> HttpResponse:
    """The patient's thread for HTMX polling (and the nav's unread count, out of band)."""
    patient = patient_of(request)
    conversation = conversation_for(patient=patient)
    return _poll(request, conversation, patient.user, reverse("messages-thread"), patient.timezone)


@require_GET
def unread_badge(request: HttpRequest) -> HttpResponse:
    """The navigation's unread count for the signed-in patient or therapist (HTMX, polled)."""
    if not request.user.is_authenticated:
        return redirect_to_login(login_next(request))
    user: Any = request.user
    if getattr(user, "patient", None) is None and getattr(user, "therapist", None) is None:
        raise Http404
    return render(request, "conversations/_unread_badge.html", {"unread_total": unread_count(user=user)})


@patient_required
@require_POST
def message_emails(request: HttpRequest) -> HttpResponse:
    """The patient's switch for message emails (shown on Settings); back to Settings."""
    patient = patient_of(request)
    enabled = request.POST.get("message_emails") == "on"
    message_emails_update(patient=patient, enabled=enabled, by=patient.user, ip=client_ip(request))
    flash.success(
        request,
        "We will email you when your care team writes." if enabled else "Message emails are switched off.",
    )
    return redirect_back(request, reverse("patient-settings"))


# --- the therapist ----------------------------------------------------------------------


@therapist_required
@require_GET
def inbox_page(request: HttpRequest) -> HttpResponse:
    """The clinic's conversations for this therapist: unread first, then those needing a reply."""
    return _inbox(request, "conversations/inbox.html")


@therapist_required
@require_GET
def inbox_list(request: HttpRequest) -> HttpResponse:
    """The inbox's list alone (``?page=``), for the inbox page's HTMX polling."""
    return _inbox(request, "conversations/_inbox_list.html")


def _inbox(request: HttpRequest, template: str) -> HttpResponse:
    therapist = therapist_of(request)
    found = inbox(user=therapist.user, clinic=therapist.clinic, page=request.GET.get("page"))
    return render(request, template, {"page": found, "clinic": therapist.clinic})


def _their_conversation(request: HttpRequest, patient_id: int) -> tuple[Patient, Conversation, User]:
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    return patient, conversation_for(patient=patient), therapist.user


@therapist_required
@require_http_methods(["GET", "POST"])
def patient_conversation(request: HttpRequest, patient_id: int) -> HttpResponse:
    """One patient's conversation for a therapist of their clinic (404 for anyone else's)."""
    patient, conversation, user = _their_conversation(request, patient_id)
    form = MessageForm()
    status = 200
    retry_after: int | None = None
    if request.method == "POST":
        form, status, retry_after = _send(request, conversation, user)
        if not status:
            return redirect_back(request, f"{reverse('patient-conversation', args=[patient.pk])}#latest")
    before = _before(request)
    thread = conversation_thread(conversation=conversation, reader=user, before=before)
    if before is None:
        conversation_read(conversation=conversation, user=user, via="page", ip=client_ip(request))
    return _page(
        request,
        "conversations/therapist_conversation.html",
        {
            "patient": patient,
            "thread": thread,
            "form": form,
            "poll_url": None
            if before is not None
            else reverse("patient-conversation-thread", args=[patient.pk]),
            "send_url": reverse("patient-conversation", args=[patient.pk]),
            "paged": before is not None,
        },
        status,
        retry_after,
    )


@therapist_required
@require_GET
def patient_conversation_thread(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A patient's thread for a therapist's HTMX polling."""
    patient, conversation, user = _their_conversation(request, patient_id)
    url = reverse("patient-conversation-thread", args=[patient.pk])
    return _poll(request, conversation, user, url, patient.clinic.timezone)


@therapist_required
@require_POST
def patient_conversation_close(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Close "needs a reply"; back to the conversation (or the form's ``next``)."""
    patient, conversation, user = _their_conversation(request, patient_id)
    if conversation_reply_close(conversation=conversation, by=user, ip=client_ip(request)):
        flash.success(request, f"{patient.user.get_short_name()}'s conversation no longer needs a reply.")
    if is_htmx(request):
        return HttpResponse(status=204)
    return redirect_back(request, reverse("patient-conversation", args=[patient.pk]))
