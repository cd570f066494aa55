"""Library pages: the filtered list of exercises and one exercise."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from accounts.access import therapist_of, therapist_required
from library.forms import LibraryFilterForm
from library.models import BodyRegion
from library.selectors import LibraryFilters, exercise_visible_to, library_exercises

LIBRARY_PAGE_SIZE = 24


LIBRARY_FILTER_FIELDS = ("q", "region", "category", "equipment")


@therapist_required
def library(request: HttpRequest) -> HttpResponse:
    regions = list(BodyRegion.objects.all())
    form = LibraryFilterForm(request.GET or None, regions=regions)
    # A bad value in one filter (shown next to it) must not throw away the others.
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    filters = LibraryFilters(**{name: cleaned[name] for name in LIBRARY_FILTER_FIELDS if cleaned.get(name)})
    page = Paginator(library_exercises(filters=filters), LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
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
    exercise = exercise_visible_to(slug=slug, clinic=therapist_of(request).clinic)
    if exercise is None:
        raise Http404("No such exercise")
    return render(request, "library/exercise_detail.html", {"exercise": exercise})
