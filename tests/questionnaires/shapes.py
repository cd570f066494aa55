"""Definitions written for the tests: an ODI-shaped one (not the real, licensed wording) and a
small valid one to break, one way per case."""

from __future__ import annotations

import json
from typing import Any

from questionnaires.definitions import ORDINAL_URL, SCORING_URL
from questionnaires.services import SHIPPED_DIR


def scoring(**parts: Any) -> dict[str, Any]:
    """Plinth's scoring extension with these sub-extensions, each with the value type it takes."""
    kinds = {"method": "valueCode", "better": "valueCode", "mcidKind": "valueCode", "loinc": "valueCode"}
    return {
        "url": SCORING_URL,
        "extension": [
            {"url": name, kinds.get(name, "valueInteger" if name == "minAnswered" else "valueDecimal"): value}
            for name, value in parts.items()
        ],
    }


def odi_shaped(version: str = "1") -> dict[str, Any]:
    """Ten choice items scored 0-5 (six options each), percent of the maximum over answered items,
    no score if more than 2 of the 10 are skipped (minAnswered 8), lower is better."""
    items = [
        {
            "linkId": f"section-{n}",
            "type": "choice",
            "text": f"Test section {n}: which statement fits you best today?",
            "answerOption": [
                {
                    "valueCoding": {"code": f"s{n}-{value}", "display": f"Statement {value} of section {n}"},
                    "extension": [{"url": ORDINAL_URL, "valueDecimal": value}],
                }
                for value in range(6)
            ],
        }
        for n in range(1, 11)
    ]
    return {
        "resourceType": "Questionnaire",
        "url": "https://clinic.example/fhir/Questionnaire/odi-shaped",
        "version": version,
        "name": "ODI_shaped",
        "title": "A disability index shaped like the ODI (test wording)",
        "status": "active",
        "extension": [
            scoring(
                method="percent_of_max",
                scoreMin=0,
                scoreMax=100,
                better="lower",
                mcid=10,
                mcidKind="points",
                minAnswered=8,
            )
        ],
        "item": items,
    }


def shipped(name: str) -> dict[str, Any]:
    """A shipped definition file, parsed (``psfs``, ``peg``, ``groc``)."""
    data: dict[str, Any] = json.loads((SHIPPED_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data
