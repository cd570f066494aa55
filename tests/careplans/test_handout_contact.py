"""The handout, page and PDF, ends with the clinic's contact details (issue 15); none, no block."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from careplans.models import CarePlan
from tests.careplans.test_handout import pdf_text
from tests.helpers import as_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_details(personas: Any) -> None:
    clinic = personas.clinic
    clinic.phone = "020 7946 0321"
    clinic.address = "14 Wharf Lane\nLondon\nSE1 9ZZ"
    clinic.email = "desk@northside.example.org"
    clinic.out_of_hours = "When we are closed, call NHS 111."
    clinic.full_clean()
    clinic.save()


@pytest.mark.parametrize("who", ["therapist", "patient"])
def test_handout_page_ends_with_the_clinics_details(
    plan_a: CarePlan, personas: Any, clinic_details: None, who: str
) -> None:
    if who == "therapist":
        response = as_user(personas.owner.user).get(reverse("plan-handout", args=[plan_a.pk]))
    else:
        response = as_user(personas.patient_a.user).get(reverse("my-handout"))
    html = response.content.decode()
    block = html[html.index('<section class="handout-clinic"') : html.index('<footer class="handout-foot')]
    assert '<h2 id="handout-clinic-heading">Northside Physio</h2>' in block
    assert '<a href="tel:02079460321">020 7946 0321</a>' in block
    assert "14 Wharf Lane<br>London<br>SE1 9ZZ" in block
    assert "desk@northside.example.org" in block and "call NHS 111" in block
    # Once: the handout is the patient's page here, and its own block replaces the page's foot.
    assert html.count("tel:02079460321") == 1 and "site-footer" not in html


@pytest.mark.parametrize("who", ["therapist", "patient"])
def test_handout_pdf_ends_with_the_clinics_details(
    plan_a: CarePlan, personas: Any, clinic_details: None, who: str
) -> None:
    if who == "therapist":
        response = as_user(personas.owner.user).get(reverse("plan-handout-pdf", args=[plan_a.pk]))
    else:
        response = as_user(personas.patient_a.user).get(reverse("my-handout-pdf"))
    text = pdf_text(response.content)
    block = text[text.rindex("Northside Physio") :]
    for line in (
        "Phone: 020 7946 0321",
        "Address: 14 Wharf Lane, London, SE1 9ZZ",
        "Email: desk@northside.example.org",
        "When we are closed, call NHS 111.",
    ):
        assert line in block, (line, block)


def test_handout_of_a_clinic_without_details_has_no_contact_block(plan_a: CarePlan, personas: Any) -> None:
    html = as_user(personas.owner.user).get(reverse("plan-handout", args=[plan_a.pk])).content.decode()
    assert "handout-clinic" not in html and "clinic-contact" not in html
    text = pdf_text(as_user(personas.owner.user).get(reverse("plan-handout-pdf", args=[plan_a.pk])).content)
    assert "Phone:" not in text and "Northside Physio" not in text
