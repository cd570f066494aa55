"""Create the demo clinic that `make run` shows: a therapist, a colleague and
patients with weeks of check-ins. Running it again changes nothing."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Clinic, Patient, Therapist, User
from alerts.services import alerts_detect
from careplans.models import CarePlan, ExerciseSession, PlanStatus
from careplans.phases import phase_first_day, plan_phases
from careplans.plan_exercises import careplan_exercise_add
from careplans.services import careplan_activate, careplan_create, careplan_end
from checkins.models import PainCheckIn, Side
from library.clinic_exercises import (
    CLINIC_EXERCISE_FIELDS,
    clinic_exercise_copy,
    clinic_exercise_create,
    clinic_exercise_update,
)
from library.media import exercise_media_add
from library.models import BodyRegion, Exercise, ExerciseStatus
from library.services import LOW_BACK_TEMPLATE_NAME, exercise_set_status, library_load
from library.template_models import PlanTemplate
from outcomes.recompute import outcome_refresh_all
from portal.management.demo_messages import demo_conversations
from portal.management.demo_pictures import DEMO_PICTURES, pose_picture
from questionnaires.answers import Answer
from questionnaires.services import questionnaires_load_shipped, response_save_draft, response_submit

PASSWORD = "plinth-demo-2026"


CLINIC = "Riverside Physiotherapy (demo)"


# Realistic and harmless: 020 7946 0xxx is Ofcom's range for drama, never a real line, and
# example.org never delivers mail; the street is made up.
CLINIC_CONTACT = {
    "phone": "020 7946 0321",
    "address": "14 Wharf Lane\nLondon\nSE1 9ZZ",
    "email": "reception@riverside-physio.example.org",
    "out_of_hours": (
        "We are open Monday to Friday, 8am to 6pm. When we are closed, call NHS 111 for urgent advice."
    ),
}


# name, email, time zone, weeks since the plan started, starting pain, weekly change.
# Plans that started more than 12 weeks ago ran their 12 weeks and were completed, so the
# outcome report has patients who reached week 12 from the first run.
#: The patient whose login the demo prints first (scripts/run.py).
DEMO_PATIENT_EMAIL = "patient@demo.plinth"

PATIENTS: list[tuple[str, str, str, int, int, float]] = [
    ("Alex Morgan", "patient@demo.plinth", "Europe/London", 6, 7, -0.6),
    ("Sam Okafor", "sam@demo.plinth", "America/New_York", 12, 6, -0.4),
    ("Priya Shah", "priya@demo.plinth", "Asia/Kolkata", 8, 5, 0.4),
    ("Jordan Lee", "jordan@demo.plinth", "Australia/Sydney", 3, 8, -0.2),
    ("Maria Rossi", "maria@demo.plinth", "Europe/Rome", 10, 6, -0.1),
    ("Tom Becker", "tom@demo.plinth", "Europe/Berlin", 14, 7, -0.45),
    ("Aisha Bello", "aisha@demo.plinth", "Africa/Lagos", 16, 6, -0.3),
    ("Lucas Silva", "lucas@demo.plinth", "America/Sao_Paulo", 13, 8, -0.1),
]


# The numbers the therapist calls, from Ofcom's drama range for mobiles (07700 900xxx); one
# patient has none on file, as happens, so the record shows how one is added.
PATIENT_PHONES: dict[str, str] = {
    email: f"07700 900{100 + 37 * k:03d}" for k, (_, email, *_rest) in enumerate(PATIENTS) if k != 7
}


# The activities each patient rates on the PSFS from intake, hardest first (how much harder than
# their pain alone makes it); Tom names a new one at week 6, once he is running again.
PSFS_ACTIVITIES: dict[str, list[tuple[str, float]]] = {
    "patient@demo.plinth": [
        ("Climbing stairs", 0.5),
        ("Lifting my child", 1.5),
        ("Sitting through a meeting", 0),
    ],
    "sam@demo.plinth": [("Sitting through a meeting", 0.5), ("Driving to work", 0)],
    "priya@demo.plinth": [("Lifting my child", 1), ("Sleeping through the night", 0)],
    "jordan@demo.plinth": [("Putting on my socks", 0.5), ("Climbing stairs", 0)],
    "maria@demo.plinth": [("Gardening", 1), ("Climbing stairs", 0)],
    "tom@demo.plinth": [("Sitting through a meeting", 0), ("Lifting boxes at work", 1.5)],
    "aisha@demo.plinth": [("Lifting my child", 1), ("Carrying the shopping", 0.5)],
    "lucas@demo.plinth": [("Driving to work", 0.5), ("Climbing stairs", 0)],
}
PSFS_ADDED: dict[str, tuple[str, str, float]] = {"tom@demo.plinth": ("week 6", "Running for the bus", 2)}
# The plan day (0 = the start date) each patient is on today, where the story needs one: by
# default the last day of their week (7 x weeks - 1). Alex, the login the README gives first, is
# on day 36, the second day of week 6: the week-6 PSFS and PEG (days 35-41) are open and not yet
# answered, so a newcomer sees them on Today and can answer them.
PLAN_DAY_TODAY: dict[str, int] = {DEMO_PATIENT_EMAIL: 36}
# Sam is in his week 12 on the demo's first day: his PEG is sent, his PSFS started and kept as a
# draft (Today offers "Continue"), his global rating of change not started ("Start").
DRAFTED = ("sam@demo.plinth", "psfs")
NOT_STARTED = {("sam@demo.plinth", "groc"), (DEMO_PATIENT_EMAIL, "psfs"), (DEMO_PATIENT_EMAIL, "peg")}


class Command(BaseCommand):
    help = "Create the demo clinic with a therapist and patients with weeks of check-ins."

    def handle(self, *args: Any, **options: Any) -> None:
        if Clinic.objects.filter(name=CLINIC).exists():
            self.stdout.write("Demo clinic already present.")
            return
        library_load()
        questionnaires_load_shipped()
        with transaction.atomic():
            self._create()
        self.stdout.write(f"Demo clinic created with {len(PATIENTS)} patients.")

    def _user(self, email: str, name: str, **extra: Any) -> User:
        return User.objects.create_user(email, PASSWORD, full_name=name, **extra)

    def _own_exercises(self, clinic: Clinic, therapist: Therapist) -> Exercise:
        """The clinic's own exercises, through the services as its therapist would write them: a
        shared one copied and adapted, one written from scratch (both published) and a draft,
        each with drawn pictures. Returns the one written from scratch (the hip hinge)."""
        by = therapist.user
        bridge, _ = clinic_exercise_copy(
            source=Exercise.objects.get(slug="bridge", clinic=None), clinic=clinic, by=by
        )
        values = {name: getattr(bridge, name) for name in CLINIC_EXERCISE_FIELDS}
        values.update(
            name="Bridge with a band (Riverside)",
            summary="Our bridge, with a loop band above the knees to keep them apart.",
            precautions="Keep the band light at first. Stop if your back pain spreads into a leg.",
            equipment="band",
            reps=8,
        )
        clinic_exercise_update(exercise=bridge, by=by, values=values, regions=bridge.regions.all())
        hinge = clinic_exercise_create(
            clinic=clinic,
            by=by,
            values={
                "name": "Hip hinge with a broom handle",
                "summary": "Learn to bend from the hips with a straight back, a broom handle along it.",
                "instructions": "\n".join(
                    [
                        "Stand with your feet hip-width apart, knees soft.",
                        "Hold a broom handle along your back: touching your head, upper back and tailbone.",
                        "Push your hips back and lean forward, keeping all three points on the handle.",
                        "Stop when you feel a stretch behind your thighs, then stand up tall.",
                    ]
                ),
                "precautions": "Keep the movement small and slow; stop if it brings on leg pain.",
                "category": "strength",
                "equipment": "none",
                "difficulty": "beginner",
                "sets": 2,
                "reps": 10,
                "hold_seconds": 0,
                "sessions_per_day": 1,
                "days_per_week": 5,
                "harder": Exercise.objects.get(slug="wall-sit", clinic=None),
            },
            regions=BodyRegion.objects.filter(slug__in=["lower-back", "hip"]),
        )
        mine = Exercise.objects.filter(pk__in=[bridge.pk, hinge.pk])
        exercise_set_status(exercises=mine, status=ExerciseStatus.PUBLISHED, by=by)
        dead_bug, _ = clinic_exercise_copy(
            source=Exercise.objects.get(slug="dead-bug", clinic=None), clinic=clinic, by=by
        )
        for exercise, pictures in (
            (bridge, DEMO_PICTURES["bridge"]),
            (hinge, DEMO_PICTURES["hinge"]),
            (dead_bug, DEMO_PICTURES["dead-bug"]),
        ):
            for pose, prop, description in pictures:
                exercise_media_add(
                    exercise=exercise,
                    by=by,
                    upload=SimpleUploadedFile("demo.png", pose_picture(pose, prop=prop)),
                    description=description,
                )
        return hinge

    def _create(self) -> None:
        rng = random.Random(2026)
        # The exercises ticked draw from their own generator: what each phase prescribes does not
        # change the patients' pain stories.
        ticks = random.Random(17)
        # Likewise the questionnaires' answers.
        answers_rng = random.Random(18)
        clinic = Clinic(name=CLINIC, timezone="Europe/London", **CLINIC_CONTACT)
        clinic.full_clean()
        clinic.save()
        if not User.objects.filter(email="admin@demo.plinth").exists():
            self._user("admin@demo.plinth", "Demo Admin", is_staff=True, is_superuser=True)
        therapist = Therapist.objects.create(
            user=self._user("therapist@demo.plinth", "Dana Whitfield"), clinic=clinic
        )
        colleague = Therapist.objects.create(
            user=self._user("colleague@demo.plinth", "Chris Patel"), clinic=clinic
        )
        hinge = self._own_exercises(clinic, therapist)
        template = PlanTemplate.objects.get(name=LOW_BACK_TEMPLATE_NAME, clinic=None)
        for name, email, zone, weeks, pain, slope in PATIENTS:
            patient = Patient.objects.create(
                user=self._user(email, name),
                clinic=clinic,
                therapist=therapist,
                timezone=zone,
                reminder_time=time(18, 0),
                phone=PATIENT_PHONES.get(email, ""),
            )
            today = patient.local_today()
            start = today - timedelta(days=PLAN_DAY_TODAY.get(email, 7 * weeks - 1))
            # Through the services, so each plan has its first version and audit trail.
            plan = careplan_create(
                patient=patient, by=therapist, title="", template=template, start_date=start
            )
            plan = careplan_activate(plan=plan, by=therapist)
            # The demo's story: the plan has run since its start date (the alert rules count
            # their windows from the activation too, alerts.rules).
            plan.activated_at = datetime.combine(start, time(9, 0), tzinfo=patient.zone)
            plan.save(update_fields=["activated_at"])
            # Likewise each phase began on its own first day, as the phase schedule moved it
            # (careplans.phase_moves), up to the one it is in now.
            phases = plan_phases(plan=plan)
            assert plan.current_phase is not None  # the shared template has phases
            now = plan.current_phase.starts_week
            for phase, following in zip(phases, [*phases[1:], None], strict=True):
                if phase.starts_week <= now:
                    phase.began_on = phase_first_day(plan, phase) if phase is not phases[0] else start
                    phase.ended_on = None
                    if following is not None and following.starts_week <= now:
                        phase.ended_on = phase_first_day(plan, following) - timedelta(days=1)
                    phase.save(update_fields=["began_on", "ended_on"])
            last_day = datetime.max.date()
            in_force = {
                phase.pk: (phase.began_on or last_day, phase.ended_on or last_day) for phase in phases
            }
            if email == DEMO_PATIENT_EMAIL:
                # The demo patient's Today shows exercises with pictures: the clinic's own hip
                # hinge joins their current phase.
                careplan_exercise_add(plan=plan, by=therapist, exercise_id=hinge.pk)
            plan_exercises = list(plan.exercises.order_by("position"))
            checkins: list[PainCheckIn] = []
            sessions: list[ExerciseSession] = []
            finished = weeks > plan.length_weeks
            # Every day of a finished plan; up to yesterday for one under way.
            for day in range(7 * plan.length_weeks if finished else (today - start).days):
                date = start + timedelta(days=day)
                if rng.random() < 0.8:
                    level = pain + slope * day / 7 + rng.uniform(-1, 1)
                    checkins.append(
                        PainCheckIn(
                            patient=patient,
                            plan=plan,
                            local_date=date,
                            nprs=max(0, min(10, round(level))),
                            side=Side.LEFT,
                        )
                    )
                sessions.extend(
                    ExerciseSession(patient=patient, plan_exercise=item, local_date=date, number=number)
                    for item in plan_exercises
                    if item.phase_id is None
                    or in_force[item.phase_id][0] <= date <= in_force[item.phase_id][1]
                    for number in range(1, item.sessions_per_day + 1)
                    if ticks.random() < 0.7
                )
            PainCheckIn.objects.bulk_create(checkins)
            ExerciseSession.objects.bulk_create(sessions)
            # Before a finished plan ends: the patient answered them while it was active.
            self._questionnaires(patient, plan, pain, slope, answers_rng)
            if finished:
                careplan_end(
                    plan=plan,
                    by=therapist,
                    status=PlanStatus.COMPLETED,
                    reason="Completed the 12-week programme.",
                )
        # The snapshots the nightly job would write, so the report and records are full at once,
        # and the worsening and silence alerts the hourly job would raise: offered for
        # acknowledgement from the first minute, not from the next :40.
        outcome_refresh_all(clinic_ids=[clinic.pk])
        transaction.on_commit(alerts_detect)
        # A few days of messages with the care team (issue 19).
        demo_conversations(clinic=clinic, dana=therapist.user, chris=colleague.user)

    def _questionnaires(
        self, patient: Patient, plan: CarePlan, pain: int, slope: float, rng: random.Random
    ) -> None:
        """The plan's questionnaires whose window has closed or is open today, answered through
        the services on an evening inside each window (``now``), following the patient's pain:
        the PEG near their pain of the time, the PSFS activities easier as it eases, the global
        rating of change at week 12 as their pain moved over the plan. Sam's current ones are
        left as a draft and not started, Alex's week-6 ones not started (``DRAFTED``,
        ``NOT_STARTED``)."""
        email = patient.user.email
        today = patient.local_today()
        now = timezone.now()
        added: list[tuple[str, float]] = []
        for entry in plan.schedule.order_by("opens_day", "instrument_code"):
            opens = plan.start_date + timedelta(days=entry.opens_day)
            current = today <= plan.start_date + timedelta(days=entry.closes_day)
            if opens > today or (current and (email, entry.instrument_code) in NOT_STARTED):
                continue
            day: date = min(opens + timedelta(days=rng.randint(0, 3)), today)
            moment = datetime.combine(day, time(19, rng.randint(0, 59)), tzinfo=patient.zone)
            moment = min(moment, now)
            level = pain + slope * (day - plan.start_date).days / 7

            def score(value: float) -> int:
                return max(0, min(10, round(value + rng.uniform(-0.6, 0.6))))

            answers: dict[str, Answer]
            if entry.instrument_code == "peg":
                answers = {
                    "pain": score(level),
                    "enjoyment": score(level - 1),
                    "activity": score(level + 0.5),
                }
            elif entry.instrument_code == "psfs":
                if email in PSFS_ADDED and PSFS_ADDED[email][0] == entry.occasion:
                    added.append(PSFS_ADDED[email][1:])
                answers = {}
                for slot, (activity, harder) in enumerate(PSFS_ACTIVITIES[email] + added, start=1):
                    answers[f"activity-{slot}"] = activity
                    answers[f"rating-{slot}"] = score(10 - level - harder)
            else:  # the global rating of change, from -7 (a very great deal worse) to 7
                answers = {"change": max(-7, min(7, round(-slope * 11)))}
            if current and (email, entry.instrument_code) == DRAFTED:
                kept = {k: v for k, v in answers.items() if k != "rating-2"}
                response_save_draft(patient=patient, schedule_id=entry.pk, answers=kept, now=moment)
            else:
                response_submit(patient=patient, schedule_id=entry.pk, answers=answers, now=moment)
