"""Every named route (pages, API, admin) with how to request it and who may: the table the
authorization matrix (tests/portal/test_authz_matrix.py) checks, and that the other walks over
every route (audit reads, no-store, ARIA references, axe-core, the page fuzzer, phone zoom) use.

Objects belong to patient A (of the owner therapist's clinic) unless the row says otherwise.
Personas, in column order:

    anon  patient_a  patient_b  owner  colleague  outsider  staff

A route missing from TABLE fails the matrix, so a new page cannot ship unchecked; a row whose
route no longer exists fails it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.portal.route_args import (
    Args,
    fhir_id,
    invitation_link,
    none,
    optout_link,
    own_media,
    patient_a,
    peg_response_a,
    pk,
    plan_a,
    plan_item_a,
    reset_link,
    view_on_site,
)
from tests.world import World

PERSONAS = ("anon", "patient_a", "patient_b", "owner", "colleague", "outsider", "staff")


TABLE: dict[str, tuple[str, Args, str]] = {
    # --- public and account pages ----------------------------------------------------
    "home": ("GET", none, "302 302 302 302 302 302 302"),
    "healthz": ("GET", none, "200 200 200 200 200 200 200"),
    "login": ("GET", none, "200 302 302 302 302 302 302"),
    "logout": ("POST", none, "302 302 302 302 302 302 302"),
    # Every session of the user ends (the transaction is rolled back after each request).
    "logout-everywhere": ("POST", none, "302 302 302 302 302 302 302"),
    # Anyone may ask for a link, and the answer never says whose the address is.
    "sign-in-link-request": ("POST", none, "200 200 200 200 200 200 200"),
    # Without a valid token (tests/accounts/test_sign_in_links.py opens real ones): 410, the login page.
    "sign-in-link": ("GET", none, "410 410 410 410 410 410 410"),
    "logout-page": ("GET", none, "200 200 200 200 200 200 200"),
    "password_reset": ("GET", none, "200 200 200 200 200 200 200"),
    "password_reset_done": ("GET", none, "200 200 200 200 200 200 200"),
    "password_reset_confirm": ("GET", reset_link, "302 302 302 302 302 302 302"),
    "password_reset_complete": ("GET", none, "200 200 200 200 200 200 200"),
    "password_change": ("GET", none, "302 200 200 200 200 200 200"),
    "password_change_done": ("GET", none, "302 200 200 200 200 200 200"),
    "invitation-request": ("GET", none, "200 200 200 200 200 200 200"),
    "invitation": ("GET", invitation_link, "200 200 200 200 200 200 200"),
    "reminders-optout": ("GET", optout_link, "200 200 200 200 200 200 200"),
    "account-export": ("GET", none, "302 200 200 404 404 404 404"),
    "account-tokens": ("GET", none, "302 200 200 200 200 200 200"),
    # The owner therapist's token: only its owner can revoke it.
    "account-token-revoke": ("POST", lambda w: {"token_id": w.token_owner.pk}, "302 404 404 302 404 404 404"),
    "audit-search": ("GET", none, "302 404 404 200 200 200 404"),
    # --- patient pages -----------------------------------------------------------------
    "today": ("GET", none, "302 200 200 404 404 404 404"),
    "today-mark": ("POST", lambda w: {"plan_exercise_id": w.item_a.pk}, "302 302 404 404 404 404 404"),
    "checkin": ("GET", none, "302 200 200 404 404 404 404"),
    # No check-in today yet: the page sends the patient back to the form.
    "checkin-done": ("GET", none, "302 302 302 404 404 404 404"),
    # Patient A's own check-in (10 days old: shown read-only); anyone else's is not there.
    "checkin-correct": ("GET", lambda w: {"checkin_id": w.checkin_a.pk}, "302 200 404 404 404 404 404"),
    # Patient A's plan's PSFS, due today (issue 18); anyone else's questionnaire is not there.
    "questionnaire": ("GET", lambda w: {"schedule_id": w.psfs_a.pk}, "302 200 404 404 404 404 404"),
    # Patient A's PEG, sent: the page after sending.
    "questionnaire-done": ("GET", lambda w: {"schedule_id": w.peg_a.pk}, "302 200 404 404 404 404 404"),
    "patient-settings": ("GET", none, "302 200 200 404 404 404 404"),
    "my-handout": ("GET", none, "302 200 200 404 404 404 404"),
    "my-handout-pdf": ("GET", none, "302 200 200 404 404 404 404"),
    "progress": ("GET", none, "302 200 200 404 404 404 404"),
    # Messages (issue 19): the patient's own conversation; a poll with nothing new is a 204.
    "messages": ("GET", none, "302 200 200 404 404 404 404"),
    "messages-thread": ("GET", none, "302 204 204 404 404 404 404"),
    "message-emails": ("POST", none, "302 302 302 404 404 404 404"),
    # The navigation's unread count: patients and therapists, not staff (no conversations).
    "messages-unread": ("GET", none, "302 200 200 200 200 200 404"),
    # --- therapist pages ---------------------------------------------------------------
    "caseload": ("GET", none, "302 404 404 200 200 200 404"),
    "attention": ("GET", none, "302 404 404 200 200 200 404"),
    "patient-add": ("GET", none, "302 404 404 200 200 200 404"),
    "patient-record": ("GET", patient_a, "302 404 404 200 200 404 404"),
    "patient-plans": ("GET", patient_a, "302 404 404 200 200 404 404"),
    "patient-invitation-resend": ("POST", patient_a, "302 404 404 302 302 404 404"),
    # No phone number posted: the number is cleared (it was empty), back to the record.
    "patient-phone": ("POST", patient_a, "302 404 404 302 302 404 404"),
    "alert-acknowledge": ("POST", lambda w: {"alert_id": w.alert_a.pk}, "302 404 404 302 302 404 404"),
    "library": ("GET", none, "302 404 404 200 200 200 404"),
    "exercise-detail": ("GET", lambda w: {"slug": w.exercise.slug}, "302 404 404 200 200 200 404"),
    "exercise-new": ("GET", none, "302 404 404 200 200 200 404"),
    # The owner's clinic's own exercise: its therapists only.
    "exercise-edit": ("GET", lambda w: {"slug": w.own_exercise.slug}, "302 404 404 200 200 404 404"),
    # No status posted: a message, back to the exercise.
    "exercise-status": ("POST", lambda w: {"slug": w.own_exercise.slug}, "302 404 404 302 302 404 404"),
    # A shared exercise: any clinic's therapist may copy it to their own.
    "exercise-copy": ("POST", lambda w: {"slug": w.exercise.slug}, "302 404 404 302 302 302 404"),
    # The world's own exercise is published: a message (only a draft is discarded), back to it.
    "exercise-discard": ("POST", lambda w: {"slug": w.own_exercise.slug}, "302 404 404 302 302 404 404"),
    # An own exercise's pictures: its clinic's therapists change them; no file posted is a 400.
    "exercise-media-upload": ("POST", lambda w: {"slug": w.own_exercise.slug}, "302 404 404 400 400 404 404"),
    "exercise-media-move": ("POST", own_media, "302 404 404 302 302 404 404"),
    "exercise-media-remove": ("POST", own_media, "302 404 404 302 302 404 404"),
    # The file itself: the clinic's therapists and patients (Today shows it), nobody else.
    # Patient A's column is "*": after A moves clinic it is 404 (tests/library/test_media.py).
    "exercise-media-file": (
        "GET",
        lambda w: {"key": w.own_media.key, "size": "card"},
        "302 * 200 200 200 404 404",
    ),
    "plan-new": ("GET", patient_a, "302 404 404 200 200 404 404"),
    "plan-detail": ("GET", plan_a, "302 404 404 200 200 404 404"),
    "plan-details": ("POST", plan_a, "302 404 404 400 400 404 404"),
    # Without HTMX the search answers with a redirect to the plan page.
    "plan-search": ("GET", plan_a, "302 404 404 302 302 404 404"),
    "plan-exercise-add": ("POST", plan_a, "302 404 404 400 400 404 404"),
    "plan-exercise-update": ("POST", plan_item_a, "302 404 404 400 400 404 404"),
    "plan-exercise-move": ("POST", plan_item_a, "302 404 404 302 302 404 404"),
    "plan-exercise-remove": ("POST", plan_item_a, "302 404 404 302 302 404 404"),
    # No variant posted: the plan again with the form open and the refusal beside it.
    "plan-exercise-vary": ("POST", plan_item_a, "302 404 404 400 400 404 404"),
    # No reason posted: the plan again with that phase form open and the refusal beside it.
    "plan-phase-advance": ("POST", plan_a, "302 404 404 400 400 404 404"),
    "plan-phase-hold": ("POST", plan_a, "302 404 404 400 400 404 404"),
    "plan-phase-release": ("POST", plan_a, "302 404 404 302 302 404 404"),
    # The plan is already active: a message and back to the plan.
    "plan-activate": ("POST", plan_a, "302 404 404 302 302 404 404"),
    "plan-end": ("POST", plan_a, "302 404 404 400 400 404 404"),
    "plan-history": ("GET", plan_a, "302 404 404 200 200 404 404"),
    # The plan's questionnaire schedule and what each asks, read-only (the builder links here).
    "plan-questionnaires": ("GET", plan_a, "302 404 404 200 200 404 404"),
    "plan-save-template": ("POST", plan_a, "302 404 404 400 400 404 404"),
    "plan-handout": ("GET", plan_a, "302 404 404 200 200 404 404"),
    "plan-handout-pdf": ("GET", plan_a, "302 404 404 200 200 404 404"),
    "outcome-report": ("GET", none, "302 404 404 200 200 200 404"),
    "inbox": ("GET", none, "302 404 404 200 200 200 404"),
    "inbox-list": ("GET", none, "302 404 404 200 200 200 404"),
    "patient-conversation": ("GET", patient_a, "302 404 404 200 200 404 404"),
    "patient-conversation-thread": ("GET", patient_a, "302 404 404 204 204 404 404"),
    # Nothing needs a reply: back to the conversation.
    "patient-conversation-close": ("POST", patient_a, "302 404 404 302 302 404 404"),
    # --- API (empty JSON bodies: writes answer 400 to those allowed to make them) -------
    "api-root": ("GET", none, "401 200 200 200 200 200 200"),
    "api-schema": ("GET", none, "200 200 200 200 200 200 200"),
    "api-docs": ("GET", none, "200 200 200 200 200 200 200"),
    "api-redoc": ("GET", none, "200 200 200 200 200 200 200"),
    "api-me": ("GET", none, "401 200 200 200 200 200 200"),
    "api-me-export": ("GET", none, "401 200 200 404 404 404 404"),
    "api-me-messages": ("GET", none, "401 200 200 404 404 404 404"),
    "api-patient-messages": ("GET", patient_a, "401 404 404 200 200 404 404"),
    "api-exercise-list": ("GET", none, "401 200 200 200 200 200 200"),
    "api-exercise-detail": ("GET", pk("exercise"), "401 200 200 200 200 200 200"),
    "api-template-list": ("GET", none, "401 404 404 200 200 200 404"),
    "api-template-detail": ("GET", pk("template"), "401 404 404 200 200 404 404"),
    "api-patient-list": ("GET", none, "401 404 404 200 200 200 404"),
    "api-patient-detail": ("GET", lambda w: {"pk": w.p.patient_a.pk}, "401 404 404 200 200 404 404"),
    "api-patient-checkins": ("GET", patient_a, "401 404 404 200 200 404 404"),
    "api-careplan-list": ("GET", none, "401 200 200 200 200 200 200"),
    "api-careplan-detail": ("GET", pk("plan_a"), "401 200 404 200 200 404 404"),
    # Activating plan A's draft while plan A is active is refused with the reason.
    "api-careplan-activate": ("POST", pk("draft_a"), "401 404 404 400 400 404 404"),
    "api-careplan-end": ("POST", pk("plan_a"), "401 404 404 400 400 404 404"),
    "api-careplan-add-exercise": ("POST", pk("plan_a"), "401 404 404 400 400 404 404"),
    "api-careplan-exercise-vary": (
        "POST",
        lambda w: {"pk": w.plan_a.pk, "plan_exercise_id": w.item_a.pk},
        "401 404 404 400 400 404 404",
    ),
    # No reason posted (advance, hold), and plan A has no phases (release): 400 with the reason.
    "api-careplan-phase-advance": ("POST", pk("plan_a"), "401 404 404 400 400 404 404"),
    "api-careplan-phase-hold": ("POST", pk("plan_a"), "401 404 404 400 400 404 404"),
    "api-careplan-phase-release": ("POST", pk("plan_a"), "401 404 404 400 400 404 404"),
    "api-careplan-exercise": (
        "DELETE",
        lambda w: {"pk": w.plan_a.pk, "plan_exercise_id": w.item_a.pk},
        "401 404 404 204 204 404 404",
    ),
    "api-outcome-list": ("GET", none, "401 200 200 200 200 200 200"),
    "api-outcome-detail": ("GET", lambda w: {"pk": w.plan_a.pk}, "401 200 404 200 200 404 404"),
    "api-alert-list": ("GET", none, "401 404 404 200 200 200 404"),
    "api-alert-detail": ("GET", pk("alert_a"), "401 404 404 200 200 404 404"),
    "api-alert-acknowledge": ("POST", pk("alert_a"), "401 404 404 200 200 404 404"),
    "api-checkin-create": ("POST", none, "401 400 400 403 403 403 403"),
    # --- questionnaires API (issue 18) --------------------------------------------------
    "api-instrument-list": ("GET", none, "401 200 200 200 200 200 200"),
    # The owner's clinic's own instrument: that clinic's therapists and patients. Patient A's
    # column is "*": after A moves clinic it is 404 (tests/questionnaires/test_api.py).
    "api-instrument-detail": ("GET", lambda w: {"key": w.own_instrument.pk}, "401 * 200 200 200 404 404"),
    "api-careplan-questionnaires": ("GET", plan_a, "401 200 404 200 200 404 404"),
    "api-questionnaire-response-list": ("GET", none, "401 200 200 200 200 200 200"),
    # Patient A's PEG, sent.
    "api-questionnaire-response-detail": ("GET", peg_response_a, "401 200 404 200 200 404 404"),
    "api-questionnaire-response-fhir": ("GET", peg_response_a, "401 200 404 200 200 404 404"),
    # Patient A's own check-in is 10 days old: past the correction window, refused with the reason.
    "api-checkin-detail": ("PATCH", lambda w: {"checkin_id": w.checkin_a.pk}, "401 400 404 404 404 404 404"),
    # --- FHIR R4 (fhir_r4): the API's tokens and tenancy; a user with no role reads nothing -------
    "api-fhir-metadata": ("GET", none, "200 200 200 200 200 200 200"),
    **{
        f"api-fhir-{kind}-search": ("GET", none, "401 200 200 200 200 200 404")
        for kind in (
            "patient",
            "practitioner",
            "organization",
            "condition",
            "careplan",
            "observation",
            "questionnaire",
            "questionnaireresponse",
        )
    },
    "api-fhir-patient-read": ("GET", fhir_id(lambda w: w.p.patient_a), "401 200 404 200 200 404 404"),
    "api-fhir-patient-everything": ("GET", fhir_id(lambda w: w.p.patient_a), "401 200 404 200 200 404 404"),
    # Plan A is the Condition's id too.
    "api-fhir-condition-read": ("GET", fhir_id(lambda w: w.plan_a), "401 200 404 200 200 404 404"),
    "api-fhir-careplan-read": ("GET", fhir_id(lambda w: w.plan_a), "401 200 404 200 200 404 404"),
    "api-fhir-observation-read": ("GET", fhir_id(lambda w: w.checkin_a), "401 200 404 200 200 404 404"),
    "api-fhir-questionnaireresponse-read": (
        "GET",
        fhir_id(lambda w: w.peg_a.responses.get()),
        "401 200 404 200 200 404 404",
    ),
    # The owner's clinic's own instrument, as for api-instrument-detail.
    "api-fhir-questionnaire-read": ("GET", fhir_id(lambda w: w.own_instrument), "401 * 200 200 200 404 404"),
    # The owner: the therapist of patients A and B and the author of their plans. Patient A's column
    # is "*": after A moves clinic their plans move to the outsider and the owner is not theirs.
    "api-fhir-practitioner-read": ("GET", fhir_id(lambda w: w.p.owner), "401 * 200 200 200 404 404"),
    # The owner's clinic: patient A's column is "*" for the same reason.
    "api-fhir-organization-read": ("GET", fhir_id(lambda w: w.p.clinic), "401 * 200 200 200 404 404"),
    # Bulk export (fhir_r4.bulk): a therapist of the clinic kicks off its Group's export (400 here:
    # the matrix sends no "Prefer: respond-async"); the status URL and files are the requester's.
    "api-fhir-group-export": ("GET", fhir_id(lambda w: w.p.clinic), "401 404 404 400 400 404 404"),
    "api-fhir-export-status": ("GET", lambda w: {"export_id": w.export_a.pk}, "401 404 404 200 404 404 404"),
    "api-fhir-export-file": (
        "GET",
        lambda w: {"export_id": w.export_a.pk, "resource_type": "Observation", "part": 1},
        "401 404 404 200 404 404 404",
    ),
    # --- admin -----------------------------------------------------------------------
    "admin:index": ("GET", none, "302 302 302 302 302 302 200"),
    # Django's admin login shows a non-staff user a "not authorised" form.
    "admin:login": ("GET", none, "200 200 200 200 200 200 302"),
    "admin:logout": ("POST", none, "302 302 302 302 302 302 302"),
}

# Further methods of a route that TABLE has a row for (its GET), each checked the same way.
MORE_METHODS: dict[str, list[tuple[str, Args, str]]] = {
    # Sending answers (issue 18), an empty body: 400 with the reasons for a patient; nobody else
    # answers for a patient.
    "api-questionnaire-response-list": [("POST", none, "401 400 400 403 403 403 403")],
    # Pressing "Sign in" on an opened link, without a valid token: 410, the login page, for anyone.
    "sign-in-link": [("POST", none, "410 410 410 410 410 410 410")],
}

# POST bodies for rows that need one to reach the authorization check.
POST_DATA: dict[str, dict[str, str]] = {
    "today-mark": {"done": "1"},
    # A patient's address: the same "check your email" page as any other address.
    "sign-in-link-request": {"link-email": "ada.patient@example.test"},
    "sign-in-link": {"sesame": "used-or-expired"},
}

# The admin's per-model routes, one rule each: only staff get in.
ADMIN_RULES: dict[str, str] = {
    "_changelist": "302 302 302 302 302 302 200",
    "_add": "302 302 302 302 302 302 200",
    "_change": "302 302 302 302 302 302 200",
    "_history": "302 302 302 302 302 302 200",
    "_delete": "302 302 302 302 302 302 200",
}
# Admin routes the rules above do not cover are named here, each with its row.
ADMIN_EXTRA: dict[str, tuple[str, Args, str]] = {
    "admin:password_change": ("GET", none, "302 302 302 302 302 302 200"),
    "admin:password_change_done": ("GET", none, "302 302 302 302 302 302 200"),
    "admin:autocomplete": ("GET", none, "302 302 302 302 302 302 403"),
    "admin:jsi18n": ("GET", none, "302 302 302 302 302 302 200"),
    "admin:app_list": ("GET", lambda w: {"app_label": "accounts"}, "302 302 302 302 302 302 200"),
    "admin:auth_user_password_change": (
        "GET",
        lambda w: {"id": w.p.patient_a.user.pk},
        "302 302 302 302 302 302 200",
    ),
    "admin:audit_auditevent_add": ("GET", none, "302 302 302 302 302 302 403"),
    "admin:audit_auditevent_delete": (
        "GET",
        lambda w: {"object_id": w.audit_a.pk},
        "302 302 302 302 302 302 403",
    ),
    "admin:axes_accessattempt_add": ("GET", none, "302 302 302 302 302 302 403"),
    "admin:axes_accesslog_add": ("GET", none, "302 302 302 302 302 302 403"),
    "admin:axes_accessfailurelog_add": ("GET", none, "302 302 302 302 302 302 403"),
    # Patients have no public URL to send staff to.
    "admin:view_on_site": ("GET", view_on_site, "302 302 302 302 302 302 404"),
}


def named_routes(patterns: list[Any] | None = None, namespace: str = "") -> Iterator[tuple[str, Any]]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from named_routes(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, entry


def all_route_names() -> list[str]:
    return sorted({name for name, _ in named_routes()})


def admin_rule(name: str) -> tuple[str, Args, str] | None:
    if name in TABLE or name in ADMIN_EXTRA or not name.startswith("admin:"):
        return ADMIN_EXTRA.get(name) or TABLE.get(name)
    for suffix, expected in ADMIN_RULES.items():
        if name.endswith(suffix):
            label = name.removeprefix("admin:").removesuffix(suffix)
            model = next(
                (m for m in apps.get_models() if f"{m._meta.app_label}_{m._meta.model_name}" == label), None
            )
            if model is None:
                return None
            if suffix in ("_changelist", "_add"):
                return ("GET", none, expected)

            def args(w: World, model: Any = model) -> dict[str, Any]:
                obj = model._default_manager.order_by("pk").first()
                assert obj is not None, f"no {model.__name__} to resolve {name} with"
                return {"object_id": str(obj.pk)}

            return ("GET", args, expected)
    return None


def row_for(name: str) -> tuple[str, Args, str] | None:
    return TABLE.get(name) or admin_rule(name)


def request_response(client: Client, method: str, url: str, name: str) -> Any:
    """The response to the route's request as the matrix makes it (for other walkers too)."""
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    if method == "PATCH":
        return client.patch(url, data={}, content_type="application/json")
    if url.startswith("/api/"):
        return client.post(url, data={}, content_type="application/json")
    return client.post(url, data=POST_DATA.get(name, {}))


def request(client: Client, method: str, url: str, name: str) -> int:
    return int(request_response(client, method, url, name).status_code)
