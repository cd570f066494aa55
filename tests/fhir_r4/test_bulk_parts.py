"""The bulk export in part files: pk ranges, one task a part, the last part ends it; failure and
cancellation with several parts (fhir_r4.export_writer)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from checkins.models import PainCheckIn
from fhir_r4.export_writer import export_dir, export_run, exports_expire, part_run, pk_ranges
from fhir_r4.models import BulkExport, ExportStatus
from fhir_r4.selectors import RESOURCE_TYPES, Scope
from tests.factories import PainCheckInFactory
from tests.fhir_r4.conftest import FHIR, OddClinic, owner_client
from tests.helpers import as_user, make_plan

pytestmark = pytest.mark.django_db


def more_checkins(odd: OddClinic, days: int) -> None:
    plan = make_plan(odd.li, therapist=odd.p.owner)
    for day in range(days):
        PainCheckInFactory(plan=plan, local_date=plan.start_date + timedelta(days=day))


def requested(odd: OddClinic, types: list[str]) -> BulkExport:
    """An export as export_request records it (its task not published: the test runs it)."""
    return BulkExport.objects.create(
        requester=odd.p.owner.user,
        clinic=odd.p.clinic,
        types=types,
        request_url=f"http://testserver{FHIR}/Group/{odd.p.clinic.pk}/$export",
        created=timezone.now(),
        expires=timezone.now() + timedelta(hours=1),
    )


def test_pk_ranges_cut_any_queryset_into_nearly_equal_consecutive_ranges(odd: OddClinic) -> None:
    more_checkins(odd, 17)  # 20 check-ins in the clinic
    rows = RESOURCE_TYPES["Observation"].sources[0].rows(Scope(clinic=odd.p.clinic))
    every = sorted(rows.values_list("pk", flat=True))
    assert len(every) == 20
    for parts, sizes in [(1, [20]), (3, [7, 7, 6]), (4, [5, 5, 5, 5]), (20, [1] * 20), (50, [1] * 20)]:
        ranges = pk_ranges(rows, parts)
        held = [
            [pk for pk in every if (low is None or pk >= low) and (high is None or pk < high)]
            for low, high in ranges
        ]
        assert [len(pks) for pks in held] == sizes
        assert [pk for pks in held for pk in pks] == every  # each row in exactly one range, in order
        assert ranges[0][0] is None and ranges[-1][1] is None
    assert pk_ranges(rows.none(), 4) == [(None, None)]
    assert pk_ranges(PainCheckIn.objects.filter(nprs__gt=10), 3) == [(None, None)]
    with pytest.raises(ValueError, match="at least 1"):
        pk_ranges(rows, 0)


def test_a_big_type_is_written_in_parts_by_tasks_of_their_own_and_the_last_ends_the_export(
    odd: OddClinic, settings: Any
) -> None:
    settings.FHIR_EXPORT_PART_ROWS = 8
    more_checkins(odd, 17)
    export = requested(odd, ["Patient", "Observation"])
    published: list[int] = []
    assert export_run(export.pk, publish=published.append) == "running"
    export.refresh_from_db()
    # 5 patients in one part; 20 check-ins over 8 a part: 3 parts, of 7, 7 and 6; the score: 1.
    assert export.parts == len(published) == 1 + 3 + 1
    client = owner_client(odd)
    status = f"{FHIR}/$export-status/{export.pk}"
    running = client.get(status)
    assert (
        running.status_code == 202 and running["X-Progress"] == "0 resources written; 0 of 5 files complete"
    )
    # The parts run in any order; each is counted once, however often its task is delivered.
    results = [part_run(file_id, batch_size=3) for file_id in reversed(published)]
    assert results == ["written", "written", "written", "written", "done"]
    assert part_run(published[0]) == "skipped"
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.parts_done == 5 and export.finished is not None
    body = client.get(status).json()
    outputs = [(o["type"], o["count"]) for o in body["output"]]
    assert outputs == [
        ("Patient", 5),
        ("Observation", 7),
        ("Observation", 7),
        ("Observation", 6),
        ("Observation", 1),
    ]
    ids: list[str] = []
    for number, output in enumerate(body["output"][1:], start=1):
        url = output["url"].removeprefix("http://testserver")
        assert url == f"{FHIR}/$export-status/{export.pk}/Observation.{number}.ndjson"
        lines = client.get(url).getvalue().decode().splitlines()
        ids += [json.loads(line)["id"] for line in lines]
        assert as_user(odd.p.colleague.user).get(url).status_code == 404  # the requester's only
    scope = Scope(clinic=odd.p.clinic)
    every = [
        f"{pk}{source.id_suffix}"
        for source in RESOURCE_TYPES["Observation"].sources
        for pk in source.rows(scope).values_list("pk", flat=True)
    ]
    assert sorted(ids) == sorted(every) and len(ids) == 21
    assert exports_expire(now=export.expires) == 1 and not (export_dir() / str(export.pk)).exists()


def test_a_failed_part_fails_the_export_and_stops_the_others(odd: OddClinic, settings: Any) -> None:
    settings.FHIR_EXPORT_PART_ROWS = 2
    export = requested(odd, ["Observation"])
    published: list[int] = []
    export_run(export.pk, publish=published.append)
    assert len(published) == 3  # 3 check-ins in parts of 2 and 1; the score
    assert part_run(published[0]) == "written"
    export.files.filter(pk=published[1]).update(resource_type="Encounter")  # no writer: KeyError
    assert part_run(published[1]) == "failed"
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and export.error == "The export failed: KeyError."
    assert not (export_dir() / str(export.pk)).exists()  # a failed export's files are removed
    response = owner_client(odd).get(f"{FHIR}/$export-status/{export.pk}")
    assert response.status_code == 500


def test_parts_of_a_deleted_export_stop(odd: OddClinic, settings: Any) -> None:
    settings.FHIR_EXPORT_PART_ROWS = 2
    export = requested(odd, ["Observation"])
    published: list[int] = []
    export_run(export.pk, publish=published.append)
    assert part_run(published[0]) == "written"
    assert owner_client(odd).delete(f"{FHIR}/$export-status/{export.pk}").status_code == 202
    assert part_run(published[1]) == "cancelled"
    assert not BulkExport.objects.exists() and not (export_dir() / str(export.pk)).exists()
