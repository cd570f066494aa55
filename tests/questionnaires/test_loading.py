"""Loading instruments: the shipped ones once, a clinic's own scoped to it, the same file twice
changing nothing, a changed file refused; the commands and the admin's upload."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from portal.errors import DomainError
from questionnaires.models import Instrument
from questionnaires.scoring import instrument_score
from questionnaires.selectors import instruments_for_clinic
from questionnaires.services import instrument_load, questionnaires_load_shipped
from tests.conftest import Personas
from tests.questionnaires.shapes import odi_shaped, shipped

pytestmark = pytest.mark.django_db


def test_the_shipped_instruments_load_once() -> None:
    first = questionnaires_load_shipped()
    again = questionnaires_load_shipped()
    assert (first.loaded, first.unchanged, again.loaded, again.unchanged) == (3, 0, 0, 3)
    rows = {i.code: i for i in Instrument.objects.all()}
    assert set(rows) == {"psfs", "peg", "groc"}
    assert all(i.clinic is None for i in rows.values())
    assert (rows["psfs"].mcid, rows["psfs"].mcid_kind, rows["psfs"].better) == (
        Decimal(2),
        "points",
        "higher",
    )
    assert (rows["peg"].mcid, rows["peg"].mcid_kind, rows["peg"].better) == (Decimal(30), "percent", "lower")
    assert (rows["groc"].mcid, rows["groc"].mcid_kind, rows["groc"].score_min) == (None, "", Decimal(-7))
    assert AuditEvent.objects.filter(action="instrument.loaded").count() == 3


def test_a_loaded_instrument_scores_from_its_stored_definition() -> None:
    peg = instrument_load(shipped("peg"))
    assert instrument_score(peg, {"pain": 4, "enjoyment": 5, "activity": 6}).value == 5.0


def test_the_same_definition_again_is_the_same_instrument_and_writes_nothing(personas: Personas) -> None:
    first = instrument_load(odi_shaped(), clinic=personas.clinic, by=personas.staff)
    again = instrument_load(odi_shaped(), clinic=personas.clinic, by=personas.staff)
    assert again.pk == first.pk
    assert Instrument.objects.count() == 1
    entry = AuditEvent.objects.get(action="instrument.loaded")
    assert (entry.actor, entry.clinic_id, entry.data["code"]) == (
        personas.staff,
        personas.clinic.pk,
        "odi_shaped",
    )


def test_a_changed_definition_with_the_same_version_is_refused(personas: Personas) -> None:
    instrument_load(odi_shaped(), clinic=personas.clinic)
    changed = odi_shaped()
    changed["title"] = "Another title"
    with pytest.raises(DomainError) as caught:
        instrument_load(changed, clinic=personas.clinic)
    assert caught.value.code == "instrument_exists"
    assert Instrument.objects.get().title == odi_shaped()["title"]
    # A new version loads beside it.
    changed["version"] = "2"
    assert instrument_load(changed, clinic=personas.clinic).title == "Another title"
    assert Instrument.objects.count() == 2


def test_a_clinics_licensed_instrument_is_that_clinics_only(personas: Personas) -> None:
    questionnaires_load_shipped()
    odi = instrument_load(odi_shaped(), clinic=personas.clinic)
    mine = set(instruments_for_clinic(clinic=personas.clinic).values_list("code", flat=True))
    theirs = set(instruments_for_clinic(clinic=personas.other_clinic).values_list("code", flat=True))
    assert mine == {"psfs", "peg", "groc", "odi_shaped"}
    assert theirs == {"psfs", "peg", "groc"}
    # Another clinic's licence is its own: the same code and version load for it, apart.
    other = instrument_load(odi_shaped(), clinic=personas.other_clinic)
    assert other.pk != odi.pk
    assert odi.clinic == personas.clinic and other.clinic == personas.other_clinic


@pytest.mark.parametrize("scope", ["shared", "clinic"])
def test_the_database_refuses_a_second_row_with_the_same_code_version_and_scope(
    personas: Personas, scope: str
) -> None:
    clinic = personas.clinic if scope == "clinic" else None
    instrument = instrument_load(shipped("groc"), clinic=clinic)
    instrument.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        instrument.save()


# --- manage.py questionnaire_load and questionnaires_load_shipped --------------------------------


def _file(tmp_path: Path, data: object, name: str = "definition.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_command_loads_a_file_for_a_clinic(tmp_path: Path, personas: Personas) -> None:
    out = StringIO()
    call_command(
        "questionnaire_load", str(_file(tmp_path, odi_shaped())), clinic=personas.clinic.name, stdout=out
    )
    instrument = Instrument.objects.get()
    assert instrument.clinic == personas.clinic
    assert "odi_shaped 1, Northside Physio" in out.getvalue()


def test_the_command_prints_the_path_and_reason_of_a_refused_file(tmp_path: Path) -> None:
    broken = odi_shaped()
    broken["item"][3]["linkId"] = "section-1"
    path = _file(tmp_path, broken)
    with pytest.raises(CommandError) as caught:
        call_command("questionnaire_load", str(path))
    assert str(caught.value) == f"{path} refused: item[3].linkId: linkId 'section-1' is used twice"
    assert not Instrument.objects.exists()


def test_the_command_refuses_a_file_that_is_not_json_and_an_unknown_clinic(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("questionnaire_load", str(path))
    with pytest.raises(CommandError, match="No clinic is named 'Nowhere'"):
        call_command("questionnaire_load", str(_file(tmp_path, odi_shaped())), clinic="Nowhere")
    with pytest.raises(CommandError, match=r"missing\.json: No such file"):
        call_command("questionnaire_load", str(tmp_path / "missing.json"))
    assert not Instrument.objects.exists()


def test_the_shipped_command_says_what_it_loaded() -> None:
    out = StringIO()
    call_command("questionnaires_load_shipped", stdout=out)
    call_command("questionnaires_load_shipped", stdout=out)
    assert out.getvalue().splitlines() == [
        "Questionnaires: 3 loaded, 0 already there.",
        "Questionnaires: 0 loaded, 3 already there.",
    ]


# --- the admin ----------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client: Client, personas: Personas) -> Client:
    client.force_login(personas.staff)
    return client


def _upload(data: object) -> SimpleUploadedFile:
    return SimpleUploadedFile("definition.json", json.dumps(data).encode(), content_type="application/json")


def test_staff_load_a_clinics_definition_file_in_the_admin(staff_client: Client, personas: Personas) -> None:
    response = staff_client.post(
        reverse("admin:questionnaires_instrument_add"),
        {"clinic": personas.clinic.pk, "definition_file": _upload(odi_shaped())},
    )
    assert response.status_code == 302
    instrument = Instrument.objects.get()
    assert (instrument.clinic, instrument.loaded_by, instrument.method) == (
        personas.clinic,
        personas.staff,
        "percent_of_max",
    )
    page = staff_client.get(reverse("admin:questionnaires_instrument_change", args=[instrument.pk]))
    assert page.status_code == 200
    assert "Statement 5 of section 10" in page.content.decode()  # the definition, shown read-only
    assert 'name="title"' not in page.content.decode()


def test_the_admin_shows_a_refused_file_with_its_path_and_saves_nothing(staff_client: Client) -> None:
    broken = copy.deepcopy(shipped("peg"))
    broken["item"][1]["extension"][1]["valueInteger"] = 0
    response = staff_client.post(
        reverse("admin:questionnaires_instrument_add"), {"definition_file": _upload(broken)}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["definition_file"]
    assert errors == [
        "Refused at item[1].extension[1]: answer range 0 to 0: the lowest must be below the highest"
    ]
    assert not Instrument.objects.exists()


def test_the_admin_refuses_a_changed_file_with_the_same_version_and_a_file_that_is_not_json(
    staff_client: Client,
) -> None:
    instrument_load(shipped("peg"))
    changed = shipped("peg")
    changed["title"] = "PEG, reworded"
    url = reverse("admin:questionnaires_instrument_add")
    response = staff_client.post(url, {"definition_file": _upload(changed)})
    assert "give the file a new version" in response.context["adminform"].form.errors["definition_file"][0]
    response = staff_client.post(
        url, {"definition_file": SimpleUploadedFile("x.json", b"\xff\xfe", content_type="application/json")}
    )
    assert "not JSON" in response.context["adminform"].form.errors["definition_file"][0]
    assert Instrument.objects.get().title == shipped("peg")["title"]
