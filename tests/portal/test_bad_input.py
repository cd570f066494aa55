"""Bad input is a 400 naming the parameter, on pages as on the API; machine dates are ISO 8601 only."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from audit.models import AuditEvent
from checkins.models import PainCheckIn
from library.models import Exercise
from portal.api import parsers as json_input
from portal.api.filters import ApiFilterSet, IsoDateFilter
from portal.input_guard import MAX_QUERY_STRING
from tests.conftest import Personas, login
from tests.today.test_pages import GOOD
from tests.world import World

# --- the field reports ---------------------------------------------------------------


@pytest.mark.django_db
def test_caseload_search_with_a_nul_byte_is_a_400_naming_q(personas: Personas) -> None:
    client = login(Client(), personas.owner.user)
    response = client.get("/caseload/?q=%00")
    assert response.status_code == 400
    assert b"q: The value contains a NUL character" in response.content


@pytest.mark.django_db
def test_a_body_of_100000_nested_brackets_is_a_400_not_a_recursion_error(personas: Personas) -> None:
    client = APIClient()
    client.force_login(personas.patient_a.user)
    before = PainCheckIn.objects.count()
    response = client.post("/api/v1/checkins/", b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["non_field_errors"][0]
    assert PainCheckIn.objects.count() == before


@pytest.mark.django_db
def test_checkins_since_day_first_is_a_400_naming_since(world: World) -> None:
    client = APIClient()
    client.force_login(world.p.owner.user)
    url = reverse("api-patient-checkins", kwargs={"patient_id": world.p.patient_a.pk})
    # The day after patient A's last check-in, written day first and then in ISO 8601.
    after = PainCheckIn.objects.filter(patient=world.p.patient_a).latest("local_date").local_date + timedelta(
        days=1
    )
    response = client.get(url, {"since": after.strftime("%d/%m/%Y")})
    assert response.status_code == 400
    assert response.json() == {"since": ["Enter a date in ISO 8601 format, YYYY-MM-DD."]}
    ok = client.get(url, {"since": after.isoformat()})
    assert ok.status_code == 200 and ok.json()["results"] == []
    assert client.get(url, {"since": "2000-01-01"}).json()["count"] == 1


# --- ISO 8601 for every API date -------------------------------------------------------


def _schema_date_parameters(client: APIClient) -> list[tuple[str, str, str]]:
    """(path template, parameter, format) of every date or date-time query parameter in the schema."""
    schema = client.get("/api/v1/schema/?format=json").json()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method != "get":
                continue
            for parameter in operation.get("parameters", []):
                fmt = parameter.get("schema", {}).get("format")
                if parameter["in"] == "query" and fmt in ("date", "date-time"):
                    found.append((path, parameter["name"], fmt))
    return found


@pytest.mark.django_db
def test_every_api_date_filter_refuses_day_first_and_names_itself(world: World) -> None:
    client = APIClient()
    client.force_login(world.p.owner.user)
    parameters = _schema_date_parameters(client)
    # since, until, created_after, start_date_after, start_date_before at least.
    assert len(parameters) >= 5, parameters
    for path, name, fmt in parameters:
        url = path.replace("{patient_id}", str(world.p.patient_a.pk))
        for bad in ("20/11/2026", "11/20/2026", "20.11.2026", "2026-02-30", "yesterday"):
            response = client.get(url, {name: bad})
            assert response.status_code == 400, (url, name, bad, response.status_code)
            assert name in response.json(), (url, name, bad, response.json())
        good = "2026-11-20" if fmt == "date" else "2026-11-20T10:00:00Z"
        assert client.get(url, {name: good}).status_code == 200, (url, name)


def test_a_filter_set_with_a_locale_date_filter_cannot_be_built() -> None:
    import django_filters
    from django.core.exceptions import ImproperlyConfigured

    from checkins.models import PainCheckIn as Model

    with pytest.raises(ImproperlyConfigured, match="day"):

        class DayFirst(ApiFilterSet):
            day = django_filters.DateFilter(field_name="local_date")

            class Meta:
                model = Model
                fields: list[str] = []


def test_generated_date_filters_are_iso_only() -> None:
    class Generated(ApiFilterSet):
        class Meta:
            model = PainCheckIn
            fields = ["local_date", "received_at"]

    assert isinstance(Generated.base_filters["local_date"], IsoDateFilter)
    form = Generated(data={"local_date": "20/11/2026", "received_at": "20/11/2026 10:00"}).form
    assert not form.is_valid()
    assert set(form.errors) == {"local_date", "received_at"}


@pytest.mark.django_db
def test_api_body_dates_are_iso_only(world: World) -> None:
    client = APIClient()
    client.force_login(world.p.owner.user)
    response = client.post(
        "/api/v1/careplans/",
        {"patient": world.p.patient_b.pk, "title": "Knee", "start_date": "20/11/2026"},
        format="json",
    )
    assert response.status_code == 400
    assert "start_date" in response.json()


# --- JSON bodies ---------------------------------------------------------------------------


def _parse(parser: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "ok", parser.parse(io.BytesIO(body), "application/json", {"encoding": "utf-8"})
    except ParseError as exc:
        return "error", str(exc.detail)


REFUSED_BODIES = [
    (b"[" * 100_000, "nested more than"),
    (b"[" * 40 + b"]" * 40, "nested more than"),
    (b'{"note": "a\\u0000b"}', "'note' contains a NUL character"),
    (b'{"note": "\\ud800"}', "'note' contains a lone surrogate"),
    (b'{"\\udfff": 1}', "a key in the body contains a lone surrogate"),
    (b'{"items": [{"note": "x"}, {"note": "\\u0000"}]}', "'items[1].note' contains a NUL"),
    (b'{"note": "pain \\u202e01 /10"}', "'note' contains a direction override character"),
]


@pytest.mark.parametrize(("body", "reason"), REFUSED_BODIES)
def test_json_bodies_that_cannot_be_stored_are_parse_errors(body: bytes, reason: str) -> None:
    outcome, detail = _parse(json_input.JSONParser(), body)
    assert outcome == "error" and reason in detail, detail


def test_json_bodies_within_the_rules_parse_as_before() -> None:
    body = json.dumps({"note": "Zoë \\ café", "a": [[[1]]], "deep": [[]] * 3}).encode()
    assert _parse(json_input.JSONParser(), body) == _parse(parsers.JSONParser(), body)


def test_drfs_own_parser_lets_a_recursion_error_through() -> None:
    """Why portal.api.parsers.JSONParser exists: DRF alone turns a deep body into a 500."""
    with pytest.raises(RecursionError):
        parsers.JSONParser().parse(io.BytesIO(b"[" * 100_000), "application/json", {})


@pytest.mark.django_db
def test_a_nul_in_a_json_note_is_a_400_and_writes_nothing(personas: Personas) -> None:
    client = APIClient()
    client.force_login(personas.patient_a.user)
    before = (PainCheckIn.objects.count(), AuditEvent.objects.count())
    body = b'{"nprs": 4, "side": "left", "note": "\\u0000"}'
    response = client.post("/api/v1/checkins/", body, content_type="application/json")
    assert response.status_code == 400
    assert "'note' contains a NUL character" in response.json()["non_field_errors"][0]
    assert (PainCheckIn.objects.count(), AuditEvent.objects.count()) == before


# --- query strings, forms and paths (the middleware) -----------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "name", "reason"),
    [
        ("q=%00", "q", "NUL"),
        ("q=%ff%fe", "q", "not valid UTF-8"),
        ("q=%ed%a0%80", "q", "not valid UTF-8"),  # a lone surrogate, UTF-8 encoded
        ("%00=1", "\\x00", "NUL"),
        ("%ff=1", "\ufffd", "not valid UTF-8"),
    ],
)
def test_api_query_strings_with_unreadable_text_are_a_json_400(
    personas: Personas, query: str, name: str, reason: str
) -> None:
    client = APIClient()
    client.force_login(personas.owner.user)
    response = client.get(f"/api/v1/patients/?{query}")
    assert response.status_code == 400
    assert reason in response.json()[name][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/caseload/", "/library/", "/outcomes/", "/audit/", "/admin/patients/patient/"]
)
def test_page_query_strings_with_nul_or_bad_utf8_are_a_400(personas: Personas, url: str) -> None:
    staff = url.startswith("/admin/")
    client = login(Client(), personas.staff if staff else personas.owner.user)
    for query in ("q=%00", "q=caf%e9", "page=%00"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)


@pytest.mark.django_db
def test_a_query_string_longer_than_gunicorn_accepts_is_a_400(personas: Personas) -> None:
    client = login(Client(), personas.owner.user)
    assert client.get("/caseload/", {"q": "x" * MAX_QUERY_STRING}).status_code == 400
    assert client.get("/caseload/", {"q": "x" * 1000}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_more_query_parameters_than_django_reads_is_a_prompt_400(
    personas: Personas, settings: Any, debug: bool
) -> None:
    # 1,001 empty parameters fit in 4,004 bytes. Django refuses them (TooManyFieldsSent); with
    # DEBUG on (`make run`), its error page read request.GET again in every middleware: 8 s, then a 500.
    settings.DEBUG = debug
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    client = login(Client(), personas.owner.user)
    started = time.monotonic()
    response = client.get("/caseload/?" + "&".join(["q="] * (limit + 1)))
    assert response.status_code == 400
    assert f"more than {limit} parameters".encode() in response.content
    assert time.monotonic() - started < 2
    api = APIClient()
    api.force_login(personas.owner.user)
    refused = api.get("/api/v1/patients/?" + "&".join(["x=1"] * (limit + 1)))
    assert refused.status_code == 400 and "query" in refused.json()
    assert client.get("/caseload/?" + "&".join(["q="] * limit)).status_code == 200


@pytest.mark.django_db
def test_an_urlencoded_post_with_a_nul_in_a_name_or_beside_bad_bytes_is_a_400_and_changes_nothing(
    world: World,
) -> None:
    """A NUL in what was typed is removed and the page answers (tests/portal/test_nul_in_forms.py);
    a NUL in a field's name, or one beside bytes that are not UTF-8, is still refused whole."""
    client = login(Client(), world.p.owner.user)
    url = reverse("plan-details", kwargs={"plan_id": world.draft_a.pk})
    for body in (
        urlencode({"details-title\x00": "Knee", "details-condition": "x"}),
        urlencode({"details-title": "Knee\x00", "details-condition": "x"}) + "&details-x=%FF",
    ):
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400
        assert b"This request cannot be read" in response.content
    world.draft_a.refresh_from_db()
    assert world.draft_a.title == "Next plan"


@pytest.mark.django_db
def test_a_multipart_post_with_a_nul_in_a_name_is_a_400(personas: Personas) -> None:
    client = login(Client(), personas.patient_a.user)
    answers = dict.fromkeys(PainCheckIn.RED_FLAG_FIELDS, "no")  # valid but for the NUL
    response = client.post(reverse("checkin"), {"nprs": "4", "side": "left", "no\x00te": "x", **answers})
    assert response.status_code == 400
    assert b"This request cannot be read" in response.content
    assert PainCheckIn.objects.count() == 0


@pytest.mark.django_db
def test_a_nul_in_the_path_is_a_404(personas: Personas) -> None:
    assert Client().get("/invite/%00/").status_code == 404
    assert Client().get("/reminders/stop/a%00b/").status_code == 404
    client = login(Client(), personas.owner.user)
    response = client.get("/api/v1/patients/%00/checkins/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["1e9", "-1", "0", "999999999999999999999999", "abc", ""])
def test_page_numbers_out_of_range_show_a_page(world: World, page: str) -> None:
    client = login(Client(), world.p.owner.user)
    for url in (
        "/caseload/",
        "/library/",
        "/audit/",
        reverse("patient-record", kwargs={"patient_id": world.p.patient_a.pk}),
    ):
        assert client.get(url, {"page": page}).status_code in (200, 400), (url, page)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["1e9", "-1", "0", "999999999999999999999999"])
def test_api_page_numbers_out_of_range_are_a_400_naming_page(world: World, page: str) -> None:
    client = APIClient()
    client.force_login(world.p.owner.user)
    response = client.get("/api/v1/patients/", {"page": page})
    assert response.status_code == 400
    assert "page" in response.json()


@pytest.mark.django_db
def test_a_whole_number_beyond_64_bits_is_a_400_on_pages_and_in_the_admin(world: World) -> None:
    """SQLite's driver raised OverflowError (a 500) for such an id in the admin's choice fields."""
    staff = login(Client(), world.p.staff)
    response = staff.post("/admin/auth/group/add/", {"name": "Desk", "permissions": "9" * 23})
    assert response.status_code == 400
    assert b"permissions: The value is a whole number beyond" in response.content
    owner = login(Client(), world.p.owner.user)
    assert owner.get("/caseload/", {"page": "9" * 5000}).status_code == 400
    # The largest value a column holds is still an ordinary value.
    assert owner.get("/caseload/", {"page": str(2**63 - 1)}).status_code == 200


@pytest.mark.django_db
def test_a_run_of_digits_is_text_like_any_other(world: World) -> None:
    """The newcomer's report: a check-in whose note was 23 digits was refused whole (400), the
    pain and the safety answers lost; a search for 23 nines too (portal.input_guard's
    FREE_TEXT_FIELDS)."""
    patient = login(Client(), world.p.patient_a.user)
    assert patient.post(reverse("checkin"), {**GOOD, "note": "1" * 23}).status_code == 302
    assert PainCheckIn.objects.filter(patient=world.p.patient_a).latest("received_at").note == "1" * 23
    owner = login(Client(), world.p.owner.user)
    found = owner.get("/caseload/", {"q": "9" * 23})
    assert found.status_code == 200 and "No patient matches" in found.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["abc", "1e9", "//evil.example/", "https://evil.example/"])
def test_acknowledging_an_alert_with_a_bad_next_goes_to_the_record(world: World, target: str) -> None:
    client = login(Client(), world.p.owner.user)
    response = client.post(
        reverse("alert-acknowledge", kwargs={"alert_id": world.alert_a.pk}), {"next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patient-record", kwargs={"patient_id": world.p.patient_a.pk})


@pytest.mark.django_db
def test_acknowledging_an_alert_returns_to_a_local_next(world: World) -> None:
    client = login(Client(), world.p.owner.user)
    response = client.post(
        reverse("alert-acknowledge", kwargs={"alert_id": world.alert_a.pk}), {"next": "/caseload/"}
    )
    assert response.status_code == 302 and response["Location"] == "/caseload/"


def test_a_direction_override_in_a_page_form_is_a_400_naming_the_field_and_saves_nothing(
    personas: Personas,
) -> None:
    """Right-to-left text is welcome; a character that reorders what is shown is not."""
    client = login(Client(), personas.owner.user)
    response = client.post(reverse("exercise-new"), {"name": "Bridge \u202eegdirb", "summary": "s"})
    assert response.status_code == 400
    assert b"name: The value contains a direction override character" in response.content
    assert not Exercise.objects.filter(clinic=personas.clinic).exists()
    arabic = client.get(reverse("library"), {"q": "\u062c\u0633\u0631"})
    assert arabic.status_code == 200
