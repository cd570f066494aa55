"""Each plan's questionnaire outcomes (issue 18): baseline, week-12 endpoint, change and responder
per instrument its schedule asks for, stored in ``InstrumentOutcome`` beside the pain snapshot.

Definitions (the report states them, outcomes.instrument_report):

- the **baseline** is the score of the plan's completed response at the ``intake`` occasion, the
  **endpoint** that of its completed ``week 12`` response (``library.services`` names the shipped
  schedule's occasions so); a draft, or a response with too few answers to score, is no score;
- the **change** is endpoint minus baseline in the instrument's points; for an instrument with
  activities (the PSFS) it is the mean change over the activities rated at both occasions, each
  against its own intake rating (``questionnaires.scoring.psfs_scores``: an activity first named at
  week 6 has no intake rating, so it is left out of the change, as on the patient's record);
- a **responder** improves, in the instrument's direction of better, by at least its own minimal
  clinically important difference (``questionnaires.scoring.score_change``: PSFS 2 points,
  Stratford et al. 1995; PEG 30% of the baseline, Krebs et al. 2009); an instrument without one
  (the global rating of change) has no responders;
- **missing endpoint**: the plan's week 12 is over (its pain snapshot's ``reached_week_12``, the same
  rule as pain, outcomes.rules) and the week-12 response is not there.

A plan gets one row per instrument code on its schedule, the instrument being the one its responses
used, else the one the schedule means today (its clinic's own, else the shared one); rows of codes
no longer on the schedule are removed. Runs after the pain snapshots (outcomes.recompute), whose
``reached_week_12`` it reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from careplans.models import CarePlan, PlanSchedule
from outcomes.models import InstrumentOutcome, OutcomeSnapshot
from questionnaires.definitions import CheckedDefinition, definition_checked
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus
from questionnaires.scoring import psfs_scores, psfs_visit_ratings, score_change

#: The occasions compared: the shipped schedule's intake and week 12 (library.services).
BASELINE_OCCASION = "intake"
ENDPOINT_OCCASION = "week 12"

#: Plans per batch: each batch's reads and writes are one transaction.
BATCH = 2_000


@dataclass(frozen=True)
class Figures:
    baseline: float | None
    endpoint: float | None
    change: float | None
    percent_change: float | None
    responder: bool | None


def _scores(response: InstrumentResponse | None) -> float | None:
    return None if response is None else response.score


def _visit(checked: CheckedDefinition, response: InstrumentResponse) -> dict[str, int | None]:
    texts = {k: v for k, v in response.answers.items() if isinstance(v, str)}
    scored = {k: v for k, v in response.answers.items() if isinstance(v, int) and not isinstance(v, bool)}
    return psfs_visit_ratings(checked, texts=texts, answers=scored)


def instrument_figures(
    checked: CheckedDefinition, *, baseline: InstrumentResponse | None, endpoint: InstrumentResponse | None
) -> Figures:
    """One plan's figures on one instrument from its completed intake and week-12 responses (None:
    not sent). ``checked``: the instrument's definition. Scores are in the instrument's range;
    ``percent_change`` is 100 x change / baseline (signed as the score moved). Raises nothing of its own
    (a stored response was checked when it was sent)."""
    first, last = _scores(baseline), _scores(endpoint)
    if first is None or last is None or baseline is None or endpoint is None:
        return Figures(first, last, None, None, None)
    compared_baseline, compared_endpoint = first, last
    if any(item.activity for item in checked.items):
        visits = [_visit(checked, baseline), _visit(checked, endpoint)]
        moved = psfs_scores(visits)[-1]
        if moved.change is None:  # no activity rated at both
            return Figures(first, last, None, None, None)
        kept = [key for key, rating in visits[1].items() if rating is not None and key not in moved.new]
        compared_baseline = sum(visits[0][key] or 0 for key in kept) / len(kept)
        compared_endpoint = compared_baseline + moved.change
    change = score_change(checked, baseline=compared_baseline, current=compared_endpoint)
    percent = 100 * change.points / abs(compared_baseline) if compared_baseline else None
    return Figures(first, last, change.points, percent, change.meaningful)


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def instrument_outcomes_refresh(
    plans: QuerySet[CarePlan], *, now: datetime | None = None, using: str = DEFAULT_DB_ALIAS
) -> int:
    """Recompute the ``InstrumentOutcome`` rows of ``plans`` (a CarePlan queryset) from their
    schedules and completed responses, after their pain snapshots; returns how many rows were written.

    ``now``: the rows' ``computed_at`` (default: now). A few queries per ``BATCH`` plans, whatever the
    number of responses. Raises nothing of its own.
    """
    now = now or timezone.now()
    ids = sorted(plans.using(using).values_list("pk", flat=True).order_by())
    written = 0
    for batch in _chunks(ids, BATCH):
        with transaction.atomic(using=using):
            written += _refresh_batch(batch, now=now, using=using)
    return written


def _instruments_by_code(
    entries: list[tuple[int, int, str]], using: str
) -> dict[tuple[int | None, str], Instrument]:
    """The instrument each (clinic id, code) means today: the clinic's own, else the shared one (the
    latest loaded), as ``questionnaires.selectors.instrument_for_plan`` picks it; keyed (None, code)
    for the shared ones."""
    codes = {code for _, _, code in entries}
    clinics = {clinic_id for _, clinic_id, _ in entries}
    found: dict[tuple[int | None, str], Instrument] = {}
    for instrument in (
        Instrument.objects.using(using)
        .filter(Q(clinic__isnull=True) | Q(clinic_id__in=clinics), code__in=codes)
        .order_by("created_at", "id")
    ):
        found[(instrument.clinic_id, instrument.code)] = instrument  # the latest loaded wins
    return found


def _refresh_batch(plan_ids: list[int], *, now: datetime, using: str) -> int:
    entries = list(
        PlanSchedule.objects.using(using)
        .filter(plan_id__in=plan_ids)
        .values_list("plan_id", "plan__patient__clinic_id", "instrument_code")
        .distinct()
        .order_by()
    )
    responses: dict[tuple[int, str], dict[str, InstrumentResponse]] = defaultdict(dict)
    for response in (
        InstrumentResponse.objects.using(using)
        .filter(
            plan_id__in=plan_ids,
            status=ResponseStatus.COMPLETED,
            occasion__in=[BASELINE_OCCASION, ENDPOINT_OCCASION],
        )
        .select_related("instrument")
        .order_by()
    ):
        responses[(response.plan_id, response.instrument.code)][response.occasion] = response
    reached = set(
        OutcomeSnapshot.objects.using(using)
        .filter(plan_id__in=plan_ids, reached_week_12=True)
        .values_list("plan_id", flat=True)
        .order_by()
    )
    current = _instruments_by_code(entries, using)
    checked: dict[int, CheckedDefinition] = {}
    rows: list[InstrumentOutcome] = []
    for plan_id, clinic_id, code in entries:
        answered = responses.get((plan_id, code), {})
        any_response = next(iter(answered.values()), None)
        instrument = (
            any_response.instrument
            if any_response is not None
            else current.get((clinic_id, code)) or current.get((None, code))
        )
        if instrument is None:  # not loaded: nothing to score it by
            continue
        if instrument.pk not in checked:  # once per instrument, not per plan
            checked[instrument.pk] = definition_checked(instrument.definition)
        figures = instrument_figures(
            checked[instrument.pk],
            baseline=answered.get(BASELINE_OCCASION),
            endpoint=answered.get(ENDPOINT_OCCASION),
        )
        rows.append(
            InstrumentOutcome(
                plan_id=plan_id,
                instrument=instrument,
                missing_endpoint=plan_id in reached and figures.endpoint is None,
                computed_at=now,
                **vars(figures),
            )
        )
    stale = InstrumentOutcome.objects.using(using).filter(plan_id__in=plan_ids)
    stale.exclude(pk__in=_matching(stale, rows)).delete()
    InstrumentOutcome.objects.using(using).bulk_create(
        rows,
        batch_size=1_000,
        update_conflicts=True,
        unique_fields=["plan", "instrument"],
        update_fields=[*InstrumentOutcome.FIGURES, "computed_at"],
    )
    return len(rows)


def _matching(stale: QuerySet[InstrumentOutcome], rows: list[InstrumentOutcome]) -> list[Any]:
    """The ids of ``stale``'s rows that ``rows`` write again (one query)."""
    wanted = {(row.plan_id, row.instrument.pk) for row in rows}
    return [
        pk
        for pk, plan_id, instrument_id in stale.values_list("pk", "plan_id", F("instrument_id")).order_by()
        if (plan_id, instrument_id) in wanted
    ]
