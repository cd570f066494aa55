"""What the authorization matrix expects once patient A has moved to the outsider's clinic: the
routes about patient A's own records follow them; the rest stay with the clinic."""

from __future__ import annotations

from tests.portal.routes import PERSONAS

# Routes about patient A's own records: after patient A moves to the outsider's clinic
# (with the outsider as their therapist) the old clinic's therapists get what the
# outsider got before, and the outsider what the owner got.
FOLLOWS_PATIENT_A: frozenset[str] = frozenset(
    {
        "patient-record",
        "patient-plans",
        "patient-invitation-resend",
        "patient-phone",
        "alert-acknowledge",
        "plan-new",
        "plan-detail",
        "plan-details",
        "plan-search",
        "plan-exercise-add",
        "plan-exercise-update",
        "plan-exercise-move",
        "plan-exercise-remove",
        "plan-exercise-vary",
        "plan-phase-advance",
        "plan-phase-hold",
        "plan-phase-release",
        "plan-activate",
        "plan-end",
        "plan-history",
        "plan-questionnaires",
        "plan-save-template",
        "plan-handout",
        "plan-handout-pdf",
        "api-patient-detail",
        "api-patient-checkins",
        "api-patient-messages",
        "patient-conversation",
        "patient-conversation-thread",
        "patient-conversation-close",
        "api-careplan-detail",
        "api-careplan-activate",
        "api-careplan-end",
        "api-careplan-add-exercise",
        "api-careplan-exercise-vary",
        "api-careplan-phase-advance",
        "api-careplan-phase-hold",
        "api-careplan-phase-release",
        "api-careplan-exercise",
        "api-outcome-detail",
        "api-alert-detail",
        "api-alert-acknowledge",
        "api-fhir-patient-read",
        "api-fhir-patient-everything",
        "api-fhir-condition-read",
        "api-fhir-careplan-read",
        "api-fhir-observation-read",
        "api-fhir-questionnaireresponse-read",
        "api-careplan-questionnaires",
        "api-questionnaire-response-detail",
        "api-questionnaire-response-fhir",
    }
)
# Rows where the owner and the outsider differ for a reason other than patient A:
# the owner's own API token and bulk export, and a template and an exercise of the owner's clinic.
STAYS_WITH_THE_CLINIC: frozenset[str] = frozenset(
    {
        "account-token-revoke",
        "api-template-detail",
        "exercise-edit",
        "exercise-status",
        "exercise-discard",
        "exercise-media-upload",
        "exercise-media-move",
        "exercise-media-remove",
        "exercise-media-file",
        "api-fhir-practitioner-read",
        "api-fhir-organization-read",
        "api-instrument-detail",
        "api-fhir-questionnaire-read",
        "api-fhir-group-export",
        "api-fhir-export-status",
        "api-fhir-export-file",
    }
)


def after_move(name: str, expected: list[str]) -> list[str]:
    """The row once patient A belongs to the outsider's clinic."""
    if name not in FOLLOWS_PATIENT_A:
        return expected
    by = dict(zip(PERSONAS, expected, strict=True))
    by.update(owner=by["outsider"], colleague=by["outsider"], outsider=by["owner"])
    return [by[persona] for persona in PERSONAS]
