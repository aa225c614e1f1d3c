"""What the target's progress lines say: records read, written, dead-lettered, speed, and calls against the budget."""

from __future__ import annotations

import time
from collections.abc import Callable

from hubassoc.progress import RequestRate
from target_hubassoc.id_resolution import ResolutionStats
from target_hubassoc.writer import WriteStats


class LoadProgress:
    """One line per report about the whole load; reads the writer's counters from the reporter thread.

    The counters are plain integers the reading thread updates: a line may be a record or two behind, never wrong
    for long, and taking the writer's lock here would hold a line up for a whole flush.
    """

    def __init__(
        self, stats: WriteStats, rate: RequestRate, *, dry_run: bool, clock: Callable[[], float] = time.monotonic,
        resolutions: ResolutionStats | None = None,
    ) -> None:
        self._stats = stats
        self._resolutions = resolutions
        self._rate = rate
        self._dry_run = dry_run
        self._clock = clock
        self._started = clock()

    def lines(self) -> list[str]:
        """The periodic report."""
        line = progress_line(self._stats, self._rate.describe(), self._clock() - self._started, dry_run=self._dry_run)
        resolutions = self._resolutions
        return [line + (f"; {resolutions.progress()}" if resolutions is not None and resolutions.calls else "")]


def progress_line(stats: WriteStats, requests: str, elapsed: float, *, dry_run: bool) -> str:
    """``progress: 4000 records read, written 3990 (created 3000, archived 990), dead-lettered 2, 400 records/s; …``."""
    created, archived = stats.created, stats.archived
    written = "would write" if dry_run else "written"
    speed = stats.read / max(elapsed, 1e-9)
    return (f"progress: {stats.read} records read, {written} {created + archived} (created {created}, archived "
            f"{archived}), dead-lettered {stats.rejected}, {speed:.0f} records/s; {requests}")
