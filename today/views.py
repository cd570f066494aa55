"""The patient's pages: today's exercises and marks, the daily check-in, and their data download."""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import patient_of, patient_required
from accounts.limits import too_many_requests
from accounts.localday import (
    CORRECTION_DAYS,
    DAY_CLOSED,
    DAY_IN_FUTURE,
    correction_open,
    corrections_since,
    page_day,
)
from audit.services import audit_log
from careplans.selectors import active_plan_of
from careplans.sessions import exercise_session_mark
from checkins.models import PainCheckIn
from checkins.redflags import red_flag_guidance
from checkins.selectors import checkin_of, checkin_on, recent_checkins
from checkins.trend import patient_trend
from portal.access import client_ip
from portal.errors import DomainError, RateLimited
from portal.pages import form_error, is_htmx
from today.corrections import CORRECTABLE_FIELDS, checkin_correct, too_old
from today.export import patient_export
from today.forms import RED_FLAG_QUESTIONS, CheckInCorrectionForm, CheckInForm, SessionMarkForm
from today.selectors import today_entry, today_for
from today.services import checkin_submit

# --- patient -------------------------------------------------------------------


@patient_required
def today(request: HttpRequest) -> HttpResponse:
    return render(request, "today/today.html", {"day": today_for(patient=patient_of(request))})


@patient_required
@require_POST
def today_mark(request: HttpRequest, plan_exercise_id: int) -> HttpResponse:
    """One tap marks one prescribed session of an exercise done (or undoes it); a plain form post
    works without JS. The form names the session (1 for the first of the day) and the day."""
    patient = patient_of(request)
    form = SessionMarkForm(request.POST)
    error = notice = ""
    session = 1
    if not form.is_valid():
        error = "Tap the button again to mark the exercise."
    else:
        day = form.cleaned_data["local_date"]
        session = form.cleaned_data["session"] or 1
        try:
            exercise_session_mark(
                patient=patient,
                plan_exercise_id=plan_exercise_id,
                done=form.cleaned_data["done"],
                session=session,
                local_date=day,
                ip=client_ip(request),
            )
        except DomainError as exc:
            if exc.code == "not_found":
                raise Http404("No such exercise in your plan") from exc
            # A page from a day that has closed: the answer is not moved to today; the
            # page now shows today, and the patient taps again to record it there.
            error = exc.message
        else:
            if day is not None and day != patient.local_today():
                notice = f"Saved for {day:%A %-d %B}, the day this page was opened for."
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return redirect(reverse("today") + f"#plan-exercise-{plan_exercise_id}")
    day_view, entry = today_entry(patient=patient, plan_exercise_id=plan_exercise_id)
    if entry is None:
        # In the plan but not today's: its phase ended at midnight after the page was drawn
        # (issue 17). The window draws the page again, for the phase now, saying what happened.
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        redraw = HttpResponse(status=204)
        redraw["HX-Redirect"] = reverse("today")
        return redraw
    return render(
        request,
        "today/_today_mark.html",
        {
            "day": day_view,
            "entry": entry,
            "error": error,
            "notice": notice,
            "focus_mark": True,
            # The focus goes back to the session that was tapped (the first if it no longer exists).
            "focus_session": session if session <= entry.plan_exercise.sessions_per_day else 1,
        },
    )


@patient_required
@require_GET
def data_export(request: HttpRequest) -> HttpResponse:
    """The patient's own data as a JSON download, the same document as /api/v1/me/export/."""
    patient = patient_of(request)
    audit_log(
        action="patient.exported",
        actor=request.user,
        obj=patient,
        ip=client_ip(request),
        data={"via": "page"},
    )
    body = json.dumps(patient_export(patient=patient), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plinth-my-data-{date.today():%Y-%m-%d}.json"'
    return response


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
        "today/checkin.html",
        {
            "form": form,
            "plan": plan,
            "existing": existing,
            "today": today,
            "day": day,
            "day_words": _day_words(day, today),
            "day_changed": day_changed,
            "recent": recent_checkins(patient=patient),
            "correct_since": corrections_since(patient=patient),
            "correction_days": CORRECTION_DAYS,
        },
        status=status,
    )


@patient_required
def checkin_done(request: HttpRequest) -> HttpResponse:
    """After a check-in: red-flag guidance when needed (checkins.redflags, with the clinic's
    contact details), and the recent trend (of ``?day=``, or today)."""
    patient = patient_of(request)
    today = patient.local_today()
    day = page_day(patient=patient, requested=request.GET.get("day"))
    saved = checkin_on(patient=patient, day=day)
    if saved is None:
        return redirect("checkin")
    return render(
        request,
        "today/checkin_done.html",
        {
            "checkin": saved,
            "guidance": red_flag_guidance(saved),
            "clinic": patient.clinic,
            "trend": patient_trend(patient=patient, today=today),
            "today": today,
        },
    )


# --- correcting a recent check-in ------------------------------------------------------


@patient_required
@require_http_methods(["GET", "POST"])
def checkin_correct_page(request: HttpRequest, checkin_id: int) -> HttpResponse:
    """Correct one of the patient's check-ins of the last ``CORRECTION_DAYS`` (3) local days.

    An older one is shown read-only, and a correction sent for it is refused (400, with
    the reason). Another patient's check-in is a 404.
    """
    patient = patient_of(request)
    checkin = checkin_of(patient=patient, checkin_id=checkin_id)
    editable = correction_open(patient=patient, day=checkin.local_date)
    status = 200
    if request.method == "POST":
        form = CheckInCorrectionForm(request.POST)
        if not editable:
            form.add_error(None, too_old(checkin, patient=patient).message)
        elif form.is_valid():
            changes = {name: form.cleaned_data[name] for name in CORRECTABLE_FIELDS}
            try:
                checkin, changed = checkin_correct(
                    patient=patient, checkin_id=checkin.pk, changes=changes, ip=client_ip(request)
                )
            except RateLimited as error:
                return too_many_requests(request, error.retry_after, "checkin")
            except DomainError as error:
                form_error(form, error)
            else:
                day = f"{checkin.local_date:%A %-d %B}"
                messages.success(
                    request,
                    f"Your check-in of {day} is corrected; your therapist sees that you changed it."
                    if changed
                    else f"Nothing changed in your check-in of {day}.",
                )
                return redirect(reverse("checkin") + "#recent-checkins")
        status = 400
    else:
        form = CheckInCorrectionForm(initial=CheckInCorrectionForm.initial_of(checkin))
    context = {"form": form, "checkin": checkin, "editable": editable, "days": CORRECTION_DAYS}
    return render(request, "today/checkin_correct.html", context, status=status)
