"""The morning peak's rounds (scripts/bench_peak.py): what each round sends, what Locust is told
(scripts/peak_locustfile.py reads it), and the figures of its results against the targets."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from peak_stack import THERAPISTS

PAGE_EVERY_S = 5.0
PEAK_RATE = 30.0
PEAK_SECONDS = 60.0
LADDER_RATES = (30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0)
# Each simulated phone sends one check-in every 2 s: the arrival rate holds while
# responses take under 2 s, far above the 150 ms the ladder stops at.
PER_USER_RATE = 0.5
CHECKIN_P95_MS = 150.0
PAGE_P95_MS = 300.0
# A ladder step that delivers less than this share of its rate has not sustained it.
SUSTAINED = 0.9

API_PATH = "/api/v1/checkins/"
FLOOR_PATH = "/bench/floor/checkin/"
PAGE_KINDS = ("caseload", "record", "report")

Target = Literal["api", "floor"]


@dataclass(frozen=True)
class Round:
    """One bounded run of load: check-ins at ``rate`` a second for ``seconds``, beside ``therapists``."""

    label: str
    target: Target
    rate: float
    seconds: float
    therapists: int = 0
    page_every: float = PAGE_EVERY_S

    @property
    def path(self) -> str:
        return API_PATH if self.target == "api" else FLOOR_PATH


def warm_up_round() -> Round:
    """A few seconds of every kind of request (imports, connections, caches), not reported."""
    return Round("warm-up", "api", rate=10.0, seconds=6.0, therapists=THERAPISTS)


def peak_round() -> Round:
    """The issue's morning peak: 30 check-ins/s and 20 therapists, one page each every 5 s, for 60 s."""
    return Round("peak", "api", rate=PEAK_RATE, seconds=PEAK_SECONDS, therapists=THERAPISTS)


def ladder(target: Target, seconds: float) -> list[Round]:
    """The ladder's steps for ``target``, slowest first; run in order until one fails."""
    return [Round(f"{target} {rate:g}/s", target, rate=rate, seconds=seconds) for rate in LADDER_RATES]


def therapist_pages(*, patient_ids: Sequence[int], count: int, start: int) -> list[tuple[str, str]]:
    """``count`` (kind, path) pages in the order caseload, record, report, from kind ``start % 3`` on.

    The records are of ``patient_ids`` in turn (the therapist's own clinic's patients).
    """
    fixed = {"caseload": "/caseload/", "report": "/outcomes/"}
    pages = []
    for i in range(count):
        kind = PAGE_KINDS[(start + i) % len(PAGE_KINDS)]
        path = f"/patients/{patient_ids[i % len(patient_ids)]}/" if kind == "record" else fixed[kind]
        pages.append((kind, path))
    return pages


def round_config(
    rnd: Round, *, host: str, tokens: Sequence[str], therapists: Sequence[dict[str, Any]], out: Path
) -> dict[str, Any]:
    """The JSON that scripts/peak_locustfile.py runs: ``rnd`` against ``host``.

    ``tokens``: the patients' API keys in the order they check in (the API only);
    ``therapists``: ``{"cookie": "sessionid=...", "patients": [ids]}`` for each
    logged-in therapist, of whom the first ``rnd.therapists`` take part.
    """
    taking_part = list(therapists[: rnd.therapists])
    phones = patient_users(rnd.rate)
    if len(taking_part) < rnd.therapists:
        raise ValueError(f"{rnd.label} needs {rnd.therapists} therapists, {len(taking_part)} are logged in")
    count = math.ceil(rnd.seconds / rnd.page_every) + 1
    return {
        "label": rnd.label,
        "host": host,
        "path": rnd.path,
        "rate": rnd.rate,
        "seconds": rnd.seconds,
        "per_user_rate": PER_USER_RATE,
        "page_every": rnd.page_every,
        "tokens": list(tokens) if rnd.target == "api" else [],
        "patients": [{"delay": delay} for delay in phone_phases(phones, seed=rnd.label)],
        "therapists": [
            {
                "cookie": t["cookie"],
                "pages": therapist_pages(patient_ids=t["patients"], count=count, start=i),
                "delay": rnd.page_every * i / len(taking_part),
            }
            for i, t in enumerate(taking_part)
        ],
        "out": str(out),
    }


def patient_users(rate: float) -> int:
    """How many simulated phones send ``rate`` check-ins a second, each one every 1/PER_USER_RATE s."""
    return max(1, round(rate / PER_USER_RATE))


def phone_phases(count: int, *, seed: str) -> list[float]:
    """When (s from the start, below 1/PER_USER_RATE) each of ``count`` phones sends its first check-in.

    Independent uniform phases, as phones on their own clocks, so that the check-ins
    arrive spread over each second like a clinic's patients (with the chance
    coincidences of independent arrivals), not as one burst a second. Locust alone
    would give a burst: it starts its users a batch at a time, each batch at once,
    and ``constant_throughput`` keeps every user on the phase it started on. Seeded
    by ``seed`` (the round's label), so a round sends the same pattern every run.
    """
    rng = random.Random(f"phones:{seed}")
    period = 1 / PER_USER_RATE
    return [rng.uniform(0, period) for _ in range(count)]


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile of ``values`` (ms); 0.0 for none."""
    return percentile(values, 95)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``th percentile (0 < q <= 100) of ``values``; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Figures:
    """One kind of request in one round: counts, response times (ms) and the rate delivered (/s)."""

    ok: int
    errors: int
    p50: float
    p95: float
    max: float
    rate: float
    statuses: dict[int, int]
    error_samples: tuple[str, ...]

    @classmethod
    def of(cls, entries: Sequence[dict[str, Any]], seconds: float) -> Figures:
        times = [t for e in entries for t in e["times_ms"]]
        failures = [f for e in entries for f in e["failures"]]
        statuses = Counter(s for e in entries for s in e["statuses"])
        return cls(
            ok=len(times),
            errors=len(failures),
            p50=percentile(times, 50),
            p95=p95(times),
            max=max(times, default=0.0),
            rate=len(times) / seconds if seconds else 0.0,
            statuses=dict(statuses),
            error_samples=tuple(sorted(set(failures))[:3]),
        )


def figures(results: dict[str, Any], rnd: Round) -> dict[str, Figures]:
    """Per kind ("checkin", each page kind, "pages" for all three) the figures of a round's results."""
    requests = results["requests"]
    out = {kind: Figures.of([requests[kind]] if kind in requests else [], rnd.seconds) for kind in requests}
    out.setdefault("checkin", Figures.of([], rnd.seconds))
    out["pages"] = Figures.of([requests[k] for k in PAGE_KINDS if k in requests], rnd.seconds)
    return out


def step_passes(checkin: Figures, rnd: Round) -> bool:
    """A ladder step holds: no error, p95 within 150 ms, and at least 90% of its rate delivered."""
    return checkin.errors == 0 and checkin.p95 <= CHECKIN_P95_MS and checkin.rate >= SUSTAINED * rnd.rate
