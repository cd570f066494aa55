"""Reads of alerts: the clinic's alerts and the attention list (who needs the therapist first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic, Patient, short_name, tel_uri, waiting_for_invitation
from accounts.selectors import clinic_patients
from accounts.zones import local_now_by_zone
from alerts import rules as alert_rules
from alerts.attention_cache import attention_cached
from alerts.models import Alert, AlertKind
from audit.services import audit_read
from careplans.adherence import TodayByZone, adherence_by_plan
from careplans.selectors import clinic_plans
from checkins.figures import nprs_tenths
from portal.pages import mailto


def clinic_alerts(*, clinic: Clinic) -> QuerySet[Alert]:
    """The only way into alerts for therapists: the alerts of ``clinic``'s patients."""
    return Alert.objects.filter(patient__clinic=clinic).select_related("patient__user", "patient__clinic")


def alert_for_clinic(*, clinic: Clinic, alert_id: int) -> Alert:
    """An alert of ``clinic``'s patients, its check-in loaded; raises Http404 for any other id.

    The read is noted for the audit trail (audit.services.audit_read).
    """
    alert = get_object_or_404(clinic_alerts(clinic=clinic).select_related("checkin"), pk=alert_id)
    audit_read([alert])
    return alert


def open_alert_count(*, clinic: Clinic, patient: Patient | None = None) -> int:
    """How many alerts are not yet acknowledged: of ``patient`` (of ``clinic``), or of all ``clinic``'s.

    The number an alert box shows (the record's open alerts, the attention list's);
    one query.
    """
    alerts = clinic_alerts(clinic=clinic).filter(acknowledged_at__isnull=True)
    return (alerts if patient is None else alerts.filter(patient=patient)).count()


# --- today's attention list ----------------------------------------------------


def _acknowledgeable(*, clinic: Clinic) -> QuerySet[Alert]:
    """The alerts the attention list offers to acknowledge: open red flags (alerts.rules), and
    worsening and silence alerts not yet acknowledged whose episode is still running."""
    alerts = clinic_alerts(clinic=clinic)
    running = alerts.filter(
        kind__in=(AlertKind.WORSENING, AlertKind.SILENCE),
        acknowledged_at__isnull=True,
        cleared_at__isnull=True,
    )
    return alert_rules.open_red_flags(alerts) | running


#: Why a patient needs attention, most urgent first. "waiting" is no alarm: a patient with
#: an active plan who has not accepted the invitation yet, said plainly (Plinth issue 15).
ATTENTION_RANK: dict[str, int] = {"red_flag": 0, "worsening": 1, "silence": 2, "adherence": 3, "waiting": 4}


@dataclass(frozen=True)
class AttentionReason:
    kind: str
    text: str
    # Within a kind, a larger weight is more urgent (older alert, bigger rise, longer silence).
    weight: float = 0.0
    # The open (unacknowledged) alert behind the reason, which the list offers to acknowledge.
    alert_id: int | None = None

    @property
    def rank(self) -> int:
        return ATTENTION_RANK[self.kind]


@dataclass
class AttentionRow:
    patient_id: int
    name: str
    email: str = ""
    phone: str = ""
    reasons: list[AttentionReason] = field(default_factory=list)

    @property
    def url(self) -> str:
        return reverse("patient-record", args=[self.patient_id])

    @property
    def message_url(self) -> str:
        """A ``mailto:`` link to the patient (Plinth has no messaging of its own); "" without an email."""
        return mailto(self.email, subject="About your care plan") if self.email else ""

    @property
    def call_url(self) -> str:
        """A ``tel:`` link to the patient's phone number; "" when none is on file."""
        return tel_uri(self.phone)

    @property
    def top(self) -> AttentionReason:
        return min(self.reasons, key=lambda r: (r.rank, -r.weight))

    @property
    def is_red_flag(self) -> bool:
        return self.top.kind == "red_flag"


#: How many of the most urgent patients the caseload page lists; the rest are one link away.
ATTENTION_TOP = 15


#: Patients per page of the full attention page.
ATTENTION_PAGE_SIZE = 50


@dataclass(frozen=True)
class Attention:
    """Who needs attention: the rows shown (most urgent first) out of ``total`` patients, and how
    many open alerts the whole list (every page) offers to acknowledge."""

    rows: list[AttentionRow]
    total: int
    page: Page[AttentionRow] | None = None  # the full attention page's page, when paginated
    to_acknowledge: int = 0

    @property
    def more(self) -> int:
        """Patients who need attention beyond the rows shown."""
        return self.total - len(self.rows) if self.page is None else 0


def _attention_ranked(*, clinic: Clinic, now: datetime) -> list[AttentionRow]:
    """Every patient of ``clinic`` who needs attention at ``now``, most urgent first, reasons sorted.

    The rules (alerts.rules) run in the database: the plans come back as
    plain columns with their two rule flags, not as objects, and nobody is noted
    as read here; adherence comes back as two numbers per plan (careplans.adherence).
    Queries: red flags, stale pain (two), time zones, plans, adherence (two).
    """
    rows: dict[int, AttentionRow] = {}

    def row_for(patient_id: int, name: str, email: str, phone: str) -> AttentionRow:
        if patient_id not in rows:
            rows[patient_id] = AttentionRow(patient_id, name, email, phone)
        return rows[patient_id]

    # One query: the open red flags (a reason each) and the running worsening and silence
    # alerts, whose ids the reasons of their kind carry so that the list can acknowledge them.
    alerts = (
        _acknowledgeable(clinic=clinic)
        .order_by("opened_at", "id")
        .values_list(
            "pk",
            "kind",
            "patient_id",
            "patient__user__full_name",
            "patient__user__email",
            "patient__phone",
            "opened_at",
            "detail",
        )
    )
    running: dict[tuple[int, str], int] = {}
    for alert_id, kind, patient_id, full_name, email, phone, opened_at, detail in alerts:
        if kind != AlertKind.RED_FLAG:
            running[(patient_id, kind)] = alert_id
            continue
        age_hours = (now - opened_at).total_seconds() / 3600
        row_for(patient_id, full_name or email, email, phone).reasons.append(
            AttentionReason(
                "red_flag",
                f"Red flag, not yet acknowledged. {detail}".strip(),
                weight=age_hours,
                alert_id=alert_id,
            )
        )

    watched = alert_rules.watched_plans(clinic_plans(clinic=clinic))
    stale = alert_rules.stale_pain(watched)
    # Plans as bare objects (the fields adherence reads) with their rule flags and the
    # figures the reasons quote as columns: no patient, user or outcome objects per plan.
    plans = list(
        alert_rules.with_rule_flags(watched, now=now, stale=stale)
        .select_related(None)
        .only("pk", "patient_id", "start_date", "length_weeks", "activated_at")
        .annotate(
            patient_name=F("patient__user__full_name"),
            patient_email=F("patient__user__email"),
            patient_phone=F("patient__phone"),
            patient_zone=F("patient__timezone"),
            snapshot_baseline=F("outcome__baseline"),
            snapshot_current=F("outcome__current"),
        )
        .order_by()
    )
    local = local_now_by_zone({plan.patient_zone for plan in plans}, now)
    today = {plan.pk: local[plan.patient_zone].date() for plan in plans}
    adherence = adherence_by_plan(
        watched,
        today=TodayByZone({zone: moment.date() for zone, moment in local.items()}),
        since_days=alert_rules.ADHERENCE_DAYS,
    )
    for plan in plans:
        name, email = plan.patient_name or plan.patient_email, plan.patient_email
        contact = (name, email, plan.patient_phone)
        if plan.alert_worsening:  # type: ignore[attr-defined]
            snapshot = alert_rules.Pain(plan.snapshot_baseline, plan.snapshot_current)
            pain = alert_rules.pain_of(plan_id=plan.pk, snapshot=snapshot, stale=stale)
            # A worsening plan has both figures (the rule needs them); 0.0 only satisfies the types.
            # Rounded as every page rounds them (checkins.figures), the rise from the shown figures.
            base, current = nprs_tenths(pain.baseline or 0.0), nprs_tenths(pain.current or 0.0)
            row_for(plan.patient_id, *contact).reasons.append(
                AttentionReason(
                    "worsening",
                    f"Pain worsening: {current} on average in the latest week of check-ins, "
                    f"{current - base} points above the baseline of {base}.",
                    weight=float(current - base),
                    alert_id=running.get((plan.patient_id, AlertKind.WORSENING)),
                )
            )
        if plan.alert_silent:  # type: ignore[attr-defined]
            last = plan.last_checkin  # type: ignore[attr-defined]
            quiet = alert_rules.quiet_days(today=today[plan.pk], last=last, start=plan.start_date)
            text = (
                f"No check-in for {quiet} full days (last on {last:%a %d %b})."
                if last
                else f"No check-in yet, {quiet} full days into the plan."
            )
            row_for(plan.patient_id, *contact).reasons.append(
                AttentionReason(
                    "silence", text, weight=quiet, alert_id=running.get((plan.patient_id, AlertKind.SILENCE))
                )
            )
        joined = plan.patient_joined  # type: ignore[attr-defined]
        if not joined:
            waiting = waiting_for_invitation(short_name(plan.patient_name, plan.patient_email))
            row_for(plan.patient_id, *contact).reasons.append(
                # The longer the plan has waited, the higher in its kind.
                AttentionReason("waiting", f"{waiting}.", weight=(today[plan.pk] - plan.start_date).days)
            )
        week = adherence.get(plan.pk)
        elapsed = alert_rules.adherence_window_elapsed(
            start_date=plan.start_date, activated_at=plan.activated_at, today=today[plan.pk], now=now
        )
        if week is not None and alert_rules.low_adherence(week, joined=joined, window_elapsed=elapsed):
            row_for(plan.patient_id, *contact).reasons.append(
                AttentionReason(
                    "adherence",
                    f"Adherence {week.percent}% in the last {alert_rules.ADHERENCE_DAYS} days "
                    f"({week.done} of {week.prescribed} exercise sessions done).",
                    weight=1 - (week.ratio or 0.0),  # low_adherence: a ratio exists
                )
            )
    for row in rows.values():
        row.reasons.sort(key=lambda r: (r.rank, -r.weight))
    return sorted(rows.values(), key=lambda r: (r.top.rank, -r.top.weight, r.name.lower(), r.patient_id))


def _attention_now(*, clinic: Clinic, now: datetime | None) -> list[AttentionRow]:
    """The ranked list at ``now``; at the current time (``now`` None) from the clinic's cache
    (alerts.attention_cache: at most PLINTH_ATTENTION_CACHE_SECONDS old, fresh after any alert change)."""
    if now is not None:
        return _attention_ranked(clinic=clinic, now=now)
    return attention_cached(clinic.pk, lambda: _attention_ranked(clinic=clinic, now=timezone.now()))


def _audit_shown(*, clinic: Clinic, rows: list[AttentionRow]) -> None:
    """Note the patients of ``rows`` (and only those) as read: one query for their records."""
    if rows:
        audit_read(clinic_patients(clinic=clinic).filter(pk__in=[row.patient_id for row in rows]))


def _attention(ranked: list[AttentionRow], shown: list[AttentionRow], **page: Any) -> Attention:
    to_acknowledge = sum(1 for row in ranked for reason in row.reasons if reason.alert_id is not None)
    return Attention(rows=shown, total=len(ranked), to_acknowledge=to_acknowledge, **page)


def attention_counts(*, clinic: Clinic, now: datetime | None = None) -> Attention:
    """The attention list's two numbers (patients, open alerts offered to acknowledge), no rows.

    For the count an acknowledgement updates in place; ranks as ``attention_list`` (its
    fixed number of queries) and notes nobody as read.
    """
    return _attention(_attention_ranked(clinic=clinic, now=now or timezone.now()), [])


def attention_top(*, clinic: Clinic, now: datetime | None = None, limit: int = ATTENTION_TOP) -> Attention:
    """The ``limit`` most urgent patients of ``clinic`` today, and how many need attention in all.

    ``now``: an aware datetime (default: the current time). Ranked as
    ``attention_list``; only the rows returned are noted as read for the audit
    trail. A fixed number of queries whatever the caseload (``attention_list``'s).
    """
    ranked = _attention_now(clinic=clinic, now=now)
    shown = ranked[:limit]
    _audit_shown(clinic=clinic, rows=shown)
    return _attention(ranked, shown)


def attention_page(
    *,
    clinic: Clinic,
    now: datetime | None = None,
    page: int | str | None = 1,
    per_page: int = ATTENTION_PAGE_SIZE,
) -> Attention:
    """One page (1-based; an invalid number gives the nearest page) of everyone who needs attention.

    Ranked as ``attention_list``; only the page's patients are noted as read.
    A fixed number of queries whatever the caseload.
    """
    ranked = _attention_now(clinic=clinic, now=now)
    paginated = Paginator(ranked, per_page).get_page(page)
    shown = list(paginated.object_list)
    _audit_shown(clinic=clinic, rows=shown)
    return _attention(ranked, shown, page=paginated)


def attention_list(*, clinic: Clinic, now: datetime | None = None) -> list[AttentionRow]:
    """Who needs the clinic's attention today, most urgent first, with the reasons in words.

    ``now``: an aware datetime (default: the current time). The reasons are the
    rules of alerts.rules, the ones the alert job raises alerts by: open
    red-flag alerts, pain worsening (current at least 2 points above baseline),
    no check-in for 3 days or more on an active plan, and adherence under 50% in
    the last 7 days (silence and adherence only once the patient has joined and the
    window has elapsed since the plan began, alerts.rules); and, as no alarm, an
    active plan's patient who has not accepted the invitation ("Waiting for Noor to
    accept the invitation."). A patient's most urgent reason ranks them: red flag
    (oldest first), worsening (largest rise first), silence (longest first),
    adherence (lowest first), waiting (longest first), then by name. Every patient
    listed is noted as read for the audit trail; pages show ``attention_top`` or ``attention_page`` instead.
    A fixed number of queries whatever the caseload: open alerts, stale pain (two),
    time zones, the active plans with their rule flags, two for adherence, and
    the listed patients for the audit trail.
    """
    ranked = _attention_now(clinic=clinic, now=now)
    _audit_shown(clinic=clinic, rows=ranked)
    return ranked
