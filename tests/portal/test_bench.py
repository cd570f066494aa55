"""The benchmarks' own code: the morning peak's request plan, the floor view, the closing comparison.

No network and no servers: the plan is data, the floor view runs in the test client,
and the Locust file is only imported (in a fresh interpreter, since importing Locust
monkey-patches the standard library for gevent).
"""

from __future__ import annotations

import gc
import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import bench_report  # noqa: E402
import peak_rounds  # noqa: E402
from peak_rounds import Figures, Round  # noqa: E402

THERAPISTS = [{"cookie": f"sessionid=s{i}", "patients": [100 + i, 200 + i]} for i in range(25)]


def _config(rnd: Round, tmp_path: Path) -> dict[str, object]:
    return peak_rounds.round_config(
        rnd, host="http://127.0.0.1:8123", tokens=["a.1", "b.2"], therapists=THERAPISTS, out=tmp_path / "o"
    )


def test_the_peak_is_the_issues_morning_30_check_ins_a_second_and_20_therapists_for_a_minute() -> None:
    peak = peak_rounds.peak_round()
    assert (peak.target, peak.rate, peak.seconds, peak.therapists, peak.page_every) == ("api", 30, 60, 20, 5)
    assert peak.path == "/api/v1/checkins/"
    assert (peak_rounds.CHECKIN_P95_MS, peak_rounds.PAGE_P95_MS) == (150, 300)


@pytest.mark.parametrize("target", ["api", "floor"])
def test_the_ladder_starts_at_the_peak_rate_doubles_and_is_bounded(target: peak_rounds.Target) -> None:
    steps = peak_rounds.ladder(target, 10.0)
    rates = [step.rate for step in steps]
    assert rates[0] == peak_rounds.PEAK_RATE
    assert all(b == 2 * a for a, b in itertools.pairwise(rates))
    assert len(steps) <= 8 and all(step.seconds == 10.0 and step.therapists == 0 for step in steps)
    path = "/api/v1/checkins/" if target == "api" else "/bench/floor/checkin/"
    assert {step.path for step in steps} == {path}


def test_a_round_is_well_formed_on_loopback_and_each_therapist_opens_the_three_pages(tmp_path: Path) -> None:
    config = _config(peak_rounds.peak_round(), tmp_path)
    assert urlsplit(str(config["host"])).hostname == "127.0.0.1"
    assert config["tokens"] == ["a.1", "b.2"] and config["rate"] == 30 and config["seconds"] == 60
    therapists = config["therapists"]
    assert isinstance(therapists, list) and len(therapists) == 20
    for i, therapist in enumerate(therapists):
        pages = therapist["pages"]
        # One page every 5 s for 60 s: 12, and one to spare.
        assert len(pages) == 13
        assert {kind for kind, _ in pages} == {"caseload", "record", "report"}
        assert all(path.startswith("/") and "//" not in path for _, path in pages)
        records = {path for kind, path in pages if kind == "record"}
        assert records <= {f"/patients/{100 + i}/", f"/patients/{200 + i}/"}
        assert 0 <= therapist["delay"] < 5
    # The therapists start on different pages and at different moments of the period.
    assert len({t["pages"][0][0] for t in therapists}) == 3
    assert len({t["delay"] for t in therapists}) == 20
    json.dumps(config)  # what the Locust process reads


def test_each_phone_starts_at_its_own_moment_so_check_ins_spread_over_the_second(tmp_path: Path) -> None:
    """Locust starts its users a batch at once; without phases the check-ins come as one burst a second."""
    config = _config(peak_rounds.peak_round(), tmp_path)
    phases = [phone["delay"] for phone in config["patients"]]  # type: ignore[attr-defined]
    period = 1 / peak_rounds.PER_USER_RATE
    assert len(phases) == peak_rounds.patient_users(30) == 60
    assert all(0 <= phase < period for phase in phases)
    # Every tenth of the period has some phones, none has most of them.
    tenths = Counter(int(phase / period * 10) for phase in phases)
    assert len(tenths) == 10 and max(tenths.values()) < 20
    # The same round sends the same pattern every run; another round another one.
    assert phases == [p["delay"] for p in _config(peak_rounds.peak_round(), tmp_path)["patients"]]  # type: ignore[attr-defined]
    assert phases[:5] != peak_rounds.phone_phases(60, seed="api 60/s")[:5]


def test_the_floor_round_sends_no_tokens_and_too_few_therapists_is_refused(tmp_path: Path) -> None:
    floor = peak_rounds.ladder("floor", 10.0)[0]
    assert _config(floor, tmp_path)["tokens"] == [] and _config(floor, tmp_path)["therapists"] == []
    with pytest.raises(ValueError, match="needs 20 therapists, 3 are logged in"):
        peak_rounds.round_config(
            peak_rounds.peak_round(),
            host="http://127.0.0.1:1",
            tokens=[],
            therapists=THERAPISTS[:3],
            out=tmp_path,
        )


def test_figures_use_the_nearest_rank_percentile_and_a_step_holds_only_within_all_three_limits() -> None:
    assert peak_rounds.p95([float(ms) for ms in range(1, 101)]) == 95
    assert peak_rounds.percentile([3.0, 1.0, 2.0], 50) == 2 and peak_rounds.p95([]) == 0
    results = {
        "requests": {
            "checkin": {"times_ms": [10.0] * 95 + [140.0] * 5, "failures": [], "statuses": [201] * 100},
            "caseload": {"times_ms": [200.0], "failures": ["HTTP 302"], "statuses": [200, 302]},
            "report": {"times_ms": [250.0], "failures": [], "statuses": [200]},
        }
    }
    step = Round("api 30/s", "api", rate=30.0, seconds=3.0)
    found = peak_rounds.figures(results, step)
    checkin = found["checkin"]
    assert (checkin.ok, checkin.errors, checkin.p95, checkin.max) == (100, 0, 10.0, 140.0)
    assert checkin.rate == pytest.approx(100 / 3) and checkin.statuses == {201: 100}
    assert (found["pages"].ok, found["pages"].errors, found["pages"].p95) == (2, 1, 250.0)
    assert peak_rounds.step_passes(checkin, step)
    slow = Figures(ok=100, errors=0, p50=10, p95=151, max=300, rate=30, statuses={}, error_samples=())
    erring = Figures(ok=100, errors=1, p50=10, p95=20, max=30, rate=30, statuses={}, error_samples=("x",))
    short = Figures(ok=80, errors=0, p50=10, p95=20, max=30, rate=26.9, statuses={}, error_samples=())
    assert not any(peak_rounds.step_passes(f, step) for f in (slow, erring, short))


@pytest.mark.cli
def test_the_locustfile_imports_with_its_two_kinds_of_user() -> None:
    check = (
        "import peak_locustfile as m, locust\n"
        "assert issubclass(m.Patient, locust.FastHttpUser) and issubclass(m.Therapist, locust.FastHttpUser)\n"
        "assert issubclass(m.Patient, m.Paced) and issubclass(m.Therapist, m.Paced)\n"
        "assert m.PROXY_HEADERS == {'X-Forwarded-Proto': 'https'}\n"
        "print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=SCRIPTS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_the_product_serves_no_benchmark_url_and_its_wsgi_module_leaves_the_collector_alone() -> None:
    import portal.wsgi  # noqa: F401

    assert settings.ROOT_URLCONF == "portal.urls"
    assert not (ROOT / "portal" / "bench_urls.py").exists()
    with pytest.raises(Resolver404):
        resolve(peak_rounds.FLOOR_PATH)
    assert gc.get_freeze_count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_floor_view_inserts_one_row_and_answers_201() -> None:
    import bench_urls

    bench_urls.floor_table_create()
    try:
        with override_settings(ROOT_URLCONF="bench_urls"):
            assert resolve(peak_rounds.FLOOR_PATH).url_name == "bench-floor-checkin"
            response = Client().post(
                peak_rounds.FLOOR_PATH, {"nprs": 4, "side": "left"}, content_type="application/json"
            )
        assert response.status_code == 201 and response.json() == {"ok": True}
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nprs, side, note FROM {bench_urls.FLOOR_TABLE}")
            assert cursor.fetchall() == [(4, "left", "")]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {bench_urls.FLOOR_TABLE}")


PREVIOUS = """# Benchmarks

- date: 2026-11-26 02:44 UTC

### PostgreSQL: 100,000 plans, 8,400,000 check-ins

- a/c = **1.90** (target <= 2.0: met)
- b/c = **0.393** (target <= 1.5: met)

## API check-in throughput

| floor: bare Django view, one INSERT | 1707.4 | 1.00 |

Ratio API / floor: **0.52** (target >= 0.5): meets the target.
"""


def test_the_closing_section_compares_each_headline_figure_and_says_the_api_ratio_is_withdrawn() -> None:
    current = [
        "### PostgreSQL: 10 plans, 840 check-ins",
        "- a/c = **1.70** (target <= 2.0: met)",
        "- b/c = **0.393** (target <= 1.5: met)",
        "## Morning peak",
        "- check-in p95: **41 ms** (target <= 150 ms: met)",
    ]
    assert bench_report.headline_figures(PREVIOUS) == {
        "PostgreSQL / a/c": "1.90",
        "PostgreSQL / b/c": "0.393",
        "API check-in throughput / Ratio API / floor": "0.52",
    }
    lines = bench_report.what_changed(PREVIOUS, current)
    assert lines[0] == "## What changed against the previous figures"
    assert "(2026-11-26 02:44 UTC)" in lines[2]
    assert "- PostgreSQL / a/c: 1.90 -> 1.70" in lines
    assert "- PostgreSQL / b/c: unchanged" in lines
    assert "- Morning peak / check-in p95: 41 ms (new)" in lines
    withdrawn = [line for line in lines if "withdrawn" in line]
    assert len(withdrawn) == 1 and "Ratio API / floor: 0.52" in withdrawn[0]
    assert not any("not measured" in line for line in lines)
    assert bench_report.what_changed("", current) == []


def test_a_quoted_banner_is_no_headline_figure() -> None:
    text = "# Benchmarks\n\n> **Out of date (2026-11-29).** Figures of an earlier run.\n\n- a/c = **1.91**\n"
    assert bench_report.headline_figures(text) == {"Benchmarks / a/c": "1.91"}
