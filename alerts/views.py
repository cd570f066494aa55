"""The attention page, and acknowledging an alert (with an optional note of what was done)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import therapist_of, therapist_required
from accounts.models import User
from alerts.forms import AlertAcknowledgeForm
from alerts.selectors import alert_for_clinic, attention_counts, attention_page, open_alert_count
from alerts.services import alert_acknowledge
from portal.access import client_ip
from portal.errors import DomainError
from portal.pages import form_error, is_htmx, redirect_back


@therapist_required
def attention(request: HttpRequest) -> HttpResponse:
    """Everyone who needs attention today, most urgent first, a page at a time (``?page=``)."""
    therapist = therapist_of(request)
    context = {
        "clinic": therapist.clinic,
        "attention": attention_page(clinic=therapist.clinic, page=request.GET.get("page")),
    }
    return render(request, "alerts/attention.html", context)


@therapist_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Acknowledge an alert, with an optional note of what was done.

    With HTMX the alert is swapped in place (the record's item, or the attention list's
    block) and its box's count with it (an out-of-band swap), without a reload; a refused
    note comes back with its reason on the field. Without JS, back to the page it was
    sent from, the outcome (or the reason) as a message.
    """
    therapist = therapist_of(request)
    alert = alert_for_clinic(clinic=therapist.clinic, alert_id=alert_id)
    form = AlertAcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            alert = alert_acknowledge(
                alert=alert,
                by=cast(User, request.user),
                note=form.cleaned_data["note"],
                ip=client_ip(request),
            )
        except DomainError as exc:
            form_error(form, exc)
    if not is_htmx(request):
        if form.errors:
            reasons = [str(error) for errors in form.errors.values() for error in errors]
            messages.error(request, "Not acknowledged: " + " ".join(reasons))
        else:
            messages.success(request, f"Alert acknowledged for {alert.patient.user.full_name}.")
        return redirect_back(request, reverse("patient-record", args=[alert.patient_id]))
    shown_on = "attention" if form.cleaned_data.get("shown_on") == "attention" else "record"
    context: dict[str, Any] = {
        "alert": alert,
        "form": form if form.errors else None,
        "focus_alert": not form.errors,
        "next_url": request.POST.get("next", ""),
        "shown_on": shown_on,
    }
    if shown_on == "attention":
        context["attention"] = attention_counts(clinic=therapist.clinic)
        return render(request, "alerts/_acknowledged_attention.html", context)
    context["open_count"] = open_alert_count(clinic=therapist.clinic, patient=alert.patient)
    return render(request, "alerts/_acknowledged_record.html", context)
