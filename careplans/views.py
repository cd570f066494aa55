from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from careplans.forms import LibraryFilterForm
from careplans.models import BodyRegion
from careplans.selectors import LibraryFilters, exercise_visible_to, library_exercises
from portal.access import therapist_of, therapist_required

LIBRARY_PAGE_SIZE = 24


@therapist_required
def library(request: HttpRequest) -> HttpResponse:
    regions = list(BodyRegion.objects.all())
    form = LibraryFilterForm(request.GET or None, regions=regions)
    filters = LibraryFilters()
    if form.is_valid():
        filters = LibraryFilters(**form.cleaned_data)
    page = Paginator(library_exercises(filters=filters), LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "querystring": _without_page(request)}
    # HTMX asks for the results only, as the therapist types.
    template = (
        "careplans/_library_results.html" if request.headers.get("HX-Request") else "careplans/library.html"
    )
    return render(request, template, context)


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@therapist_required
def exercise_detail(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = exercise_visible_to(slug=slug, clinic=therapist_of(request).clinic)
    if exercise is None:
        raise Http404("No such exercise")
    return render(request, "careplans/exercise_detail.html", {"exercise": exercise})
