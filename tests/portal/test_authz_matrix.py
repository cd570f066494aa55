"""The authorization matrix, generated from the URL configuration.

Every named route (pages, API, admin) is resolved with real objects and
requested as each persona; the expected status of every (route, persona) is in
TABLE (tests/portal/routes.py, with the personas and how each route is requested).
A route missing from TABLE fails the test, so a new page cannot ship unchecked; a
row whose route no longer exists fails it too. After patient A moves clinic, the
rows change as tests/portal/clinic_move.py says.

Run with PLINTH_MATRIX_DISCOVER=1 to print the observed row of every route
(for writing a new row; never copy it without reading it).
"""

from __future__ import annotations

import os

import pytest
from django.db import transaction
from django.urls import reverse

from caseload.services import patient_move_clinic
from tests.conftest import record_figure
from tests.helpers import PersonaClients
from tests.portal.clinic_move import FOLLOWS_PATIENT_A, STAYS_WITH_THE_CLINIC, after_move
from tests.portal.routes import MORE_METHODS, PERSONAS, TABLE, all_route_names, request, row_for
from tests.world import World


def test_every_route_is_in_the_table() -> None:
    names = all_route_names()
    missing = [name for name in names if row_for(name) is None]
    stale = sorted(set(TABLE) - set(names))
    where = "tests/portal/routes.py TABLE"
    assert not missing, f"{len(missing)} route(s) have no row in {where}: {', '.join(missing)}"
    assert not stale, f"TABLE rows for routes that no longer exist: {', '.join(stale)}"


def test_every_row_that_differs_between_clinics_says_whether_it_follows_the_patient() -> None:
    for name in all_route_names():
        row = row_for(name)
        if row is None:
            continue
        by = dict(zip(PERSONAS, row[2].split(), strict=True))
        if by["owner"] != by["outsider"]:
            assert name in FOLLOWS_PATIENT_A | STAYS_WITH_THE_CLINIC, (
                f"{name}: owner and outsider differ; add it to FOLLOWS_PATIENT_A or STAYS_WITH_THE_CLINIC"
            )
    assert not (FOLLOWS_PATIENT_A | STAYS_WITH_THE_CLINIC) - set(all_route_names())
    assert set(MORE_METHODS) <= set(TABLE)


def run_matrix(world: World, *, moved: bool) -> None:
    discover = os.environ.get("PLINTH_MATRIX_DISCOVER") == "1"
    failures: list[str] = []
    checked = 0
    clients = PersonaClients(world)
    names = all_route_names()
    rows = [(name, row) for name in names if (row := row_for(name)) is not None]
    # Routes without a row are reported by test_every_route_is_in_the_table.
    rows += [(name, row) for name, more in MORE_METHODS.items() for row in more]
    for name, row in rows:
        method, args, expected_row = row
        expected = expected_row.split()
        assert len(expected) == len(PERSONAS), f"{name}: row needs {len(PERSONAS)} statuses"
        if moved:
            expected = after_move(name, expected)
        observed: list[str] = []
        for persona, want in zip(PERSONAS, expected, strict=True):
            client = clients.client(persona)
            # Each request in its own rolled-back transaction, with the client's cookies put
            # back after it: a POST by one persona (a logout too) must not change what the
            # next request sees.
            with transaction.atomic(), clients.kept_cookies(client):
                url = reverse(name, kwargs=args(world))
                status = request(client, method, url, name)
                transaction.set_rollback(True)
            observed.append(str(status))
            checked += 1
            if status >= 500:
                failures.append(f"{name} as {persona}: {method} {url} -> {status} (server error)")
            elif want != "*" and str(status) != want and not discover:
                failures.append(f"{name} as {persona}: {method} {url} -> {status}, expected {want}")
        if discover:
            print(f'    "{name}": ("{method}", ..., "{" ".join(observed)}"),')
    label = "authorization matrix" + (" after a clinic move" if moved else "")
    figure = f"{label}: {len(names)} routes x {len(PERSONAS)} personas, {checked} requests"
    print(figure)
    record_figure(figure)
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_authorization_matrix(world: World) -> None:
    run_matrix(world, moved=False)


@pytest.mark.django_db
def test_authorization_matrix_after_patient_a_moves_to_the_outsiders_clinic(world: World) -> None:
    """Tenancy has one source: every route about patient A follows them to their new clinic."""
    p = world.p
    patient_move_clinic(patient=p.patient_a, clinic=p.other_clinic, therapist=p.outsider, by=p.staff)
    p.patient_a.refresh_from_db()
    run_matrix(world, moved=True)
