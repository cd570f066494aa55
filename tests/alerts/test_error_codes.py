"""Only a therapist of the patient's clinic may acknowledge an alert; anyone else gets its code."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import Alert
from alerts.services import alert_acknowledge
from portal.errors import DomainError
from today.services import checkin_submit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["outsider", "patient", "staff"])
def test_acknowledging_another_clinics_alert_is_refused_with_its_code(
    personas: Any, plan_a_two_weeks_in: Any, who: str
) -> None:
    checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
    alert = Alert.objects.get()
    user = {"outsider": personas.outsider.user, "patient": personas.patient_a.user, "staff": personas.staff}[
        who
    ]
    with pytest.raises(DomainError) as refused:
        alert_acknowledge(alert=alert, by=user)
    assert (refused.value.code, refused.value.field) == ("not_clinic_therapist", None)
