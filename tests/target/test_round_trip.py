"""Backup and restore: tap-hubassoc's output, fed unchanged to target-hubassoc, rebuilds the association set.

The records come from a seeded sandbox's store in the design's record shape (both directions, primaries,
unlabeled defaults and a custom label), exactly what the tap emits for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hubassoc.sandbox import Sandbox, Store, preset, seed_store
from tests.support.runners import run_target_cli, target_config
from tests.support.singer import state, tap_schema


def test_tap_output_replayed_on_an_empty_account_with_the_same_objects_reproduces_every_association(
    sandbox: Any, dead_letters: Path, tmp_path: Path,
) -> None:
    source: Sandbox = sandbox(seed="demo")
    backup = source.store.records()
    empty = Store()
    seed_store(empty, preset("demo"))  # the same objects and labels (label ids are account-specific) ...
    empty.clear_associations()  # ... and no associations
    restored: Sandbox = sandbox(store=empty)
    messages = [tap_schema(), *({"type": "RECORD", "stream": "associations", "record": r} for r in backup),
                state(bookmarks={})]
    run = run_target_cli(target_config(restored, dead_letters), messages, tmp_path)
    assert run.returncode == 0, run.log
    assert restored.store.records() == backup
    assert run.dead_letters == []
    assert run.states == [{"bookmarks": {}}]
