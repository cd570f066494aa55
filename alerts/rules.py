"""The alert rules, written once: red flags, worsening, silence and low adherence.

The nightly/hourly alert job (alerts.services.alerts_detect) and today's
attention list (alerts.selectors.attention_list) both decide with these
querysets and expressions, so they cannot disagree. The clinical sources are
DESIGN.md: "Alerts to the therapist: a red-flag answer (at once), a worsening
flag, and no check-in for 3 days", and the outcome formulas ("Worsening flag:
current is at least 2 points above baseline").

Each rule takes the plans (or alerts) to look at as a queryset, so a caller
scopes it first (every clinic for the job, one clinic for the list).

Silence and low adherence judge what a patient did not do, so they wait until
the patient could have done it (Plinth issue 15: a patient was flagged
"Adherence 0% in the last 7 days" minutes after their plan was activated, before
they had set a password). Neither is raised for a patient who has not joined
(accepted the invitation: accounts.models.patient_joined), who is listed as
"Waiting for <first name> to accept the invitation" instead; nor before the
rule's window has elapsed since the plan began: SILENCE_DAYS or ADHERENCE_DAYS
whole local days since its start date, and as many 24-hour days since it was
activated (a plan activated today with an earlier start date gave the patient
no earlier chance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from accounts.models import patient_joined
from accounts.zones import local_now_by_zone, zone_case
from alerts.models import Alert, AlertKind
from careplans.adherence import Adherence
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.rules import MEAN_UNITS, WORSENING_POINTS, mean_in_units, outcomes_for_plans
from outcomes.selectors import snapshot_overtaken

#: DESIGN.md, Jobs: "no check-in for 3 days". Whole local days of the patient's
#: own calendar with no check-in; today is not over, so it never counts.
SILENCE_DAYS = 3


#: The worsening flag of the outcome rules (DESIGN.md, Outcome formulas: current at
#: least 2 points above baseline). outcomes.rules owns the number, because the
#: outcome snapshot carries the flag; it is named here so the rules read in one place.
WORSENING_THRESHOLD_POINTS = WORSENING_POINTS


#: The attention list's adherence reason: under half of the sessions due in the
#: last ADHERENCE_DAYS of the patient's days were done (adherence as in DESIGN.md,
#: sessions done / sessions prescribed, careplans.adherence). A product rule: half
#: the prescribed sessions, over a week so that rest days even out.
LOW_ADHERENCE = 0.5


ADHERENCE_DAYS = 7


#: A red flag (the check-in's red-flag answers, PainCheckIn.RED_FLAG_FIELDS) is
#: emailed at once; one whose email has not gone out after this joins the digest.
RED_FLAG_EMAIL_GRACE = timedelta(hours=1)


def watched_plans(plans: QuerySet[CarePlan]) -> QuerySet[CarePlan]:
    """The plans the alert rules watch, out of ``plans``: the active ones."""
    return plans.filter(status=PlanStatus.ACTIVE)


# --- could the patient have acted? ----------------------------------------------------


def has_joined() -> Q:
    """Plans whose patient has joined (accepted the invitation), as a condition on plans.

    Source: Plinth issue 15 ("Start-of-plan and not-yet-joined states are said
    plainly, not as alarms"); the test is accounts.models.patient_joined.
    """
    return patient_joined("patient__")


def activated_by(moment: datetime) -> Q:
    """Plans activated at or before ``moment`` (aware), as a condition on plans.

    A plan with no activation time (made active outside the builder, as the
    history import and older data did) counts from its start date alone.
    """
    return Q(activated_at__isnull=True) | Q(activated_at__lte=moment)


def adherence_window_elapsed(
    *, start_date: date, activated_at: datetime | None, today: date, now: datetime
) -> bool:
    """Whether ADHERENCE_DAYS have passed since the plan began, so its last ADHERENCE_DAYS can be judged.

    ``start_date`` and ``today``: the patient's local dates; ``activated_at`` and
    ``now``: aware datetimes (``activated_at`` None: the start date alone). True
    when ``today`` is at least ADHERENCE_DAYS days after the start date and the
    plan was activated at least ADHERENCE_DAYS x 24 hours before ``now``
    (Plinth issue 15; the same shape as the silence rule's ``is_silent``).
    """
    started = (today - start_date).days >= ADHERENCE_DAYS
    return started and (activated_at is None or now - activated_at >= timedelta(days=ADHERENCE_DAYS))


def open_red_flags(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Red-flag alerts, out of ``alerts``, that no therapist has acknowledged yet.

    Red flags are raised at the check-in itself (today.services), one alert per
    new red-flag answer; they stay on the list until acknowledged.
    """
    return alerts.filter(kind=AlertKind.RED_FLAG, acknowledged_at__isnull=True)


# --- worsening -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pain:
    """A plan's baseline and current pain (NPRS means, 0-10), either of them None if unknown."""

    baseline: float | None
    current: float | None

    @property
    def worsening(self) -> bool:
        """DESIGN.md: current is at least 2 points above baseline (as outcomes.rules: exact units)."""
        if self.baseline is None or self.current is None:
            return False
        return mean_in_units(self.current) - mean_in_units(self.baseline) >= WORSENING_POINTS * MEAN_UNITS


def _snapshot_stale() -> Q:
    """A plan whose outcome snapshot does not reflect its check-ins: none yet, or older than one.

    The snapshot is refreshed after each check-in or correction (on commit) and
    nightly; until that has run, the check-ins decide.
    """
    return Q(outcome__isnull=True) | Q(snapshot_overtaken(plan="pk", computed_at="outcome__computed_at"))


def stale_pain(plans: QuerySet[CarePlan]) -> dict[int, Pain]:
    """Pain computed from the check-ins, by plan id, for the plans of ``plans`` with a stale snapshot.

    Two queries (the stale plans' zones, then their figures through the one
    outcome definition, outcomes.rules). Plans whose snapshot is fresh are
    not in the result: their snapshot's figures stand. Nor are stale plans with
    no check-in, which have no pain to judge.
    """
    stale = plans.filter(_snapshot_stale())
    zones = set(stale.order_by().values_list("patient__timezone", flat=True).distinct())
    now = timezone.now()
    today = {zone: now.astimezone(ZoneInfo(zone)).date() for zone in zones}
    fresh = outcomes_for_plans(stale, today_by_zone=today) if zones else {}
    return {
        plan_id: Pain(outcome.baseline, outcome.current)
        for plan_id, outcome in fresh.items()
        if outcome.checkin_count
    }


def is_worsening(stale: dict[int, Pain]) -> Q:
    """The worsening rule as a condition on plans, given ``stale_pain`` of the same plans.

    A fresh snapshot's worsening flag stands; a stale plan is worsening if its
    recomputed pain is.
    """
    rising = [plan_id for plan_id, pain in stale.items() if pain.worsening]
    return (~_snapshot_stale() & Q(outcome__worsening=True)) | Q(pk__in=rising)


def worsening_plans(plans: QuerySet[CarePlan], *, stale: dict[int, Pain]) -> QuerySet[CarePlan]:
    """The watched plans of ``plans`` whose pain is worsening now (``stale``: ``stale_pain(plans)``)."""
    return watched_plans(plans).filter(is_worsening(stale))


def pain_of(*, plan_id: int, snapshot: Pain, stale: dict[int, Pain]) -> Pain:
    """The pain that the worsening rule judged for one plan: recomputed if stale, else the snapshot's."""
    return stale.get(plan_id, snapshot)


# --- silence -------------------------------------------------------------------------


def silence_cutoff(plans: QuerySet[CarePlan], *, now: datetime) -> Case:
    """Each plan's patient's local date SILENCE_DAYS days before their today, as an expression.

    "Today" is each patient's own date, so one query serves every time zone: a
    CASE over the zones of ``plans``' patients (one query to list them) gives each
    row its cut-off. Annotate it as ``silence_cutoff`` before ``is_silent``.
    """
    zones = list(plans.order_by().values_list("patient__timezone", flat=True).distinct())
    local = local_now_by_zone(zones, now)
    return zone_case(
        {zone: moment.date() - timedelta(days=SILENCE_DAYS) for zone, moment in local.items()},
        DateField(),
        field="patient__timezone",
    )


def is_silent(*, now: datetime) -> Q:
    """The silence rule on plans annotated with ``silence_cutoff``: no check-in for SILENCE_DAYS days.

    DESIGN.md (Jobs: "no check-in for 3 days"), once the patient could have
    checked in (Plinth issue 15): the patient has joined, the plan started on or
    before the cut-off and was activated at least SILENCE_DAYS x 24 hours before
    ``now`` (aware), and the patient has made no check-in dated on or after the
    cut-off: SILENCE_DAYS whole local days, and today so far, went by without one.
    """
    recent = PainCheckIn.objects.filter(
        patient=OuterRef("patient"), local_date__gte=OuterRef("silence_cutoff")
    )
    return (
        has_joined()
        & activated_by(now - timedelta(days=SILENCE_DAYS))
        & Q(start_date__lte=F("silence_cutoff"))
        & ~Q(Exists(recent))
    )


def silent_plans(plans: QuerySet[CarePlan], *, now: datetime) -> QuerySet[CarePlan]:
    """The watched plans of ``plans`` that are silent at ``now`` (an aware datetime)."""
    watched = watched_plans(plans)
    return watched.annotate(silence_cutoff=silence_cutoff(watched, now=now)).filter(is_silent(now=now))


def last_checkin_date() -> Subquery:
    """The patient's latest check-in date (their local date), as a subquery on plans."""
    return Subquery(
        PainCheckIn.objects.filter(patient=OuterRef("patient"))
        .order_by()
        .values("patient")
        .annotate(last=Max("local_date"))
        .values("last")[:1],
        output_field=DateField(),
    )


def quiet_days(*, today: date, last: date | None, start: date) -> int:
    """Whole days since the last check-in (or since the plan's start) before ``today``.

    Consistent with ``is_silent``: a plan is silent exactly when this is at
    least SILENCE_DAYS, for a patient whose last check-in is their latest.
    """
    return (today - last).days - 1 if last else (today - start).days


def with_rule_flags(
    plans: QuerySet[CarePlan], *, now: datetime, stale: dict[int, Pain]
) -> QuerySet[CarePlan]:
    """``plans`` annotated with the two plan rules, for a list that shows every reason at once.

    Annotations: ``alert_worsening`` and ``alert_silent`` (booleans),
    ``silence_cutoff`` and ``last_checkin`` (the patient's local dates), and
    ``patient_joined`` (boolean, ``has_joined``). The same conditions as
    ``worsening_plans`` and ``silent_plans``.
    """
    return plans.annotate(
        silence_cutoff=silence_cutoff(plans, now=now), last_checkin=last_checkin_date()
    ).annotate(
        alert_silent=ExpressionWrapper(is_silent(now=now), output_field=BooleanField()),
        alert_worsening=ExpressionWrapper(is_worsening(stale), output_field=BooleanField()),
        patient_joined=ExpressionWrapper(has_joined(), output_field=BooleanField()),
    )


# --- adherence -----------------------------------------------------------------------


def low_adherence(adherence: Adherence | None, *, joined: bool, window_elapsed: bool) -> bool:
    """True when under LOW_ADHERENCE of the sessions due (in the last ADHERENCE_DAYS days) were done.

    ``adherence``: the plan's over the last ADHERENCE_DAYS (careplans.adherence,
    ``since_days=ADHERENCE_DAYS``); None or with nothing due is not low: there is
    nothing to judge. ``joined``: the patient has accepted the invitation
    (``has_joined``); ``window_elapsed``: ``adherence_window_elapsed``. Before
    either, the patient has had no fair chance, so it is never low (Plinth issue 15).
    """
    if not (joined and window_elapsed) or adherence is None or adherence.ratio is None:
        return False
    return adherence.ratio < LOW_ADHERENCE
