"""Full-table versions: records carry the run's version, activated only once the read is complete.

A loader that follows ACTIVATE_VERSION (target-postgres) deletes every row of an older version when it comes, so
it must come after the last record of a complete read and never at the start; a resumed run keeps its version,
or the rows the interrupted run loaded would be deleted.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, SandboxConfig
from tests.support.crm import CONTACTS_DEALS_BOTH_WAYS, contacts_and_deals
from tests.support.runners import TapRun, kill_after_batches, run_tap_cli, tap_config

BATCH = 50
CONTACTS = [12_000_000_001 + 3 * i for i in range(400)]  # 8 batches
DEALS = [22_000_000_001 + i for i in range(40)]
STREAMS = ("association_types", "associations")


@pytest.fixture
def box() -> Iterator[Sandbox]:
    """Latency makes each batch take a few tens of milliseconds, so a kill lands mid-run."""
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=20), contacts_and_deals(CONTACTS, DEALS)) as sandbox:
        yield sandbox


def config(url: str, **settings: Any) -> dict[str, Any]:
    # Each direction from its own side: the kills land mid-way through the contacts listing.
    return tap_config(url, batch_size=BATCH, associations=CONTACTS_DEALS_BOTH_WAYS, read_each_pair_once=False,
                      **settings)


def activations(run: TapRun, stream: str) -> list[int]:
    return [m["version"] for m in run.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]


def versions(run: TapRun, stream: str) -> set[Any]:
    return {m.get("version") for m in run.messages if m["type"] == "RECORD" and m["stream"] == stream}


def positions(run: TapRun, message_type: str, stream: str) -> list[int]:
    return [i for i, m in enumerate(run.messages) if m["type"] == message_type and m.get("stream") == stream]


def saved_versions(run: TapRun) -> list[Any]:
    return [s["bookmarks"].get("associations", {}).get("table_version") for s in run.states()]


@pytest.mark.parametrize("stream", STREAMS)
def test_every_record_of_a_run_carries_the_version_it_activates(box: Sandbox, tmp_path: Path, stream: str) -> None:
    run = run_tap_cli(tmp_path, config(box.url))
    assert run.returncode == 0, run.stderr
    assert run.records(stream)
    assert versions(run, stream) == set(activations(run, stream))
    assert len(activations(run, stream)) == 1


@pytest.mark.parametrize("stream", STREAMS)
def test_activation_comes_after_the_last_record_never_at_the_start(
    box: Sandbox, tmp_path: Path, stream: str,
) -> None:
    run = run_tap_cli(tmp_path, config(box.url))
    assert run.returncode == 0, run.stderr
    [activated] = positions(run, "ACTIVATE_VERSION", stream)
    assert activated > max(positions(run, "RECORD", stream))


def test_the_final_state_follows_the_activation_and_forgets_the_version(box: Sandbox, tmp_path: Path) -> None:
    run = run_tap_cli(tmp_path, config(box.url))
    assert run.returncode == 0, run.stderr
    [activated] = positions(run, "ACTIVATE_VERSION", "associations")
    assert run.messages[-1]["type"] == "STATE"
    assert activated < len(run.messages) - 1
    assert "table_version" not in run.states()[-1]["bookmarks"]["associations"]


def test_states_of_an_unfinished_read_carry_its_version(box: Sandbox, tmp_path: Path) -> None:
    run = run_tap_cli(tmp_path, config(box.url))
    assert run.returncode == 0, run.stderr
    mid_run = saved_versions(run)[1:-1]  # after association_types, before the final STATE
    assert mid_run
    assert set(mid_run) == set(activations(run, "associations"))


def test_a_later_complete_run_activates_a_later_version(box: Sandbox, tmp_path: Path) -> None:
    first = run_tap_cli(tmp_path, config(box.url))
    second = run_tap_cli(tmp_path, config(box.url), state=first.states()[-1])
    assert activations(second, "associations")[0] > activations(first, "associations")[0]


def test_an_interrupted_run_activates_nothing(box: Sandbox, tmp_path: Path) -> None:
    killed = kill_after_batches(tmp_path, config(box.url), "contacts", 3)
    assert killed.returncode == -signal.SIGKILL
    assert activations(killed, "associations") == []


def test_a_resumed_run_keeps_the_version_of_the_run_it_resumes(box: Sandbox, tmp_path: Path) -> None:
    killed = kill_after_batches(tmp_path, config(box.url), "contacts", 3)
    [interrupted_version] = versions(killed, "associations")
    assert saved_versions(killed)[-1] == interrupted_version
    resumed = run_tap_cli(tmp_path, config(box.url), state=killed.states()[-1])
    assert resumed.returncode == 0, resumed.stderr
    assert versions(resumed, "associations") == {interrupted_version}
    assert activations(resumed, "associations") == [interrupted_version]


def test_a_run_stopped_by_hubspot_activates_nothing(tmp_path: Path) -> None:
    store = contacts_and_deals(CONTACTS, DEALS)
    with Sandbox(SandboxConfig(rate_limit=10_000, daily_limit=12), store) as box:
        run = run_tap_cli(tmp_path, config(box.url, max_workers=1))
    assert run.returncode != 0
    assert run.records("associations")
    assert activations(run, "associations") == []


def test_versioning_off_sends_no_version_and_no_activation(box: Sandbox, tmp_path: Path) -> None:
    run = run_tap_cli(tmp_path, config(box.url, emit_activate_version_messages=False))
    assert run.returncode == 0, run.stderr
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert versions(run, "associations") == {None}
    assert saved_versions(run)[1:-1] == [None] * (len(run.states()) - 2)


def test_a_stream_map_alias_is_activated_under_its_alias(box: Sandbox, tmp_path: Path) -> None:
    run = run_tap_cli(tmp_path, config(box.url, stream_maps={"associations": {"__alias__": "hubspot_links"}}))
    assert run.returncode == 0, run.stderr
    assert run.records("hubspot_links")
    assert versions(run, "hubspot_links") == set(activations(run, "hubspot_links"))
    assert activations(run, "associations") == []


def test_a_connection_test_activates_nothing(box: Sandbox, tmp_path: Path) -> None:
    run = run_tap_cli(tmp_path, config(box.url), "--test=all")
    assert run.returncode == 0, run.stderr
    assert run.records("associations")
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
