"""In Chromium on a phone: a patient completes the PSFS and the PEG at intake from Today, with no
script needed, a mistake shown beside its question, and axe-core finding nothing on the way; then
their therapist, at a desktop, sees both on the patient record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from library.services import library_load
from questionnaires.models import InstrumentResponse, ResponseStatus
from questionnaires.services import questionnaires_load_shipped
from tests.browsing import DESKTOP, PHONE, page_errors, signed_in
from tests.factories import PatientFactory, TherapistFactory
from tests.helpers import template_plan
from tests.portal.test_axe_browser import violations_on

pytestmark = pytest.mark.browser


def _tap_answer(page: Any, name: str, value: int) -> None:
    """Tap the tile of ``value`` for the question ``name`` (its label covers the hidden radio)."""
    page.locator(
        f'label[for="{page.locator(f"input[name={name!r}][value={str(value)!r}]").get_attribute("id")}"]'
    ).tap()


def test_a_patient_completes_psfs_and_peg_at_intake_on_a_phone(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    library_load()
    questionnaires_load_shipped()
    therapist = TherapistFactory(user__full_name="Tess Therapist")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Noor Haddad")
    template_plan(patient, therapist)
    context = signed_in(browser, live_server, patient.user, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = page_errors(page)
    axe = Axe()
    found: list[tuple[str, str, str]] = []
    try:
        page.goto(f"{live_server.url}/today/")
        card = page.locator(".questionnaires-card")
        assert card.locator("a").all_inner_texts() == [
            "Start PEG: pain, enjoyment of life and general activity",
            "Start Patient-Specific Functional Scale",
        ]
        card.screenshot(path=str(artifacts / "questionnaires-today-phone.png"))
        card.get_by_role("link", name="Start Patient-Specific Functional Scale").tap()

        # The PSFS: two activities named and rated; sent without the second rating first.
        page.get_by_label("What is the activity?").nth(0).fill("Climbing stairs")
        _tap_answer(page, "rating-1", 3)
        page.get_by_label("What is the activity?").nth(1).fill("Lifting my son")
        page.screenshot(path=str(artifacts / "questionnaires-psfs-phone.png"), full_page=True)
        found += violations_on(axe, page)
        # A rating with no activity named is refused beside it, the answers kept.
        page.get_by_label("What is the activity?").nth(2).fill("")
        _tap_answer(page, "rating-3", 5)
        page.get_by_role("button", name="Send").tap()
        expect(page.locator(".error-summary")).to_be_visible()
        refusal = "Name the activity you rated 5, or clear its rating."
        assert page.locator("#rating-3-error").inner_text() == refusal
        assert page.get_by_label("What is the activity?").nth(0).input_value() == "Climbing stairs"
        page.screenshot(path=str(artifacts / "questionnaires-psfs-error-phone.png"), full_page=True)
        found += violations_on(axe, page)
        page.get_by_label("What is the activity?").nth(2).fill("Gardening")
        _tap_answer(page, "rating-2", 4)
        page.get_by_role("button", name="Send").tap()
        expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
        found += violations_on(axe, page)

        # The PEG from the page after sending: three questions, three taps.
        page.get_by_role("link", name="Start PEG: pain, enjoyment of life and general activity").tap()
        for name, value in (("pain", 6), ("enjoyment", 5), ("activity", 7)):
            _tap_answer(page, name, value)
        page.screenshot(path=str(artifacts / "questionnaires-peg-phone.png"), full_page=True)
        page.get_by_role("button", name="Send").tap()
        expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
        page.screenshot(path=str(artifacts / "questionnaires-done-phone.png"), full_page=True)
        page.get_by_role("link", name="Back to today").tap()
        expect(page.locator(".exercises-heading")).to_be_visible()
        assert page.locator(".questionnaires-card").count() == 0
    finally:
        context.close()
    # The refused send answers 400 (the browser logs it); nothing else may go wrong.
    assert [error for error in errors if "status of 400" not in error] == [], errors
    assert sum("status of 400" in error for error in errors) == 1
    assert not found, found
    scores = dict(
        InstrumentResponse.objects.filter(status=ResponseStatus.COMPLETED).values_list(
            "instrument__code", "score"
        )
    )
    assert scores == {"psfs": 4.0, "peg": 6.0}

    # The therapist at a desktop: the record's Questionnaires section shows both, the PSFS's
    # activities by name with their ratings.
    desk = signed_in(browser, live_server, therapist.user, DESKTOP)
    record = desk.new_page()
    record_errors = page_errors(record)
    try:
        record.goto(f"{live_server.url}/patients/{patient.pk}/")
        section = record.locator('section[aria-labelledby="questionnaires-heading"]')
        expect(section).to_be_visible()
        text = section.inner_text()
        for words in (
            "Patient-Specific Functional Scale",
            "PEG",
            "Climbing stairs",
            "Lifting my son",
            "Gardening",
        ):
            assert words in text, words
        peg_table = section.get_by_role(
            "region", name="PEG: pain, enjoyment of life and general activity: scores"
        )
        assert "6" in peg_table.locator("tbody td").nth(1).inner_text()
        section.scroll_into_view_if_needed()
        section.screenshot(path=str(artifacts / "questionnaires-record-desktop.png"))
        record_found = violations_on(axe, record)
    finally:
        desk.close()
    assert not record_errors, record_errors
    assert not record_found, record_found
