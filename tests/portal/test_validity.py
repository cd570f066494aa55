"""One definition of what is valid: the model fields decide, for every path that writes."""

from __future__ import annotations

import io
import json
import re
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.forms import PatientInviteForm
from accounts.models import Clinic, Patient, User
from accounts.services import patient_invite
from accounts.tokens import api_token_create
from accounts.zones import TimeZoneFormField, zone_canonical, zone_names
from careplans.models import CarePlan
from careplans.plan_templates import careplan_save_as_template
from careplans.services import careplan_create, careplan_end
from checkins.models import PainCheckIn
from portal.errors import DomainError
from portal.validity import shows_text
from tests.conftest import login
from tests.factories import ClinicFactory, PatientFactory

pytestmark = pytest.mark.django_db
HEADER = "clinic,therapist_email,patient_email,patient_name,timezone,plan_title,plan_start,date,nprs"


def _history(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "history.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _import(path: Path) -> str:
    out = io.StringIO()
    call_command("import_history", str(path), no_progress=True, stdout=out)
    return out.getvalue()


def _line(
    *, name: str = "Ann Ash", zone: str = "Europe/London", title: str = "Back plan", nprs: str = "5"
) -> str:
    start = timezone.localdate() - timedelta(days=30)
    return (
        f"Lakeside,tess@lake.test,ann@x.test,{name},{zone},{title},{start},{start + timedelta(days=1)},{nprs}"
    )


def _selected_zone(html: str) -> list[str]:
    select = re.search(r'<select name="timezone".*?</select>', html, re.S)
    assert select is not None
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select.group(0))


# --- import_history: the model fields' limits, every bad line, nothing written --------


def test_import_reports_names_and_titles_over_the_model_limits_and_writes_nothing(tmp_path: Path) -> None:
    path = _history(tmp_path, [_line(), _line(name="N" * 175), _line(title="T" * 251), _line()])
    with pytest.raises(CommandError) as caught:
        _import(path)
    message = str(caught.value)
    assert "2 bad line(s), nothing imported" in message
    assert "line 3: patient_name: Ensure this value has at most 150 characters (it has 175)." in message
    assert "line 4: plan_title: Ensure this value has at most 200 characters (it has 251)." in message
    assert "line 2:" not in message and "line 5:" not in message
    assert not Clinic.objects.exists() and not User.objects.exists() and not CarePlan.objects.exists()


def test_import_limits_follow_the_model_fields(tmp_path: Path) -> None:
    at_limit = _line(name="N" * User._meta.get_field("full_name").max_length)  # type: ignore[operator]
    assert "patients created: 1" in _import(_history(tmp_path, [at_limit]))
    assert len(User.objects.get(email="ann@x.test").full_name) == 150


def test_import_checks_every_stored_column_against_its_field(tmp_path: Path) -> None:
    start = timezone.localdate() - timedelta(days=30)
    day = start + timedelta(days=1)
    long_clinic = "C" * 201
    long_local = "t" * 160
    lines = [
        f"{long_clinic},tess@lake.test,ann@x.test,Ann,Europe/London,Plan,{start},{day},5",
        f"Lakeside,{long_local}@lake.test,ann@x.test,Ann,Europe/London,Plan,{start},{day},5",
        f"Lakeside,tess@lake.test,ann@x.test,,Europe/London,Plan,{start},{day},-1",
    ]
    with pytest.raises(CommandError) as caught:
        _import(_history(tmp_path, lines))
    message = str(caught.value)
    assert "line 2: clinic: Ensure this value has at most 200 characters (it has 201)." in message
    assert "line 3: therapist_email: the name made from it: Ensure this value has at most 150" in message
    assert "line 4: patient_name is empty; nprs -1 is outside 0-10" in message
    assert not Clinic.objects.exists()


def test_import_stores_a_zone_alias_in_canonical_form(tmp_path: Path) -> None:
    start = timezone.localdate() - timedelta(days=30)
    lines = [
        f"Lakeside,tess@lake.test,ann@x.test,Ann,NZ,Plan,{start},{start},5",
        # The same zone spelled canonically is the same patient, not a contradiction.
        f"Lakeside,tess@lake.test,ann@x.test,Ann,Pacific/Auckland,Plan,{start},{start + timedelta(days=1)},4",
    ]
    assert "patients created: 1" in _import(_history(tmp_path, lines))
    assert Patient.objects.get(user__email="ann@x.test").timezone == "Pacific/Auckland"
    # A second import that names the alias again matches the stored patient.
    assert "check-ins unchanged: 2" in _import(_history(tmp_path, lines))


# --- time zones: one list, canonical spelling --------------------------------------


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("NZ", "Pacific/Auckland"),
        ("US/Eastern", "America/New_York"),
        ("GB", "Europe/London"),
        ("UTC", "Etc/UTC"),
        ("Etc/Universal", "Etc/UTC"),
        ("Zulu", "Etc/UTC"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Europe/Kiev", "Europe/Kyiv"),
        # A location of its own in zone.tab stays as the person chose it.
        ("Europe/Amsterdam", "Europe/Amsterdam"),
        ("Pacific/Auckland", "Pacific/Auckland"),
    ],
)
def test_zone_aliases_have_one_canonical_name(alias: str, canonical: str) -> None:
    assert zone_canonical(alias) == canonical
    assert canonical in zone_names()
    assert alias == canonical or alias not in zone_names()


@pytest.mark.parametrize("bad", ["Mars/Olympus", "nz", "Factory", "", "Europe/London\x00"])
def test_unknown_zones_are_refused_with_a_code(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        zone_canonical(bad)
    assert caught.value.error_list[0].code == "unknown_zone"


def test_every_write_path_of_the_model_stores_the_canonical_zone() -> None:
    patient = PatientFactory(timezone="NZ")
    assert patient.timezone == "Pacific/Auckland"
    patient.refresh_from_db()
    assert patient.timezone == "Pacific/Auckland"
    Patient.objects.filter(pk=patient.pk).update(timezone="US/Eastern")
    patient.refresh_from_db()
    assert patient.timezone == "America/New_York"
    clinic = ClinicFactory(timezone="GB")
    assert Clinic.objects.get(pk=clinic.pk).timezone == "Europe/London"
    [made] = Clinic.objects.bulk_create([Clinic(name="Bulk", timezone="UTC")])
    assert Clinic.objects.get(name="Bulk").timezone == "Etc/UTC"
    assert made.timezone == "Etc/UTC"
    clinic.timezone = "Mars/Olympus"
    with pytest.raises(ValidationError) as caught:
        clinic.full_clean()
    assert "timezone" in caught.value.message_dict


# --- forms: the select shows and keeps the current zone ----------------------------


def test_settings_keep_an_nz_patient_in_auckland_when_only_the_reminder_time_changes(
    client: Any, personas: Any
) -> None:
    patient = personas.patient_a
    patient.timezone = "NZ"
    patient.save()
    login(client, patient.user)
    page = client.get("/settings/").content.decode()
    assert _selected_zone(page) == ["Pacific/Auckland"]
    # What a browser posts: the selected option, and the one field the patient changed.
    response = client.post("/settings/", {"reminder_time": "07:30", "timezone": _selected_zone(page)[0]})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.timezone, patient.reminder_time) == ("Pacific/Auckland", time(7, 30))


def test_settings_store_an_alias_sent_by_hand_canonically(client: Any, personas: Any) -> None:
    login(client, personas.patient_a.user)
    response = client.post("/settings/", {"reminder_time": "08:00", "timezone": "US/Eastern"})
    assert response.status_code == 302
    personas.patient_a.refresh_from_db()
    assert personas.patient_a.timezone == "America/New_York"


def test_a_stored_zone_missing_from_the_list_is_shown_and_kept(client: Any, personas: Any) -> None:
    patient = personas.patient_a
    # Loadable, but not in the list (as a name the tz database one day drops would be).
    Patient.objects.filter(pk=patient.pk).update(timezone="Factory")
    login(client, patient.user)
    page = client.get("/settings/").content.decode()
    assert _selected_zone(page) == ["Factory"]
    response = client.post("/settings/", {"reminder_time": "09:15", "timezone": "Factory"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.timezone, patient.reminder_time) == ("Factory", time(9, 15))
    # Keeping it does not make it a choice for anyone else.
    response = client.post("/settings/", {"reminder_time": "09:15", "timezone": "Mars/Olympus"})
    assert response.status_code == 400


def test_add_patient_stores_an_alias_canonically_and_starts_on_the_clinic_zone(
    client: Any, personas: Any
) -> None:
    Clinic.objects.filter(pk=personas.clinic.pk).update(timezone="NZ")
    login(client, personas.owner.user)
    page = client.get("/patients/add/").content.decode()
    assert _selected_zone(page) == ["Pacific/Auckland"]
    response = client.post(
        "/patients/add/",
        {"full_name": "Nia Ngata", "email": "nia@x.test", "timezone": "NZ", "reminder_time": "18:00"},
    )
    assert response.status_code == 302
    assert Patient.objects.get(user__email="nia@x.test").timezone == "Pacific/Auckland"


def test_add_patient_form_takes_its_limits_from_the_user_model() -> None:
    form = PatientInviteForm(
        {"full_name": "N" * 151, "email": "n@x.test", "timezone": "Europe/London", "reminder_time": "18:00"}
    )
    assert not form.is_valid()
    assert "at most 150 characters" in form.errors["full_name"][0]


def test_admin_forms_for_zones_use_the_one_list(client: Any, personas: Any) -> None:
    login(client, personas.staff)
    clinic = personas.clinic
    page = client.get(f"/admin/accounts/clinic/{clinic.pk}/change/").content.decode()
    assert _selected_zone(page) == ["Europe/London"]
    response = client.post(
        f"/admin/accounts/clinic/{clinic.pk}/change/",
        {"name": clinic.name, "timezone": "GB", "created_at_0": "2026-01-01", "created_at_1": "10:00:00"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    clinic.refresh_from_db()
    assert clinic.timezone == "Europe/London"
    assert isinstance(Clinic._meta.get_field("timezone").formfield(), TimeZoneFormField)


def test_checkin_nprs_range_is_the_models() -> None:
    field = PainCheckIn._meta.get_field("nprs")
    for value in (-1, 11):
        with pytest.raises(ValidationError):
            field.clean(value, None)  # type: ignore[union-attr]
    assert field.clean(10, None) == 10  # type: ignore[union-attr]


# --- other places that restated a model's limits ----------------------------------


def test_api_plan_limits_are_the_model_fields(personas: Any) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(personas.owner.user)
    start = personas.patient_a.local_today().isoformat()
    response = client.post(
        "/api/v1/careplans/",
        {"patient": personas.patient_a.pk, "title": "T" * 201, "condition": "C" * 201, "start_date": start},
        format="json",
    )
    assert response.status_code == 400
    body = json.dumps(response.json())
    assert "title" in body and "condition" in body and "200" in body
    response = client.post(
        "/api/v1/careplans/",
        {"patient": personas.patient_a.pk, "title": "Back", "start_date": start, "length_weeks": 53},
        format="json",
    )
    assert response.status_code == 400 and "length_weeks" in json.dumps(response.json())
    assert not CarePlan.objects.exists()


def test_a_long_condition_is_refused_not_cut(personas: Any) -> None:
    from careplans.services import careplan_create
    from portal.errors import DomainError

    with pytest.raises(DomainError) as caught:
        careplan_create(
            patient=personas.patient_a,
            by=personas.owner,
            title="Back",
            condition="C" * 201,
            start_date=personas.patient_a.local_today(),
        )
    assert (caught.value.field, caught.value.code) == ("condition", "too_long")
    assert "200" in caught.value.message
    assert not CarePlan.objects.exists()


def test_the_library_loader_checks_each_exercise_with_its_model(monkeypatch: Any) -> None:
    from dataclasses import replace

    from library import services
    from library.builtin import builtin_library
    from library.models import Exercise

    shipped = builtin_library()
    broken = [{**shipped.exercises[0], "slug": "too-long-summary", "summary": "S" * 301}]
    monkeypatch.setattr(services, "builtin_library", lambda: replace(shipped, exercises=broken))
    with pytest.raises(ValidationError, match=r"too-long-summary.*summary"):
        services.library_load()
    assert not Exercise.objects.filter(slug="too-long-summary").exists()


def test_checkin_api_and_service_use_the_models_note_length(personas: Any) -> None:
    from today.services import NOTE_MAX

    assert PainCheckIn._meta.get_field("note").max_length == NOTE_MAX


INVISIBLE = "\u200b \u2060\n\u200d"  # zero-width space, a space, word joiner, line break, zero-width joiner


def test_text_that_shows_nothing_is_not_text() -> None:
    assert not shows_text("") and not shows_text(INVISIBLE)
    assert shows_text("Ada") and shows_text("7") and shows_text("\u062c\u0633\u0631") and shows_text("\u2014")


@pytest.mark.django_db
def test_every_required_text_refuses_only_invisible_characters(world: Any) -> None:
    """The same rule wherever a name, title or reason is required: one that shows nothing is none."""
    owner = world.p.owner
    attempts = {
        "patient name": lambda: patient_invite(
            clinic=owner.clinic,
            by=owner,
            full_name=INVISIBLE,
            email="new@example.org",
            timezone="UTC",
            reminder_time=time(18, 0),
        ),
        "plan title": lambda: careplan_create(
            patient=world.p.patient_a, by=owner, title=INVISIBLE, start_date=world.p.patient_a.local_today()
        ),
        "template name": lambda: careplan_save_as_template(plan=world.plan_a, by=owner, name=INVISIBLE),
        "end reason": lambda: careplan_end(plan=world.plan_a, by=owner, status="completed", reason=INVISIBLE),
        "token name": lambda: api_token_create(user=owner.user, name=INVISIBLE),
    }
    for what, attempt in attempts.items():
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.code == "required", what
