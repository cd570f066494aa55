"""The FHIR resources about the server's answers: CapabilityStatement, Bundle, OperationOutcome."""

from __future__ import annotations

from typing import Any

from fhir_r4.search import JSON_FORMATS, SEARCH_PARAMS
from portal.fhirjson import validated

#: The FHIR version served under /fhir/R4/ (resources are validated with R4B's models: see
#: fhir_r4.resources for why that is the same thing for the types served).
FHIR_VERSION = "4.0.1"
#: When what this server supports last changed (CapabilityStatement.date).
CAPABILITIES_DATE = "2026-11-30"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
#: FHIR Bulk Data Access 2.0: the server's capability and the group-level $export (fhir_r4.bulk).
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
GROUP_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"


def capability_statement(base: str) -> dict[str, Any]:
    """The CapabilityStatement of the server at ``base`` (its absolute URL, no trailing slash):
    each resource type of ``SEARCH_PARAMS`` with read and search-type and exactly its search
    parameters, plus ``_count``, ``Patient/$everything``, and ``Group/[clinic id]/$export`` (Bulk
    Data: a Group is a clinic's patients; it is exported, neither read nor searched)."""
    resource = []
    for name, params in SEARCH_PARAMS.items():
        entry: dict[str, Any] = {
            "type": name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": param, "type": spec.type, "documentation": spec.documentation}
                for param, spec in params.items()
            ],
        }
        if name == "Patient":
            entry["operation"] = [{"name": "everything", "definition": EVERYTHING}]
        resource.append(entry)
    resource.append({"type": "Group", "operation": [{"name": "export", "definition": GROUP_EXPORT}]})
    data = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITIES_DATE,
        "publisher": "Plinth",
        "kind": "instance",
        "instantiates": [BULK_DATA],
        "software": {"name": "Plinth"},
        "implementation": {"description": "Plinth's FHIR R4 server (read and search)", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": list(JSON_FORMATS[1:]),
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Search results come in pages of _count entries (default 20, at most 100), "
                    "ordered by id; follow the Bundle's next and previous links. Any search parameter "
                    "not listed for a type, and any modifier, is refused with a 400 OperationOutcome. "
                    "A therapist exports their clinic with GET Group/<clinic id>/$export "
                    "(Prefer: respond-async; _type, _since, _outputFormat=application/fhir+ndjson)."
                ),
                "security": {
                    "description": (
                        "An API token made in Plinth (Authorization: Bearer <token>) or a signed-in "
                        "session. A therapist reads their clinic's resources, a patient their own."
                    )
                },
                "resource": resource,
            }
        ],
    }
    return validated(data)


def operation_outcome(
    status: int, diagnostics: str, *, code: str = "", expression: str = ""
) -> dict[str, Any]:
    """An OperationOutcome of one error for an answer of HTTP ``status``: ``code`` is the issue
    type (by default from the status: 400 invalid, 401 login, 403 forbidden, 404 not-found,
    405/406 not-supported, 429 throttled, else exception), ``expression`` the parameter at fault."""
    default = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}
    default |= {406: "not-supported", 429: "throttled"}
    issue: dict[str, Any] = {
        "severity": "error",
        "code": code or default.get(status, "exception"),
        "diagnostics": diagnostics,
    }
    if expression:
        issue["expression"] = [expression]
    return validated({"resourceType": "OperationOutcome", "issue": [issue]})


def searchset(
    *, entries: list[dict[str, Any]], base: str, total: int, links: dict[str, str]
) -> dict[str, Any]:
    """A searchset Bundle of ``entries`` (built resources, each a match) with ``total`` matches in
    all and paging ``links`` (relation: absolute URL). The entries were validated as they were
    built; the tests validate whole Bundles."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links.items()],
    }
    if entries:  # FHIR allows no empty arrays: a search with no match has no entry element
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in entries
        ]
    return bundle
