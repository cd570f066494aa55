"""The client address behind the documented TLS proxy: one function, trusted proxies only.

docker-compose.yml puts gunicorn behind a proxy, so every request's peer is the
proxy. The client is read from X-Forwarded-For only when the peer is a trusted
proxy (PLINTH_TRUSTED_PROXIES), and login failures are counted per client address
and per account and address, so one client cannot lock anyone else out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from portal.access import client_ip
from tests.conftest import Personas
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.2"
CLIENT_A = "203.0.113.66"
CLIENT_B = "198.51.100.23"


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.PLINTH_TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8:1::/64"]


def ip_of(remote: str, xff: str | None = None) -> str | None:
    meta: dict[str, str] = {"REMOTE_ADDR": remote}
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return client_ip(RequestFactory().get("/", **meta))


def through_proxy(client: Client, email: str, password: str, client_address: str) -> Any:
    return client.post(
        reverse("login"),
        {"username": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
    )


# --- client_ip ----------------------------------------------------------------------------


@pytest.mark.usefixtures("behind_proxy")
def test_a_trusted_proxy_names_the_rightmost_untrusted_address_as_the_client() -> None:
    assert ip_of(PROXY, CLIENT_A) == CLIENT_A
    # A client that sends its own X-Forwarded-For cannot choose its address: the
    # proxy appends the real one, and that is the rightmost untrusted hop.
    assert ip_of(PROXY, f"1.2.3.4, {CLIENT_A}") == CLIENT_A
    # Two trusted proxies in a row are both skipped.
    assert ip_of(PROXY, f"1.2.3.4, {CLIENT_A}, 10.0.0.7") == CLIENT_A
    # Several headers arrive joined by commas; a port or brackets are not part of the address.
    assert ip_of(PROXY, f"{CLIENT_A}:51234") == CLIENT_A
    assert ip_of("2001:db8:1::9", "[2001:db8:2::5]:443") == "2001:db8:2::5"
    assert ip_of(PROXY, "::ffff:198.51.100.23") == CLIENT_B


@pytest.mark.usefixtures("behind_proxy")
def test_a_trusted_proxy_without_a_usable_header_is_itself_the_client() -> None:
    assert ip_of(PROXY) == PROXY
    assert ip_of(PROXY, "") == PROXY
    # Every hop trusted (the proxy's own health probe): the leftmost proxy is the client.
    assert ip_of(PROXY, "10.0.0.9") == "10.0.0.9"
    # A hop that is not an address: nothing left of it is believed.
    assert ip_of(PROXY, f"{CLIENT_A}, not-an-address") == PROXY


@pytest.mark.usefixtures("behind_proxy")
def test_an_untrusted_peer_cannot_spoof_its_address() -> None:
    assert ip_of(CLIENT_A, CLIENT_B) == CLIENT_A
    assert ip_of(CLIENT_A, f"{CLIENT_B}, {PROXY}") == CLIENT_A


def test_with_no_trusted_proxy_the_header_is_ignored(settings: Any) -> None:
    settings.PLINTH_TRUSTED_PROXIES = []
    assert ip_of(PROXY, CLIENT_A) == PROXY
    assert ip_of("") is None
    assert ip_of("garbage", CLIENT_A) is None


@pytest.mark.cli
def test_a_bad_trusted_proxy_setting_stops_startup() -> None:
    env = {"PLINTH_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PLINTH_TRUSTED_PROXIES" in done.stderr and "proxy.internal" in done.stderr


# --- the example: one client cannot lock everyone out ---------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_thirty_failures_from_one_client_do_not_lock_out_a_therapist_at_another(
    personas: Personas,
) -> None:
    client = Client()
    statuses = {
        through_proxy(client, f"nobody{i}@example.test", "guess", CLIENT_A).status_code for i in range(30)
    }
    # Refused along the way by the per-address limits, never let in.
    assert statuses <= {200, 429}
    therapist = through_proxy(Client(), personas.owner.user.email, PASSWORD, CLIENT_B)
    assert therapist.status_code == 302
    assert therapist.url == reverse("home")
    refused = through_proxy(Client(), personas.colleague.user.email, PASSWORD, CLIENT_A)
    assert refused.status_code == 429
    assert "Retry-After" in refused


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_a_locked_account_and_address_does_not_keep_the_account_owner_out(personas: Personas) -> None:
    email = personas.owner.user.email
    statuses = [through_proxy(Client(), email, "guess", CLIENT_A).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert through_proxy(Client(), email, PASSWORD, CLIENT_A).status_code == 429
    assert through_proxy(Client(), email, PASSWORD, CLIENT_B).status_code == 302


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_a_forged_header_does_not_escape_the_per_address_limit(personas: Personas, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "login_failures": (3, 3600)}
    for i in range(3):
        # The attacker makes up a new address each time; the proxy appends the real one.
        through_proxy(Client(), f"nobody{i}@example.test", "guess", f"192.0.2.{i}, {CLIENT_A}")
    assert through_proxy(Client(), "x@example.test", "guess", f"192.0.2.99, {CLIENT_A}").status_code == 429


@pytest.mark.django_db
def test_an_untrusted_peer_sending_the_header_is_counted_by_its_own_address(
    personas: Personas, settings: Any
) -> None:
    settings.PLINTH_TRUSTED_PROXIES = []
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "login_failures": (3, 3600)}
    for i in range(3):
        Client().post(
            reverse("login"),
            {"username": f"nobody{i}@example.test", "password": "guess"},
            REMOTE_ADDR=CLIENT_A,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )
    again = Client().post(
        reverse("login"),
        {"username": "x@example.test", "password": "guess"},
        REMOTE_ADDR=CLIENT_A,
        HTTP_X_FORWARDED_FOR=CLIENT_B,
    )
    assert again.status_code == 429


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_the_audit_trail_records_the_client_not_the_proxy(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.owner.user)
    response = client.get(
        reverse("patient-record", args=[personas.patient_a.pk]),
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"192.0.2.50, {CLIENT_B}",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.filter(patient=personas.patient_a).latest("at")
    assert event.ip_address == CLIENT_B


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_password_reset_is_limited_per_client_behind_the_proxy(personas: Personas, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "password_reset": (2, 900)}
    url = reverse("password_reset")

    def reset(address: str) -> int:
        return (
            Client()
            .post(url, {"email": "x@example.test"}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)
            .status_code
        )

    assert [reset(CLIENT_A) for _ in range(3)] == [302, 302, 429]
    assert reset(CLIENT_B) == 302
