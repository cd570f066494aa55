"""FHIR R4 routes, under /fhir/R4/ (portal/urls.py): metadata, then per resource type its search,
its read, for Patient the $everything operation, the bulk export of a clinic's Group (kick-off,
status URL, files); anything else is a 404 OperationOutcome."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from fhir_r4.bulk_views import ExportFileView, ExportStatusView, GroupExportView
from fhir_r4.selectors import RESOURCE_TYPES
from fhir_r4.views import EverythingView, MetadataView, ReadView, SearchView, UnknownView

urlpatterns: list[URLPattern] = [path("metadata", MetadataView.as_view(), name="api-fhir-metadata")]
for _name in RESOURCE_TYPES:
    _slug = _name.lower()
    urlpatterns += [
        path(_name, SearchView.as_view(resource_type=_name), name=f"api-fhir-{_slug}-search"),
        path(
            f"{_name}/<str:resource_id>", ReadView.as_view(resource_type=_name), name=f"api-fhir-{_slug}-read"
        ),
    ]
urlpatterns += [
    path(
        "Patient/<str:resource_id>/$everything", EverythingView.as_view(), name="api-fhir-patient-everything"
    ),
    # Bulk Data export (fhir_r4.bulk): kick-off on a clinic's Group, its status URL, its files.
    path("Group/<str:resource_id>/$export", GroupExportView.as_view(), name="api-fhir-group-export"),
    path("$export-status/<str:export_id>", ExportStatusView.as_view(), name="api-fhir-export-status"),
    path(
        "$export-status/<str:export_id>/<str:resource_type>.<int:part>.ndjson",
        ExportFileView.as_view(),
        name="api-fhir-export-file",
    ),
    # Unnamed: not a route of its own, the answer to every path the others do not match.
    re_path(r"^.*$", UnknownView.as_view()),
]
