"""Library pages: the filtered list of exercises, one exercise, and a clinic's own exercises
(written, copied from the shared library, edited and published by the clinic's therapists)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import therapist_of, therapist_required
from library.clinic_exercises import (
    CLINIC_EXERCISE_FIELDS,
    clinic_exercise_copy,
    clinic_exercise_create,
    clinic_exercise_discard,
    clinic_exercise_update,
)
from library.forms import ClinicExerciseForm, LibraryFilterForm
from library.media_views import exercise_form_page
from library.models import BodyRegion, Exercise, ExerciseStatus
from library.selectors import (
    LibraryFilters,
    exercise_progressions,
    exercise_visible_to,
    library_exercises,
    own_exercise,
)
from library.services import exercise_set_status
from portal.access import client_ip
from portal.errors import DomainError
from portal.pages import form_error

LIBRARY_PAGE_SIZE = 24


LIBRARY_FILTER_FIELDS = ("q", "region", "category", "equipment", "source")

#: What the exercise page's buttons may set on a clinic's own exercise, and what each says after.
STATUS_DONE = {
    ExerciseStatus.PUBLISHED: "is published: your clinic's therapists can now add it to plans.",
    ExerciseStatus.ARCHIVED: "is archived: plans that use it keep it; it is not offered for new plans.",
    ExerciseStatus.DRAFT: "is back to a draft: not offered for new plans until it is published again.",
}


@therapist_required
def library(request: HttpRequest) -> HttpResponse:
    clinic = therapist_of(request).clinic
    regions = list(BodyRegion.objects.all())
    form = LibraryFilterForm(request.GET or None, regions=regions)
    # A bad value in one filter (shown next to it) must not throw away the others.
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    filters = LibraryFilters(**{name: cleaned[name] for name in LIBRARY_FILTER_FIELDS if cleaned.get(name)})
    exercises = library_exercises(filters=filters, clinic=clinic)
    page = Paginator(exercises, LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "querystring": _without_page(request)}
    # HTMX asks for the results only, as the therapist types; restoring a page
    # from history (a reload after the URL was pushed) needs the whole page.
    partial = "HX-Request" in request.headers and "HX-History-Restore-Request" not in request.headers
    template = "library/_library_results.html" if partial else "library/library.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@therapist_required
def exercise_detail(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = therapist_of(request).clinic
    exercise = exercise_visible_to(slug=slug, clinic=clinic)
    if exercise is None:
        raise Http404("No such exercise")
    context = {"exercise": exercise, **exercise_progressions(exercise=exercise, clinic=clinic)}
    return render(request, "library/exercise_detail.html", context)


@therapist_required
@require_http_methods(["GET", "POST"])
def exercise_new(request: HttpRequest) -> HttpResponse:
    therapist = therapist_of(request)
    form = ClinicExerciseForm(request.POST or None, clinic=therapist.clinic)
    if request.method == "POST":
        if form.is_valid():
            try:
                exercise = clinic_exercise_create(
                    clinic=therapist.clinic,
                    by=therapist.user,
                    values={name: form.cleaned_data[name] for name in CLINIC_EXERCISE_FIELDS},
                    regions=form.cleaned_data["regions"],
                    ip=client_ip(request),
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request, f"{exercise.name} is saved as a draft. Publish it to use it in plans."
                )
                return redirect("exercise-detail", slug=exercise.slug)
        return exercise_form_page(request, form, None, 400)
    return exercise_form_page(request, form, None, 200)


@therapist_required
@require_http_methods(["GET", "POST"])
def exercise_edit(request: HttpRequest, slug: str) -> HttpResponse:
    therapist = therapist_of(request)
    exercise = own_exercise(slug=slug, clinic=therapist.clinic)
    if exercise is None:
        raise Http404("No such exercise of your clinic")
    form = ClinicExerciseForm(request.POST or None, instance=exercise, clinic=therapist.clinic)
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = clinic_exercise_update(
                    exercise=exercise,
                    by=therapist.user,
                    values={name: form.cleaned_data[name] for name in CLINIC_EXERCISE_FIELDS},
                    regions=form.cleaned_data["regions"],
                    ip=client_ip(request),
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                said = "is saved." if changed else "had no changes to save."
                messages.success(request, f"{exercise.name} {said}")
                return redirect("exercise-detail", slug=exercise.slug)
        return exercise_form_page(request, form, exercise, 400)
    return exercise_form_page(request, form, exercise, 200)


@therapist_required
@require_POST
def exercise_copy(request: HttpRequest, slug: str) -> HttpResponse:
    therapist = therapist_of(request)
    source = exercise_visible_to(slug=slug, clinic=therapist.clinic)
    if source is None or not source.shared:
        raise Http404("No such shared exercise")
    copy, made = clinic_exercise_copy(
        source=source, clinic=therapist.clinic, by=therapist.user, ip=client_ip(request)
    )
    if made:
        messages.success(
            request, f"A copy of {source.name} is now your clinic's draft: change what you need."
        )
    else:
        messages.info(request, f"Your clinic already has a draft copy of {source.name}: here it is.")

    return redirect("exercise-edit", slug=copy.slug)


@therapist_required
@require_POST
def exercise_status(request: HttpRequest, slug: str) -> HttpResponse:
    therapist = therapist_of(request)
    exercise = own_exercise(slug=slug, clinic=therapist.clinic)
    if exercise is None:
        raise Http404("No such exercise of your clinic")
    status = request.POST.get("status", "")
    if status not in STATUS_DONE:
        messages.error(request, "Choose publish, archive or draft.")
        return redirect("exercise-detail", slug=exercise.slug)
    exercise_set_status(
        exercises=Exercise.objects.filter(pk=exercise.pk),
        status=status,
        by=therapist.user,
        ip=client_ip(request),
    )
    messages.success(request, f"{exercise.name} {STATUS_DONE[ExerciseStatus(status)]}")
    return redirect("exercise-detail", slug=exercise.slug)


@therapist_required
@require_POST
def exercise_discard(request: HttpRequest, slug: str) -> HttpResponse:
    therapist = therapist_of(request)
    exercise = own_exercise(slug=slug, clinic=therapist.clinic)
    if exercise is None:
        raise Http404("No such exercise of your clinic")
    try:
        clinic_exercise_discard(exercise=exercise, by=therapist.user, ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("exercise-detail", slug=exercise.slug)
    messages.success(request, f"The draft {exercise.name} is discarded.")
    return redirect("library")
