"""HubSpot's daily limit: both plugins stop at once, say when it resets, and a rerun after the reset completes.

HubSpot fact (hubspot-associations-api.md, "Rate limits"): a 429 with ``policyName: DAILY`` means the account's
daily requests are spent until midnight in the account's time zone; retrying before then only adds errors.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.support.credentials import assert_no_secrets, private_app, start_sandbox
from tests.support.crm.reliability import (
    Load,
    contact_deal_edges,
    tap_crm,
    tap_expected,
    tap_settings,
    target_crm,
    target_settings,
)
from tests.support.recorded_runs import assert_clean_failure, run_tap, run_target, target_states
from tests.support.singer import key_of

WORKERS = 4
RESETS = "resets at midnight in the HubSpot account's time zone"


def test_tap_stops_at_the_daily_limit_and_resumes_after_the_reset(tmp_path: Path) -> None:
    store = tap_crm()
    with start_sandbox(store, daily_limit=20) as box:
        settings = private_app(box, **tap_settings(max_workers=WORKERS))
        stopped = run_tap(tmp_path, settings, name="stopped")
        assert_clean_failure(stopped)
        assert RESETS in stopped.stderr
        assert "policyName" not in stopped.stderr  # HubSpot's reason in words, not its JSON
        # the reason, then what the run spent, as the last lines: this run's calls, not another app's
        last = [line for line in stopped.stderr.strip().splitlines() if "tap-hubassoc" in line][-2:]
        assert "tap-hubassoc stopped: HubSpot 429" in last[0]
        assert f"Summary: {box.counters()['requests_total']} API calls" in last[1]
        # prompt: no retry; only reads already handed to the workers when the first DAILY 429 came back
        # (at most two per worker are queued ahead) get one too
        assert box.counters()["rate_limited"] <= 2 * WORKERS
        box.reset_rate_limits()  # a new day
        box.configure(daily_limit=None)
        resumed = run_tap(tmp_path, settings, name="resumed", state=stopped.tap_states()[-1])
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert_no_secrets(box, stopped, resumed)
    read = Counter(key_of(r) for r in stopped.tap_records() + resumed.tap_records())
    assert set(read) == set(tap_expected(store))  # nothing lost; a batch read again is the only repetition


def test_target_stops_at_the_daily_limit_with_state_for_written_records_only(tmp_path: Path) -> None:
    store, load = target_crm()
    with start_sandbox(store, daily_limit=12) as box:
        settings = private_app(box, dead_letter_path=str(tmp_path / "rejected.jsonl"),
                               **target_settings(max_workers=WORKERS))
        stopped = run_target(tmp_path, settings, load.lines, name="stopped")
        assert_clean_failure(stopped)
        assert RESETS in stopped.stderr
        assert box.counters()["rate_limited"] <= 2 * WORKERS
        states = target_states(stopped)
        position = load.position_of(states[-1] if states else None)
        assert 0 < position < load.records, "the limit must fall mid-run for this test to mean anything"
        assert_acknowledged_records_are_written(contact_deal_edges(box.store), load, position)
        counts = stopped.summary().records
        assert counts["unconfirmed"] > 0
        assert counts["read"] == (counts["created"] + counts["archived"] + counts["duplicates"]
                                  + counts["rejected"] + counts["unconfirmed"])

        box.reset_rate_limits()
        box.configure(daily_limit=None)
        resumed = run_target(tmp_path, settings, load.resume_from(position), name="resumed")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert contact_deal_edges(box.store) == load.after
        assert resumed.summary().records["read"] == load.records - position
        assert_no_secrets(box, stopped, resumed)


def assert_acknowledged_records_are_written(edges: set[tuple[int, int]], load: Load, position: int) -> None:
    """Every record a printed STATE covers is in HubSpot: created ones present, archived ones gone."""
    for record in load.records_until(position):
        edge = (int(record["from_id"]), int(record["to_id"]))
        assert (edge in edges) == ("_sdc_deleted_at" not in record), record
