"""FHIR Bulk Data export of a clinic's Group: kick-off, status, files, tenancy, expiry, batching."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from audit.models import AuditEvent
from checkins.models import PainCheckIn
from fhir_r4.export_writer import Cancelled, export_dir, exports_expire, write_part
from fhir_r4.models import BulkExport, BulkExportFile, ExportStatus
from fhir_r4.selectors import RESOURCE_TYPES, Scope
from fhir_r4.tasks import fhir_export_run, fhir_exports_expire
from portal.celery import app
from tests.factories import PainCheckInFactory, PatientFactory
from tests.fhir_r4.conftest import FHIR, OddClinic, owner_client
from tests.helpers import as_user, make_plan

ASYNC = {"HTTP_PREFER": "respond-async"}


def kick_off(client: Client, clinic_id: int, **params: Any) -> Any:
    return client.get(f"{FHIR}/Group/{clinic_id}/$export", params, **ASYNC)


def status_path(response: Any) -> str:
    return str(response["Content-Location"]).removeprefix("http://testserver")


def exported(odd: OddClinic, capture: Any, **params: Any) -> tuple[Client, str]:
    """Kick off an export as the owner, run its task as the worker would; the status path."""
    client = owner_client(odd)
    with capture() as published:
        response = kick_off(client, odd.p.clinic.pk, **params)
    assert response.status_code == 202, response.content
    assert len(published) == 1  # the task, published once the request committed
    path = status_path(response)
    assert client.get(path).status_code == 202
    fhir_export_run(BulkExport.objects.get().pk)
    return client, path


def test_a_round_trip_exports_every_resource_of_the_clinic_valid_and_counted(
    odd: OddClinic, django_capture_on_commit_callbacks: Any
) -> None:
    other = PatientFactory(clinic=odd.p.other_clinic, therapist=odd.p.outsider)
    PainCheckInFactory(plan=make_plan(other))
    client = owner_client(odd)
    with django_capture_on_commit_callbacks() as published:
        response = kick_off(client, odd.p.clinic.pk)
    assert response.status_code == 202 and len(published) == 1
    assert response.json()["resourceType"] == "OperationOutcome"
    path = status_path(response)
    running = client.get(path)
    assert running.status_code == 202 and running["X-Progress"] == "Queued" and running["Retry-After"]

    fhir_export_run(BulkExport.objects.get().pk)
    done = client.get(path)
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["requiresAccessToken"] is True and body["error"] == []
    assert body["request"].endswith(f"/Group/{odd.p.clinic.pk}/$export")
    # One file a source of each type (Observation: the check-ins, then the scores), in type order.
    assert list(dict.fromkeys(f["type"] for f in body["output"])) == list(RESOURCE_TYPES)
    scope = Scope(clinic=odd.p.clinic)
    validated = 0
    ids: dict[str, list[str]] = {}
    for output in body["output"]:
        name = output["type"]
        download = client.get(output["url"].removeprefix("http://testserver"))
        assert download.status_code == 200 and download["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(download.streaming_content).decode().splitlines()
        model = get_fhir_model_class(name)
        resources = [model.model_validate(json.loads(line)) for line in lines]
        validated += len(resources)
        ids.setdefault(name, []).extend(str(r.id) for r in resources)
        assert output["count"] == len(lines) > 0
    for name, kind in RESOURCE_TYPES.items():
        assert sorted(ids[name]) == sorted(
            f"{pk}{source.id_suffix}"
            for source in kind.sources
            for pk in source.rows(scope).values_list("pk", flat=True)
        )
    assert validated == sum(f["count"] for f in body["output"])
    # The other clinic's patient is in no file; the check-ins (3) and the PSFS's score are this clinic's.
    counts = [(f["type"], f["count"]) for f in body["output"]]
    assert counts[-4:] == [
        ("Observation", 3),
        ("Observation", 1),
        ("Questionnaire", 3),
        ("QuestionnaireResponse", 2),
    ]
    actions = list(
        AuditEvent.objects.filter(action__startswith="fhir.export").values_list("action", flat=True)
    )
    assert sorted(actions) == ["fhir.export_downloaded"] * len(body["output"]) + ["fhir.export_requested"]
    assert set(AuditEvent.objects.filter(action__startswith="fhir.").values_list("clinic", flat=True)) == {
        odd.p.clinic.pk
    }


def test_type_and_since_narrow_the_export(odd: OddClinic, django_capture_on_commit_callbacks: Any) -> None:
    client, path = exported(odd, django_capture_on_commit_callbacks, _type="Observation,Patient")
    body = client.get(path).json()
    assert [(f["type"], f["count"]) for f in body["output"]] == [
        ("Patient", 5),
        ("Observation", 3),  # the check-ins
        ("Observation", 1),  # the score
    ]
    # _since: only resources updated at or after it (a check-in's receipt or correction; a score's
    # response sent).
    long_ago = timezone.now() - timedelta(days=2)
    PainCheckIn.objects.exclude(pk=odd.red_flag.pk).update(received_at=long_ago, corrected_at=None)
    BulkExport.objects.all().delete()
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    client, path = exported(odd, django_capture_on_commit_callbacks, _since=since, _type="Observation")
    output = client.get(path).json()["output"]
    assert [(f["type"], f["count"]) for f in output] == [("Observation", 1), ("Observation", 1)]
    lines = [line for f in output for line in client.get(f["url"]).getvalue().decode().splitlines()]
    assert [json.loads(line)["id"] for line in lines] == [str(odd.red_flag.pk), f"{odd.psfs.pk}-score"]
    BulkExport.objects.all().delete()
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    client, path = exported(odd, django_capture_on_commit_callbacks, _since=later, _type="Observation")
    assert client.get(path).json()["output"] == []  # nothing updated since: no file listed


@pytest.mark.parametrize(
    ("params", "headers", "expression"),
    [
        ({}, {}, "Prefer"),
        ({"_type": "Observation,Encounter"}, ASYNC, "_type"),
        ({"_since": "2026-01-31"}, ASYNC, "_since"),
        ({"_since": "yesterday"}, ASYNC, "_since"),
        ({"_outputFormat": "text/csv"}, ASYNC, "_outputFormat"),
        ({"patient": "Patient/1"}, ASYNC, "patient"),
        ({"_typeFilter": "Observation?code=1"}, ASYNC, "_typeFilter"),
    ],
)
def test_bad_kick_off_parameters_are_400_outcomes_and_start_nothing(
    odd: OddClinic, params: dict[str, str], headers: dict[str, str], expression: str
) -> None:
    response = owner_client(odd).get(f"{FHIR}/Group/{odd.p.clinic.pk}/$export", params, **headers)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == [expression] and issue["diagnostics"]
    assert not BulkExport.objects.exists()


def test_only_the_requester_reads_the_export_and_only_a_therapist_of_the_clinic_starts_one(
    odd: OddClinic, django_capture_on_commit_callbacks: Any
) -> None:
    owner, path = exported(odd, django_capture_on_commit_callbacks)
    file_path = owner.get(path).json()["output"][0]["url"].removeprefix("http://testserver")
    p = odd.p
    for user in (p.colleague.user, p.outsider.user, p.patient_a.user, p.staff):
        client = as_user(user)
        for url in (path, file_path):
            response = client.get(url)
            assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"
        assert client.delete(path).status_code == 404
    for user in (p.outsider.user, p.patient_a.user, p.staff):
        assert kick_off(as_user(user), p.clinic.pk).status_code == 404
    assert kick_off(as_user(p.colleague.user), p.clinic.pk).status_code == 202  # same clinic
    assert kick_off(Client(), p.clinic.pk).status_code == 401
    assert BulkExport.objects.count() == 2


def test_delete_cancels_and_removes_the_export_and_its_files(
    odd: OddClinic, django_capture_on_commit_callbacks: Any
) -> None:
    client, path = exported(odd, django_capture_on_commit_callbacks)
    export = BulkExport.objects.get()
    assert (export_dir() / str(export.pk) / "Observation.1.ndjson").exists()
    assert client.delete(path).status_code == 202
    assert not BulkExport.objects.exists() and not (export_dir() / str(export.pk)).exists()
    assert client.get(path).status_code == 404
    assert AuditEvent.objects.filter(action="fhir.export_deleted").count() == 1
    # A running export whose row is deleted stops at its next batch.
    running = BulkExport.objects.create(
        requester=odd.p.owner.user,
        clinic=odd.p.clinic,
        types=["Observation"],
        status=ExportStatus.RUNNING,
        created=timezone.now(),
        expires=timezone.now() + timedelta(hours=1),
    )
    part = type_files(running, "Observation")[0]
    BulkExport.objects.filter(pk=running.pk).delete()
    with pytest.raises(Cancelled):
        write_part(part)


def test_a_failed_export_answers_a_500_outcome(
    odd: OddClinic, django_capture_on_commit_callbacks: Any
) -> None:
    client = owner_client(odd)
    with django_capture_on_commit_callbacks():
        path = status_path(kick_off(client, odd.p.clinic.pk))
    BulkExport.objects.update(types=["Observation", "Encounter"])  # a type no writer has
    assert fhir_export_run(BulkExport.objects.get().pk) == "failed"
    assert fhir_export_run(BulkExport.objects.get().pk) == "skipped"  # claimed once only
    response = client.get(path)
    assert response.status_code == 500
    assert response.json()["issue"][0]["diagnostics"] == "The export failed: KeyError."


def test_the_beat_job_deletes_expired_exports_and_their_files(
    odd: OddClinic, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    entry = app.conf.beat_schedule["fhir-exports-expire"]
    assert entry["task"] == fhir_exports_expire.name
    client, path = exported(odd, django_capture_on_commit_callbacks)
    export = BulkExport.objects.get()
    ttl = timedelta(hours=settings.FHIR_EXPORT_TTL_HOURS)
    assert export.finished is not None and export.expires == export.finished + ttl
    assert fhir_exports_expire() == 0 and client.get(path).status_code == 200
    BulkExport.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get(path).status_code == 404  # expired: gone for the client before the job runs
    assert (export_dir() / str(export.pk)).exists()
    assert fhir_exports_expire() == 1
    assert not BulkExport.objects.exists() and not (export_dir() / str(export.pk)).exists()
    assert exports_expire() == 0


def type_files(export: BulkExport, name: str) -> list[BulkExportFile]:
    """A part file for each source of type ``name`` in ``export`` (no pk bounds), numbered on."""
    first = export.files.filter(resource_type=name).count() + 1
    return [
        BulkExportFile.objects.create(
            export=export,
            resource_type=name,
            source=index,
            part=part,
            path=f"{export.pk}/{name}.{part}.ndjson",
        )
        for index, part in enumerate(range(first, first + len(RESOURCE_TYPES[name].sources)))
    ]


def reads_writing(export: BulkExport, name: str, batch_size: int) -> int:
    """How many queries writing one type's files makes to read the data (not the export's own rows;
    the progress update per chunk is one of those)."""
    files = type_files(export, name)
    with CaptureQueriesContext(connection) as captured:
        for file in files:
            write_part(file, batch_size=batch_size)
    return sum(
        1 for q in captured.captured_queries if q["sql"].startswith("SELECT") and "fhir_r4_" not in q["sql"]
    )


def test_the_writer_reads_in_batches_not_per_row(odd: OddClinic) -> None:
    plan = make_plan(odd.li, therapist=odd.p.owner)
    for day in range(17):  # 20 check-ins in the clinic
        PainCheckInFactory(plan=plan, local_date=plan.start_date + timedelta(days=day))
    export = BulkExport.objects.create(
        requester=odd.p.owner.user,
        clinic=odd.p.clinic,
        types=list(RESOURCE_TYPES),
        status=ExportStatus.RUNNING,
        created=timezone.now(),
        expires=timezone.now() + timedelta(hours=1),
    )
    # One query per source reads them all (the check-ins, the scores), in chunks: never one per row.
    observations = PainCheckIn.objects.filter(patient__clinic=odd.p.clinic).count()
    assert observations == 20
    assert reads_writing(export, "Observation", 5) == 2
    assert reads_writing(export, "Observation", 100) == 2
    # Each chunk of CarePlans prefetches its exercises (with their exercise and phase) in one query.
    plans = RESOURCE_TYPES["CarePlan"].sources[0].rows(Scope(clinic=odd.p.clinic)).count()
    assert plans == 5
    assert reads_writing(export, "CarePlan", 2) == 1 + 3
    assert reads_writing(export, "CarePlan", 100) == 1 + 1
    # The count is told after each chunk (the status URL's progress adds them up).
    assert list(export.files.filter(resource_type="CarePlan").values_list("count", flat=True)) == [5, 5]
    lines = [
        line
        for part in (1, 2)  # the check-ins, the score
        for line in (export_dir() / str(export.pk) / f"Observation.{part}.ndjson").read_text().splitlines()
    ]
    assert len(lines) == 21 and len({json.loads(line)["id"] for line in lines}) == 21
