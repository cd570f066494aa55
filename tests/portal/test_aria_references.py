"""Every page's accessibility references point at something: ``aria-describedby``,
``aria-labelledby``, ``aria-controls`` and ``<label for>`` name ids that exist on the page.

A help text or error that a screen reader is told to read must be there to read. Walks every
GET route of the URLconf as a therapist, a patient and a staff member (the admin included).
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.db import transaction
from django.urls import reverse

from tests.helpers import PersonaClients
from tests.portal.routes import all_route_names, request_response, row_for
from tests.world import World

pytestmark = pytest.mark.django_db

REFERENCES = ("aria-describedby", "aria-labelledby", "aria-controls")


class References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.wanted: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for name in REFERENCES:
            for ref in (values.get(name) or "").split():
                self.wanted.append((f"{tag} {name}", ref))
        if tag == "label" and values.get("for"):
            self.wanted.append(("label for", str(values["for"])))


def dangling(html: str) -> list[str]:
    """The references in ``html`` whose id is not on the page, as ``"<tag attr> -> id"``."""
    parser = References()
    parser.feed(html)
    return [f"{where} -> {ref}" for where, ref in parser.wanted if ref not in parser.ids]


def test_a_reference_to_a_missing_id_is_found() -> None:
    page = '<p id="a"></p><input aria-describedby="a b"><label for="c">C</label>'
    assert dangling(page) == ["input aria-describedby -> b", "label for -> c"]


@pytest.mark.parametrize("persona", ["owner", "patient_a", "staff"])
def test_every_page_references_only_ids_it_has(world: World, persona: str) -> None:
    failures: list[str] = []
    pages = 0
    clients = PersonaClients(world)
    client = clients.client(persona)
    for name in all_route_names():
        row = row_for(name)
        assert row is not None
        method, args, _ = row
        if method != "GET" or name.startswith("api-") or name in ("logout", "admin:logout"):
            continue
        with transaction.atomic(), clients.kept_cookies(client):
            url = reverse(name, kwargs=args(world))
            response = request_response(client, method, url, name)
            transaction.set_rollback(True)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        failures += [f"{url}: {problem}" for problem in dangling(response.content.decode())]
    assert pages > 10
    assert not failures, "\n".join(sorted(set(failures)))
