"""Issue 15: acknowledging an alert records what was done, and the alert box's count follows at once.

The service and its note, the page (HTMX and without JS, from the record and from the attention
list), the API, and the attention list's actions (open the record, acknowledge, email).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from alerts.models import Alert, AlertKind
from alerts.selectors import attention_list, attention_top
from alerts.services import ACK_NOTE_MAX, alert_acknowledge
from audit.models import AuditEvent
from outcomes.models import OutcomeSnapshot
from portal.errors import DomainError
from tests.conftest import login
from tests.helpers import HTMX, history, make_plan
from today.services import checkin_submit

pytestmark = pytest.mark.django_db


def _red_flag(personas: Any, patient: Any = None) -> Alert:
    patient = patient or personas.patient_a
    plan = patient.plans.first() or make_plan(patient, therapist=personas.owner)
    history(plan, dict.fromkeys(range(0, 14), 4))
    checkin_submit(patient=patient, nprs=6, side="left", flag_fever=True)
    return Alert.objects.filter(patient=patient).latest("pk")


# --- the service ------------------------------------------------------------------------


def test_the_note_is_kept_on_the_alert_and_in_the_audit_trail(personas: Any) -> None:
    alert = _red_flag(personas)
    alert_acknowledge(alert=alert, by=personas.owner.user, note="  Phoned; GP visit booked today. ")
    alert.refresh_from_db()
    assert alert.acknowledged_note == "Phoned; GP visit booked today."
    event = AuditEvent.objects.get(action="alert.acknowledged")
    assert event.data == {"kind": "red_flag", "note": "Phoned; GP visit booked today."}
    # The first acknowledgement and its note stand.
    alert_acknowledge(alert=alert, by=personas.colleague.user, note="Something else")
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_note) == (
        personas.owner.user,
        "Phoned; GP visit booked today.",
    )


def test_a_note_over_the_limit_is_refused_and_nothing_is_acknowledged(personas: Any) -> None:
    alert = _red_flag(personas)
    assert ACK_NOTE_MAX == 500
    with pytest.raises(DomainError) as refused:
        alert_acknowledge(alert=alert, by=personas.owner.user, note="x" * 501)
    assert (refused.value.code, refused.value.field) == ("too_long", "note")
    alert.refresh_from_db()
    assert alert.is_open


# --- the page: the record ---------------------------------------------------------------


def test_htmx_acknowledge_on_the_record_swaps_the_alert_and_its_count(client: Client, personas: Any) -> None:
    first = _red_flag(personas)
    Alert.objects.create(patient=personas.patient_a, kind=AlertKind.SILENCE, detail="Quiet.")
    login(client, personas.owner.user)
    record = client.get(reverse("patient-record", args=[personas.patient_a.pk])).content.decode()
    assert '<h2 id="alerts-heading">Open alerts (2)</h2>' in record
    response = client.post(
        reverse("alert-acknowledge", args=[first.pk]),
        {"note": "Phoned her", "shown_on": "record", "next": "/patients/"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="alert-{first.pk}"' in html and "Acknowledged by Olive Owner" in html
    assert '<q class="ack-note">Phoned her</q>' in html
    # The count, out of band: one open alert left.
    assert '<h2 id="alerts-heading" hx-swap-oob="true">Open alerts (1)</h2>' in html


def test_htmx_acknowledge_with_a_too_long_note_comes_back_with_the_reason(
    client: Client, personas: Any
) -> None:
    alert = _red_flag(personas)
    login(client, personas.owner.user)
    response = client.post(
        reverse("alert-acknowledge", args=[alert.pk]), {"note": "x" * 501, "shown_on": "record"}, **HTMX
    )
    html = response.content.decode()
    # 200, so that HTMX swaps the form back in with the reason on the field.
    assert response.status_code == 200
    assert "at most 500 characters" in html and 'aria-invalid="true"' in html
    alert.refresh_from_db()
    assert alert.is_open


def test_without_javascript_a_refused_note_goes_back_with_a_message(client: Client, personas: Any) -> None:
    alert = _red_flag(personas)
    login(client, personas.owner.user)
    record = reverse("patient-record", args=[personas.patient_a.pk])
    response = client.post(reverse("alert-acknowledge", args=[alert.pk]), {"note": "x" * 501, "next": record})
    assert response.status_code == 302 and response["Location"] == record
    page = client.get(record).content.decode()
    assert "Not acknowledged: The note can be at most 500 characters." in page
    alert.refresh_from_db()
    assert alert.is_open


def test_the_record_shows_acknowledged_alerts_with_who_when_and_the_note(
    client: Client, personas: Any
) -> None:
    alert = _red_flag(personas)
    alert_acknowledge(alert=alert, by=personas.colleague.user, note="Seen in clinic")
    login(client, personas.owner.user)
    html = client.get(reverse("patient-record", args=[personas.patient_a.pk])).content.decode()
    assert "Open alerts" not in html
    section = html[html.index('id="acknowledged-heading"') :]
    assert "Acknowledged by Colin Colleague on" in section
    assert '<q class="ack-note">Seen in clinic</q>' in section


# --- the attention list -----------------------------------------------------------------


def test_each_attention_row_links_the_patient_and_offers_acknowledge_and_email(
    client: Client, personas: Any
) -> None:
    alert = _red_flag(personas)
    login(client, personas.owner.user)
    html = client.get(reverse("caseload")).content.decode()
    record = reverse("patient-record", args=[personas.patient_a.pk])
    assert f'<a class="attention-name" href="{record}">Ada Patient</a>' in html
    assert f'hx-post="{reverse("alert-acknowledge", args=[alert.pk])}" hx-target="#ack-{alert.pk}"' in html
    assert 'name="shown_on" value="attention"' in html
    email = personas.patient_a.user.email
    assert f'href="mailto:{email}?subject=About%20your%20care%20plan"' in html
    # No phone number on file: no call link rather than a dead one.
    assert "tel:" not in html
    assert '<span class="count-badge">1 alert to acknowledge</span>' in html


def test_running_worsening_and_silence_alerts_can_be_acknowledged_from_their_reason(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    history(plan, {**dict.fromkeys(range(0, 7), 3), **dict.fromkeys(range(7, 10), 6)})
    OutcomeSnapshot.objects.create(plan=plan, baseline=3.0, current=6.0, worsening=True)
    worse = Alert.objects.create(patient=personas.patient_a, plan=plan, kind=AlertKind.WORSENING)
    [row] = attention_list(clinic=personas.clinic)
    reasons = {reason.kind: reason.alert_id for reason in row.reasons}
    assert reasons["worsening"] == worse.pk and reasons["silence"] is None
    assert row.message_url.startswith("mailto:")
    alert_acknowledge(alert=worse, by=personas.owner.user)
    [row] = attention_list(clinic=personas.clinic)
    # Still worsening (the rule decides the list), but nothing left to acknowledge.
    assert [(r.kind, r.alert_id) for r in row.reasons] == [("worsening", None), ("silence", None)]


def test_htmx_acknowledge_on_the_attention_list_updates_its_counts(client: Client, personas: Any) -> None:
    alert = _red_flag(personas)
    _red_flag(personas, personas.patient_b)
    assert attention_top(clinic=personas.clinic).to_acknowledge == 2
    login(client, personas.owner.user)
    response = client.post(
        reverse("alert-acknowledge", args=[alert.pk]),
        {"note": "Called, resolved", "shown_on": "attention", "next": "/caseload/"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<div class="ack" id="ack-{alert.pk}">')
    assert "Acknowledged by Olive Owner" in html and "Called, resolved" in html
    heading = re.search(r'<h2 id="attention-heading" hx-swap-oob="true">(.*?)</h2>', html, re.S)
    assert heading is not None
    # Ada has nothing else to look at: one patient (Ben) and one alert left.
    assert "Needs attention today (1)" in heading.group(1)
    assert "1 alert to acknowledge" in heading.group(1)


# --- the API ----------------------------------------------------------------------------


def test_the_api_takes_an_optional_note(personas: Any) -> None:
    alert = _red_flag(personas)
    api = APIClient()
    api.force_authenticate(personas.owner.user)
    url = f"/api/v1/alerts/{alert.pk}/acknowledge/"
    assert api.post(url, {"note": "x" * 501}, format="json").status_code == 400
    assert api.post(url, {"mood": "ok"}, format="json").json() == {
        "mood": ["Unknown field; this endpoint does not accept it."]
    }
    response = api.post(url, {"note": "Rang the patient"}, format="json")
    assert response.status_code == 200
    assert response.json()["acknowledged_note"] == "Rang the patient"
    assert AuditEvent.objects.get(action="alert.acknowledged").data["note"] == "Rang the patient"
