"""Every authenticated response is Cache-Control: no-store, private (portal.caching.NoStoreMiddleware).

Walks every named route of the URLconf (the authorization matrix's table gives
each its method and arguments) as a logged-in therapist, patient and staff
member, and checks the header on whatever comes back: pages, HTMX fragments,
the API, exports, the handout PDF, the admin, redirects and 404s alike.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import _new_invitation
from accounts.tokens import api_token_create
from tests.helpers import PersonaClients
from tests.portal.routes import all_route_names, request_response, row_for
from tests.world import World

pytestmark = pytest.mark.django_db

#: Routes whose answer is no patient's data and never changes under its address, kept a day in
#: the user's own browser (``private``, never a shared cache): an exercise's picture or video
#: (library.media_views, portal.caching.cache_privately).
PRIVATELY_CACHED = frozenset({"exercise-media-file"})


def stored(cache_control: str) -> list[str]:
    """What is missing from a Cache-Control value that must keep a response out of every cache."""
    directives = {part.strip().split("=")[0] for part in cache_control.split(",")}
    return [name for name in ("no-store", "private") if name not in directives]


@pytest.mark.parametrize("persona", ["owner", "patient_a", "staff"])
def test_every_route_answers_a_logged_in_user_with_no_store(world: World, persona: str) -> None:
    failures: list[str] = []
    checked = 0
    clients = PersonaClients(world)
    client = clients.client(persona)
    for name in all_route_names():
        row = row_for(name)
        assert row is not None, f"{name} has no row in the authorization matrix"
        method, args, _ = row
        # The logout routes end the session: rolled back, with the cookies put back.
        with transaction.atomic(), clients.kept_cookies(client):
            url = reverse(name, kwargs=args(world))
            response = request_response(client, method, url, name)
            transaction.set_rollback(True)
        checked += 1
        if name in PRIVATELY_CACHED and response.status_code == 200:
            directives = {part.strip() for part in response["Cache-Control"].split(",")}
            if not {"private", "max-age=86400"} <= directives:
                failures.append(
                    f"{method} {url} ({name}): {response['Cache-Control']}, not private for a day"
                )
            continue
        missing = stored(response.get("Cache-Control", ""))
        if missing:
            failures.append(f"{method} {url} ({name}) -> {response.status_code}: no {', '.join(missing)}")
    assert checked > 90
    assert not failures, "\n".join(failures)


def test_patient_record_page_is_not_stored(world: World) -> None:
    client = Client()
    client.force_login(world.p.owner.user)
    response = client.get(reverse("patient-record", args=[world.p.patient_a.pk]))
    assert response.status_code == 200
    assert stored(response["Cache-Control"]) == []
    assert "max-age=0" in response["Cache-Control"]


def test_htmx_fragments_and_token_api_calls_are_not_stored(world: World) -> None:
    client = Client()
    client.force_login(world.p.owner.user)
    fragment = client.get(
        reverse("caseload"), {"q": "Ada"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="caseload-results"
    )
    assert fragment.status_code == 200
    assert stored(fragment["Cache-Control"]) == []

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.owner_key}")
    detail = api.get(reverse("api-patient-detail", args=[world.p.patient_a.pk]))
    assert detail.status_code == 200
    assert stored(detail["Cache-Control"]) == []
    patient_key = api_token_create(user=world.p.patient_a.user, name="Phone").key
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {patient_key}")
    export = api.get(reverse("api-me-export"))
    assert export.status_code == 200
    assert stored(export["Cache-Control"]) == []
    # A refused token's answer is not kept either.
    api.credentials(HTTP_AUTHORIZATION="Bearer nope.nope")
    assert stored(api.get(reverse("api-me"))["Cache-Control"]) == []


def test_the_invitation_page_naming_the_patient_is_not_stored(world: World) -> None:
    token = _new_invitation(patient=world.p.patient_a, by=world.p.owner.user)
    response = Client().get(reverse("invitation", args=[token]))
    assert response.status_code == 200
    assert stored(response["Cache-Control"]) == []
