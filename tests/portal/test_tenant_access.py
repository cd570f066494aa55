"""Tenancy by construction: no page view or API view filters by clinic itself.

Every view reaches a clinic's data through the selectors' querysets and access
functions (accounts.selectors clinic_patients / patient_for_clinic /
clinic_alerts / alert_for_clinic / clinic_checkins, careplans.selectors
clinic_plans / plan_for_clinic / plan_exercise_of / clinic_outcomes), which
answer 404 for another clinic's object and note the read for the audit trail.
This test reads the source of every module that holds a routed view and names
each line that filters a query by clinic.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from tests.product import PRODUCT as PRODUCT_PACKAGES

#: Calls whose keyword arguments are query conditions.
QUERY_CALLS = {"filter", "exclude", "get", "get_or_create", "Q", "get_object_or_404", "get_list_or_404"}
#: A condition on a clinic: ``clinic=``, ``clinic_id=``, ``patient__clinic=``, ``x__clinic_id__in=``.
CLINIC_CONDITION = re.compile(r"(^|__)clinic(_id)?(__|$)")


def _callbacks(patterns: list[Any]) -> Iterator[Any]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _callbacks(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            yield entry.callback


def _view_module(callback: Any) -> str:
    # DRF views and viewsets carry their class; function views keep their own module
    # through functools.wraps.
    owner = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
    return str(owner.__module__)


def view_modules() -> list[ModuleType]:
    """The product's modules that hold a routed view (the Django admin's own are not product code)."""
    names = {_view_module(callback) for callback in _callbacks(get_resolver().url_patterns)}
    product = sorted(name for name in names if name.split(".")[0] in PRODUCT_PACKAGES)
    return [importlib.import_module(name) for name in product]


def clinic_filters(source: str) -> list[tuple[int, str]]:
    """(line, condition) for each query condition on a clinic in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in QUERY_CALLS:
            continue
        for keyword in node.keywords:
            if keyword.arg and CLINIC_CONDITION.search(keyword.arg):
                found.append((keyword.lineno, keyword.arg))
    return found


def test_the_check_sees_every_kind_of_clinic_filter() -> None:
    source = (
        "Patient.objects.filter(clinic=therapist.clinic)\n"
        "Alert.objects.filter(pk=1, patient__clinic_id=therapist.clinic_id)\n"
        "get_object_or_404(CarePlan, plan__patient__clinic__in=[1])\n"
        "x = Q(clinic_id=2) | Q(name='a')\n"
        "clinic_patients(clinic=therapist.clinic).filter(pk=3)\n"  # the selector's way: not flagged
        "qs.filter(clinical_note='x', reclinic=1)\n"  # other names that contain the word: not flagged
    )
    assert clinic_filters(source) == [
        (1, "clinic"),
        (2, "patient__clinic_id"),
        (3, "plan__patient__clinic__in"),
        (4, "clinic_id"),
    ]


def test_views_and_viewsets_reach_clinic_data_only_through_the_selectors() -> None:
    modules = view_modules()
    names = {module.__name__ for module in modules}
    # The enumeration finds the page views and the API of both apps (not an empty pass).
    assert {"accounts.views", "today.views", "accounts.api", "careplans.api"} <= names
    offending = []
    for module in modules:
        path = Path(inspect.getfile(module))
        for line, condition in clinic_filters(path.read_text()):
            offending.append(f"{module.__name__} line {line}: filters by `{condition}`")
    assert not offending, "use the selectors' clinic_* querysets and *_for_clinic access functions:\n" + (
        "\n".join(offending)
    )
