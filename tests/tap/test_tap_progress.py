"""Progress lines: periodic, per pair, with the run's request rate against its budget; a closing summary."""

from __future__ import annotations

import threading
import time

from hubassoc.auth import Credentials, Secret
from hubassoc.client import ClientSettings, HubSpotClient
from hubassoc.progress import PeriodicReporter, RequestRate
from tap_hubassoc.progress import PartitionProgress
from tests.support.waiting import wait_until

PAIRS = ["contacts->companies", "contacts->deals"]


def test_reporter_logs_every_interval_and_nothing_after_stop() -> None:
    lines: list[str] = []
    ticked = threading.Event()

    def produce() -> list[str]:
        ticked.set()
        return ["tick"]

    with PeriodicReporter(0.02, produce, lines.append):
        assert ticked.wait(5)
        wait_until(lambda: len(lines) >= 2, "a second tick")
    count = len(lines)
    time.sleep(0.1)  # five intervals pass after stop: a reporter still ticking would log meanwhile
    assert count >= 2
    assert len(lines) == count


def test_lines_name_each_pair_with_counts_rate_budget_and_429s() -> None:
    progress = PartitionProgress("contacts", PAIRS, clock=iter([0.0, 10.0, 20.0]).__next__)
    progress.listed(1000)
    progress.read("contacts->deals", 1000, 2500)
    with HubSpotClient(ClientSettings(requests_per_10s=150), Credentials(access_token=Secret("x"))) as client:
        rate = RequestRate(client, clock=iter([0.0, 10.0, 20.0]).__next__)
        for status in (200, 200, 429):
            client.stats.count(status, retried=False)
        lines = progress.lines(rate)
        summary = progress.summary(rate)
    assert lines == [
        "associations contacts->companies: 1000 ids listed, 0 read, 0 records (0 records/s); "
        "requests 3 (3 in the last 10.0 s, budget 150 per 10 s), 429s 1",
        "associations contacts->deals: 1000 ids listed, 1000 read, 2500 records (250 records/s); "
        "requests 3 (3 in the last 10.0 s, budget 150 per 10 s), 429s 1",
    ]
    assert summary[1] == ("associations contacts->deals finished: 1000 ids read, 2500 records in 20.0 s "
                          "(125 records/s); run so far: requests 3 (0 in the last 10.0 s, budget 150 per 10 s), 429s 1")


def test_a_counted_from_type_says_how_many_of_its_ids_are_listed() -> None:
    """HubSpot's listing tells no total; the search count the tap takes does, so the line can."""
    progress = PartitionProgress("contacts", PAIRS[:1], clock=iter([0.0, 10.0]).__next__, total=50_000)
    progress.listed(1000)
    with HubSpotClient(ClientSettings(), Credentials(access_token=Secret("x"))) as client:
        line = progress.lines(RequestRate(client, clock=iter([0.0, 10.0]).__next__))[0]
    assert line.startswith("associations contacts->companies: 1000 of 50000 ids listed, 0 read")
