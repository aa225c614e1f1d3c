"""Progress on long loads: every progress_interval seconds one line on stderr, as the tap does."""

from __future__ import annotations

from pathlib import Path

from target_hubassoc.progress import progress_line
from target_hubassoc.writer import WriteStats
from tests.support.runners import LiveCli, target_config
from tests.support.sandbox_api import SandboxFactory
from tests.support.singer import contact_company, record, schema

REQUESTS = r"requests \d+ \(\d+ in the last \d+\.\d s, budget 100 per 10 s\), 429s 0"


def test_the_progress_line_counts_records_read_written_and_dead_lettered() -> None:
    stats = WriteStats(read=4000, created=3000, archived=990, duplicates=5, rejected=5)
    assert progress_line(stats, "requests 3 (...)", 10.0, dry_run=False) == (
        "progress: 4000 records read, written 3990 (created 3000, archived 990), dead-lettered 5, 400 records/s; "
        "requests 3 (...)")


def test_a_dry_runs_progress_line_says_would_write() -> None:
    stats = WriteStats(read=10, created=10)
    assert progress_line(stats, "requests 1 (...)", 1.0, dry_run=True).startswith(
        "progress: 10 records read, would write 10 (created 10, archived 0), dead-lettered 0, 10 records/s; ")


def test_a_load_under_way_reports_progress_on_stderr_while_input_is_still_coming(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    settings = target_config(box, dead_letters, progress_interval=0.05, batch_size_rows=1, max_workers=1,
                             requests_per_10s=100, max_rejected_records=1)
    with LiveCli(settings, tmp_path) as target:
        target.send([schema(), contact_company(101, 201), contact_company(102, 202),
                     record(from_object_type="contacts", from_id="1.5", to_object_type="companies", to_id="203"),
                     contact_company(104, 204)])
        line = target.wait_for_log(
            r"progress: 4 records read, written (\d) \(created \1, archived 0\), dead-lettered 1, \d+ records/s; "
            + REQUESTS)
        assert 2 <= int(line[1]) <= 3  # the last batch may still be in flight
        target.send([contact_company(105, 205)])
        target.wait_for_log(r"progress: 5 records read, .*")
        assert target.finish() == 0
    assert target.log_lines[-2].endswith("Summary: 5 records read: created 4, archived 0, unchanged duplicates 0, "
                                         f"rejected 1 (dead letters in {dead_letters})")
