"""What the progress lines of one from type's partition say: ids listed, ids read, records, speed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hubassoc.progress import RequestRate


class PartitionProgress:
    """Counters for one from type and its pairs: the sync thread writes, the reporter thread reads."""

    def __init__(
        self, from_type: str, pair_names: list[str], clock: Callable[[], float] = time.monotonic, *,
        total: int | None = None,
    ) -> None:
        self.from_type = from_type
        self.total = total  # the from type's objects, when search counted them
        self.pair_names = pair_names
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._listed = 0
        self._read = dict.fromkeys(pair_names, 0)
        self._records = dict.fromkeys(pair_names, 0)

    def listed(self, count: int) -> None:
        """Ids of the from type listed (or taken from from_ids) so far grew by ``count``."""
        with self._lock:
            self._listed += count

    def read(self, pair_name: str, ids: int, records: int) -> None:
        """One batch of one pair was read and its records emitted."""
        with self._lock:
            self._read[pair_name] += ids
            self._records[pair_name] += records

    def records(self, pair_name: str) -> int:
        """Records emitted for a pair so far."""
        with self._lock:
            return self._records[pair_name]

    def lines(self, rate: RequestRate) -> list[str]:
        """One line per pair, for the periodic report."""
        requests = rate.describe()
        elapsed = max(self._clock() - self._started, 1e-9)
        of = "" if self.total is None else f" of {self.total}"
        with self._lock:
            return [
                f"associations {name}: {self._listed}{of} ids listed, {self._read[name]} read, "
                f"{self._records[name]} records ({self._records[name] / elapsed:.0f} records/s); {requests}"
                for name in self.pair_names
            ]

    def summary(self, rate: RequestRate) -> list[str]:
        """One closing line per pair, when the from type is finished."""
        requests = rate.describe()
        elapsed = max(self._clock() - self._started, 1e-9)
        with self._lock:
            return [
                f"associations {name} finished: {self._read[name]} ids read, {self._records[name]} records in "
                f"{elapsed:.1f} s ({self._records[name] / elapsed:.0f} records/s); run so far: {requests}"
                for name in self.pair_names
            ]
