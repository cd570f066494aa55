"""Pages for check-ins: the patient's daily check-in, the therapist's patient record, alerts."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from patients.checkin_forms import RED_FLAG_QUESTIONS, CheckInForm
from patients.checkins import alert_acknowledge, checkin_submit
from patients.localday import DAY_CLOSED, DAY_IN_FUTURE, page_day
from patients.models import PainCheckIn
from patients.record import patient_record, patient_trend
from patients.selectors import active_plan_of, alert_for_clinic, checkin_on, patient_for_clinic
from portal.access import client_ip, patient_of, patient_required, therapist_of, therapist_required
from portal.errors import DomainError, RateLimited
from portal.limits import too_many_requests


def _day_words(day: date, today: date) -> str:
    return "today" if day == today else f"for {day:%A %-d %B}"


@patient_required
@require_http_methods(["GET", "POST"])
def checkin(request: HttpRequest) -> HttpResponse:
    """The check-in of one local day: today, or (``?day=``, as the reminder links it) yesterday
    while its grace period lasts. Sending it again for the same day replaces the earlier answer.

    The form carries the day it was rendered for. Sent after that day closed, it is
    not moved silently: the page comes back with the answers kept, saying the day
    has changed, and offers to record them for today.
    """
    patient = patient_of(request)
    plan = active_plan_of(patient=patient)
    today = patient.local_today()
    day = page_day(patient=patient, requested=request.GET.get("day"))
    status = 200
    day_changed = ""
    if request.method == "POST":
        form = CheckInForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            day = data["local_date"] or today
            existing = checkin_on(patient=patient, day=day)
            try:
                checkin, replaced = checkin_submit(
                    patient=patient,
                    nprs=data["nprs"],
                    side=data["side"],
                    flag_leg_weakness=data["flag_leg_weakness"],
                    flag_bladder_bowel=data["flag_bladder_bowel"],
                    flag_fever=data["flag_fever"],
                    flag_weight_loss=data["flag_weight_loss"],
                    note=data["note"],
                    local_date=data["local_date"],
                    ip=client_ip(request),
                )
            except RateLimited as error:
                return too_many_requests(request, error.retry_after, "checkin")
            except DomainError as error:
                if error.code in (DAY_CLOSED, DAY_IN_FUTURE):
                    # Asked, never moved: the same answers, now offered for today.
                    day_changed = error.message
                    day = today
                    form = CheckInForm({**request.POST.dict(), "local_date": today.isoformat()})
                    form.is_valid()
                else:
                    form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                if replaced and existing is not None:
                    messages.success(
                        request,
                        f"Saved. This replaces the check-in you sent earlier {_day_words(day, today)} "
                        f"(pain was {existing.nprs} out of 10).",
                    )
                else:
                    messages.success(request, "Thank you, your check-in is saved.")
                return redirect(reverse("checkin-done") + f"?day={checkin.local_date.isoformat()}")
        status = 400
        if not day_changed and form.is_bound and not form.errors.get("local_date"):
            day = form.cleaned_data.get("local_date") or day
        existing = checkin_on(patient=patient, day=day)
    else:
        existing = checkin_on(patient=patient, day=day)
        initial: dict[str, object] = {"local_date": day.isoformat()}
        if existing is not None:
            initial |= {
                "nprs": str(existing.nprs),
                "side": existing.side,
                "note": existing.note,
                **{name: "yes" if getattr(existing, name) else "no" for name in RED_FLAG_QUESTIONS},
            }
        else:
            last = PainCheckIn.objects.filter(patient=patient).order_by("-local_date").only("side").first()
            if last is not None:
                initial["side"] = last.side
        form = CheckInForm(initial=initial)
    return render(
        request,
        "patients/checkin.html",
        {
            "form": form,
            "plan": plan,
            "existing": existing,
            "today": today,
            "day": day,
            "day_words": _day_words(day, today),
            "day_changed": day_changed,
        },
        status=status,
    )


@patient_required
def checkin_done(request: HttpRequest) -> HttpResponse:
    """After a check-in: red-flag guidance when needed, and the recent trend (of ``?day=``, or today)."""
    patient = patient_of(request)
    today = patient.local_today()
    day = page_day(patient=patient, requested=request.GET.get("day"))
    saved = checkin_on(patient=patient, day=day)
    if saved is None:
        return redirect("checkin")
    return render(
        request,
        "patients/checkin_done.html",
        {"checkin": saved, "trend": patient_trend(patient=patient, today=today), "today": today},
    )


@therapist_required
def patient_record_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """One patient's record. Every opening is written to the audit trail."""
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    record = patient_record(patient=patient, page=request.GET.get("page"))
    return render(request, "patients/record.html", {"record": record, "patient": patient})


@therapist_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Acknowledge an alert: HTMX swaps the alert in place; without JS, back to the page."""
    therapist = therapist_of(request)
    alert = alert_for_clinic(clinic=therapist.clinic, alert_id=alert_id)
    alert = alert_acknowledge(alert=alert, by=request.user, ip=client_ip(request))  # type: ignore[arg-type]
    if request.headers.get("HX-Request"):
        return render(request, "patients/_alert.html", {"alert": alert})
    messages.success(request, f"Alert acknowledged for {alert.patient.user.full_name}.")
    target = request.POST.get("next", "")
    # Only a path of this site: redirect() would read any other text as a URL name to reverse.
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return redirect("patient-record", patient_id=alert.patient_id)
    return HttpResponseRedirect(target)
