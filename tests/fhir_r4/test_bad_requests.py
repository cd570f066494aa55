"""What a newcomer sent the FHIR server that it answered badly: input the site-wide guard refuses
(numbers past 64 bits, NUL) now comes back as an OperationOutcome like every other FHIR error; ids
are exact strings ("00012" is not "12"); an empty ``_type`` is refused, not read as every type."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.fhir_r4.conftest import FHIR, OddClinic, fhir_get, owner_client
from tests.fhir_r4.test_bulk import kick_off

pytestmark = pytest.mark.django_db


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    OperationOutcome.model_validate(body)
    return body


@pytest.mark.parametrize(
    "path",
    [
        "Patient?_id=99999999999999999999",
        "Observation?patient=9223372036854775808",
        "Observation?_count=99999999999999999999",
        "Patient?_page=99999999999999999999",
        "Patient?_id=%00",
        "Patient/1?foo=99999999999999999999",
        "Group/1/$export?_since=%00",
        "metadata?x=%00",
    ],
)
def test_input_the_guard_refuses_is_an_operation_outcome(odd: OddClinic, path: str) -> None:
    body = outcome(owner_client(odd).get(f"{FHIR}/{path}"), 400)
    assert body["issue"][0]["code"] == "invalid" and body["issue"][0]["diagnostics"]
    # Signed out too: the guard answers before authentication.
    outcome(Client().get(f"{FHIR}/{path}"), 400)


def test_ids_are_exact_strings(odd: OddClinic) -> None:
    client = owner_client(odd)
    pk = odd.red_flag.pk
    assert fhir_get(client, f"Observation/{pk}").status_code == 200
    for path in (f"Observation/0{pk}", f"Observation/+{pk}", f"Observation/0{odd.psfs.pk}-score"):
        assert outcome(fhir_get(client, path), 404)["issue"][0]["code"] == "not-found"
    assert outcome(fhir_get(client, f"Patient/0{odd.zoe.pk}/$everything"), 404)
    assert outcome(fhir_get(client, "Observation", _id=f"0{pk}"), 400)["issue"][0]["expression"] == ["_id"]


def test_an_empty_type_is_refused(odd: OddClinic) -> None:
    body = outcome(kick_off(owner_client(odd), odd.p.clinic.pk, _type=""), 400)
    assert body["issue"][0]["expression"] == ["_type"]
