"""The attention page, and acknowledging an alert."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import therapist_of, therapist_required
from alerts.selectors import alert_for_clinic, attention_page
from alerts.services import alert_acknowledge
from portal.access import client_ip


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
    """Acknowledge an alert: HTMX swaps the alert in place; without JS, back to the page."""
    therapist = therapist_of(request)
    alert = alert_for_clinic(clinic=therapist.clinic, alert_id=alert_id)
    alert = alert_acknowledge(alert=alert, by=request.user, ip=client_ip(request))  # type: ignore[arg-type]
    if request.headers.get("HX-Request"):
        return render(request, "alerts/_alert.html", {"alert": alert, "focus_alert": True})
    messages.success(request, f"Alert acknowledged for {alert.patient.user.full_name}.")
    target = request.POST.get("next", "")
    # Only a path of this site: redirect() would read any other text as a URL name to reverse.
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return redirect("patient-record", patient_id=alert.patient_id)
    return HttpResponseRedirect(target)
