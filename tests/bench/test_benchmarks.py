"""The benchmark script runs end to end in its quick mode, so it cannot rot; its timings are never asserted.

What is asserted are the facts every run must show (benchmarks/scenarios.py ``checks``): each plugin exits 0,
makes exactly the calls HubSpot's paging implies, yields every record, leaves HubSpot holding what it should,
and no request fails. The lower bound is checked against the issue's own figures.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.bounds import Budget, lower_bound, window_floor
from benchmarks.crm import write_calls
from benchmarks.modes import QUICK
from benchmarks.report import failed_checks
from benchmarks.run import main


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict]:
    out = tmp_path_factory.mktemp("results")
    status = main(["--quick", "--out", str(out)])
    [written] = out.glob("quick-*.json")
    assert written.with_suffix(".md").read_text().startswith("Benchmark `quick`")
    return status, json.loads(written.read_text())


def test_the_quick_run_exits_0_with_every_check_holding(quick: tuple[int, dict]) -> None:
    status, document = quick
    assert failed_checks(document["results"]) == []
    assert status == 0


def test_the_quick_run_measures_every_scenario_and_setting(quick: tuple[int, dict]) -> None:
    results = quick[1]["results"]
    assert [row["max_workers"] for row in results["tap"]] == list(QUICK.tap_workers)
    assert [(row["plugin"], row["record_validation"]) for row in results["cpu"]] == [
        ("tap", False), ("tap", True), ("target", False), ("target", True)]
    assert [row["from_objects"] for row in results["scale"]] == list(QUICK.scale_sizes)
    assert results["target"][0]["associations"] == QUICK.target_creates + QUICK.target_archives


def test_each_cpu_row_is_the_median_of_its_runs(quick: tuple[int, dict]) -> None:
    for row in quick[1]["results"]["cpu"]:
        each = row["cpu_s_each_run"]
        assert len(each) == QUICK.cpu_runs
        assert row["cpu_s"] == sorted(each)[len(each) // 2]


def test_no_request_fails_and_none_is_refused_for_the_rate_limit(quick: tuple[int, dict]) -> None:
    rows = [row for rows in quick[1]["results"].values() for row in rows]
    assert {(row["failed"], row["rate_limited"]) for row in rows} == {(0, 0)}


def test_the_lower_bound_of_the_issues_target_run_is_its_pacing() -> None:
    """1,000,000 creates and 200,000 archives in 2,000s, plus the types call, at 150 requests / 10 s."""
    calls = 1 + write_calls(1_000_000, 200_000, buffer_limit=16_000)
    bound = lower_bound(calls, chain=1, max_workers=8, latency_s=0.15, budget=Budget(150))
    assert calls == 601
    assert (bound.binding, bound.seconds) == ("pacing", pytest.approx((601 - 150) / 15))


def test_the_chain_binds_when_one_listing_outlasts_the_budget() -> None:
    """500 listing pages one round trip apart, then one read: 75.15 s, while 560 calls pace in 46 s."""
    bound = lower_bound(560, chain=501, max_workers=8, latency_s=0.15, budget=Budget(100))
    assert bound.binding == "chain"
    assert bound.seconds == pytest.approx(501 * 0.15)


def test_write_calls_counts_a_flush_that_holds_creates_and_archives_as_two_groups() -> None:
    """20,000 creates then 4,000 archives, flushed every 16,000: 8, then 2 creates and 2 archives."""
    assert write_calls(20_000, 4_000, buffer_limit=16_000) == 12


def test_the_rolling_window_floor_steps_by_whole_windows() -> None:
    """Request k + 150 goes no sooner than one window after request k: 600 calls fit in 30 s, 601 need 40 s."""
    assert (window_floor(600, Budget(150)), window_floor(601, Budget(150))) == (30.0, 40.0)
