"""Definition loading: the shipped files pass; a broken file is refused with its JSON path, nothing saved."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from audit.models import AuditEvent
from questionnaires.definitions import ACTIVITY_URL, DefinitionError, definition_checked
from questionnaires.models import Instrument
from questionnaires.services import instrument_load
from tests.questionnaires.shapes import odi_shaped, scoring, shipped


@pytest.mark.parametrize("name", ["psfs", "peg", "groc"])
def test_the_shipped_definitions_pass(name: str) -> None:
    checked = definition_checked(shipped(name))
    assert checked.code == name


def test_a_shipped_definition_reads_its_scoring() -> None:
    peg = definition_checked(shipped("peg"))
    assert (peg.method, peg.better, str(peg.mcid), peg.mcid_kind) == ("mean", "lower", "30", "percent")
    assert [item.link_id for item in peg.items] == ["pain", "enjoyment", "activity"]
    psfs = definition_checked(shipped("psfs"))
    assert {item.link_id: item.activity for item in psfs.items}["rating-3"] == "activity-3"
    assert psfs.text_items == {f"activity-{n}" for n in range(1, 6)}


def _peg() -> dict[str, Any]:
    return shipped("peg")


def _odi() -> dict[str, Any]:
    return odi_shaped()


def _set(source: Callable[[], dict[str, Any]], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    data = copy.deepcopy(source())
    change(data)
    return data


def _scoring_part(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for part in data["extension"][0]["extension"]:
            if part["url"] == name:
                key = next(key for key in part if key.startswith("value"))
                part[key] = value

    return change


def _duplicate_nested(data: dict[str, Any]) -> None:
    data["item"].append({"linkId": "more", "type": "group", "item": [{"linkId": "pain", "type": "display"}]})


# (case, broken definition, the path refused, a words of the reason)
BROKEN: list[tuple[str, dict[str, Any] | list[Any], str, str]] = [
    ("not an object", [1, 2], "(document)", "JSON object"),
    (
        "not a Questionnaire",
        _set(_peg, lambda d: d.update(resourceType="Patient")),
        "resourceType",
        "Questionnaire",
    ),
    (
        "FHIR structure: an unknown field",
        _set(_peg, lambda d: d["item"][1].update(bogus=1)),
        "item[1].bogus",
        "Extra inputs are not permitted",
    ),
    (
        "FHIR structure: a coding's code is a number",
        _set(_odi, lambda d: d["item"][2]["answerOption"][0]["valueCoding"].update(code=0)),
        "item[2].answerOption[0].valueCoding.code",
        "string",
    ),
    (
        "FHIR structure: no linkId",
        _set(_peg, lambda d: d["item"][2].pop("linkId")),
        "item[2].linkId",
        "required",
    ),
    ("retired", _set(_peg, lambda d: d.update(status="retired")), "status", "active or draft"),
    ("no version", _set(_peg, lambda d: d.pop("version")), "version", "required"),
    ("no title", _set(_peg, lambda d: d.update(title=" ")), "title", "required"),
    ("missing scoring", _set(_peg, lambda d: d.pop("extension")), "extension", "no Plinth scoring extension"),
    ("unknown method", _set(_peg, _scoring_part("method", "median")), "extension[0].extension[0]", "median"),
    (
        "unknown better",
        _set(_peg, _scoring_part("better", "up")),
        "extension[0].extension[3]",
        "unknown better",
    ),
    (
        "no method",
        _set(_peg, lambda d: d["extension"][0]["extension"].pop(0)),
        "extension[0]",
        "no method",
    ),
    (
        "unknown scoring part",
        _set(_peg, lambda d: d["extension"][0]["extension"].append({"url": "weight", "valueDecimal": 2})),
        "extension[0].extension[6]",
        "unknown scoring part 'weight'",
    ),
    (
        "score range not what the method gives",
        _set(_peg, _scoring_part("scoreMax", 9)),
        "extension[0].extension[2]",
        "mean gives 0 to 10",
    ),
    (
        "a score bound that is not a number",
        _set(
            _peg,
            lambda d: d["extension"][0]["extension"].__setitem__(1, {"url": "scoreMin", "valueString": "0"}),
        ),
        "extension[0].extension[1]",
        "scoreMin must be a number",
    ),
    (
        "mcid too precise",
        _set(_peg, _scoring_part("mcid", 0.125)),
        "extension[0].extension[4]",
        "2 decimal places",
    ),
    ("mcid of 0", _set(_peg, _scoring_part("mcid", 0)), "extension[0].extension[4]", "above 0"),
    (
        "mcid without its kind",
        _set(_peg, lambda d: d["extension"][0]["extension"].pop(5)),
        "extension[0]",
        "no mcidKind",
    ),
    (
        "minAnswered above the items",
        _set(_odi, _scoring_part("minAnswered", 11)),
        "extension[0].extension[6]",
        "must be 1 to 10, not 11",
    ),
    (
        "a sum that allows skips",
        _set(
            _peg,
            lambda d: d.update(
                extension=[scoring(method="sum", scoreMin=0, scoreMax=30, better="lower", minAnswered=2)]
            ),
        ),
        "extension[0].extension[4]",
        "must be 3, every item, for a sum",
    ),
    (
        "a LOINC code that is not one",
        _set(_peg, lambda d: d["extension"][0]["extension"].append({"url": "loinc", "valueCode": "PEG"})),
        "extension[0].extension[6]",
        "not a LOINC code",
    ),
    (
        "bad answer range: integer minimum above maximum",
        _set(_peg, lambda d: d["item"][1]["extension"][0].update(valueInteger=11)),
        "item[1].extension[1]",
        "answer range 11 to 10",
    ),
    (
        "bad answer range: an integer item without maxValue",
        _set(_peg, lambda d: d["item"][2]["extension"].pop(1)),
        "item[2].extension",
        "minValue and maxValue",
    ),
    (
        "bad answer range: every option the same value",
        _set(
            _odi,
            lambda d: [
                option["extension"][0].update(valueDecimal=3) for option in d["item"][4]["answerOption"]
            ],
        ),
        "item[4].answerOption",
        "answer range 3 to 3",
    ),
    (
        "an option without its ordinal value",
        _set(_odi, lambda d: d["item"][0]["answerOption"][2].pop("extension")),
        "item[0].answerOption[2]",
        "ordinalValue",
    ),
    (
        "an ordinal value that is not whole",
        _set(_odi, lambda d: d["item"][0]["answerOption"][1]["extension"][0].update(valueDecimal=1.5)),
        "item[0].answerOption[1].extension[0]",
        "whole number",
    ),
    (
        "duplicate link ids",
        _set(_peg, lambda d: d["item"][3].update(linkId="pain")),
        "item[3].linkId",
        "'pain'",
    ),
    ("duplicate link ids, nested", _set(_peg, _duplicate_nested), "item[4].item[0].linkId", "'pain'"),
    (
        "an item type Plinth cannot show",
        _set(_peg, lambda d: d["item"][1].update(type="date")),
        "item[1].type",
        "'date'",
    ),
    (
        "nothing scored",
        _set(_peg, lambda d: d.update(item=d["item"][:1])),
        "item",
        "no scored item",
    ),
    (
        "a rating that names a scored item as its activity",
        _set(
            _peg,
            lambda d: d["item"][1]["extension"].append({"url": ACTIVITY_URL, "valueString": "enjoyment"}),
        ),
        "item[1].extension",
        "not a string item",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "path", "reason"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_a_broken_definition_is_refused_with_its_path_and_nothing_is_saved(
    data: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        instrument_load(data)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert caught.value.message == f"{path}: {caught.value.reason}"
    assert caught.value.code == "definition_invalid"
    assert not Instrument.objects.exists()
    assert not AuditEvent.objects.filter(action="instrument.loaded").exists()
