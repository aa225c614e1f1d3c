"""Reading later partitions (from types) ahead, on worker threads the partition being read leaves idle.

The SDK reads partitions one after another and records must be emitted in that order. While partition N is
read its workers are often idle: its batches wait on its listing, a chain of one page per round trip. A later
partition's ids are listed meanwhile (tap_hubassoc.prefetch), so idle workers can read its first batches;
their results are held, in order, until the SDK reaches that partition, whose ordered pipeline then starts with
them. Records, their order and the STATE after each batch are exactly what they are without read-ahead.

Bounds, and why:

- worker slots: a read-ahead task starts only on an idle worker, so it never queues in the pool ahead of the
  current partition's tasks, and read-ahead runs on at most half the workers, so the current partition always
  has the other half (with one worker there is no read-ahead: it could only delay the current partition);
- memory: no task starts once the later partitions together hold ``READ_AHEAD_RECORDS`` records or
  ``2 * max_workers`` batches (what the current partition's own pipeline may hold), so they hold at most that
  plus the batches under way: flat however large the CRM and however many from types;
- request budget: a read ahead waits while ``may_start`` says no; the tap says no while two listings run,
  since chains bound the run and two of them can spend the budget between them, and its requests are
  deferred: they take only budget no other request waits for (see streams.py);
- stopping: after ``stop()`` nothing more starts and what has not started is cancelled; a task already running
  finishes its batch read (its requests are the ones in flight).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hubassoc.concurrency import map_in_order

T = TypeVar("T")
R = TypeVar("R")

# Records held while an earlier partition is emitted: enough to keep the idle workers busy, bounded in memory.
READ_AHEAD_RECORDS = 100_000


class WorkerSlots:
    """The client's worker threads as the tap's reads use them: how many are busy.

    Every read goes through ``submit`` (``ordered`` for the current partition), so ``busy`` is what the pool
    is doing for this stream; the client exposes no count of its own.
    """

    def __init__(self, submit: Callable[..., Future[Any]], max_workers: int) -> None:
        self.max_workers = max_workers
        self.changed = threading.Condition()  # notified whenever a task settles
        self.busy = 0  # submitted and not settled: running or queued
        self._submit = submit

    def submit(self, fn: Callable[[T], R], item: T) -> Future[R]:
        """Run ``fn(item)`` on a worker, counted until it settles (finished, failed or cancelled)."""
        with self.changed:
            self.busy += 1
        try:
            future: Future[R] = self._submit(fn, item)
        except BaseException:
            self._settled()
            raise
        future.add_done_callback(lambda _: self._settled())
        return future

    def ordered(self, fn: Callable[[T], R], items: Iterable[T], started: Iterable[Future[R]] = ()) -> Iterator[R]:
        """``fn`` over ``items`` on the workers, results in input order after those of ``started``.

        As the client's ``map_ordered``, counted here, and beginning with tasks already started: a partition
        read ahead continues here without a pause.
        """
        return map_in_order(self.submit, fn, items, 2 * self.max_workers, started)

    def _settled(self) -> None:
        with self.changed:
            self.busy -= 1
            self.changed.notify_all()


_END: Any = object()
_POLL_SECONDS = 0.1


@dataclass
class _Lane(Generic[T, R]):
    """One later partition: its tasks in order, those started ahead, and what they hold."""

    items: Iterator[T]
    futures: list[Future[R]] = field(default_factory=list)
    records: int = 0
    error: BaseException | None = None
    claimed: bool = False
    pulling: threading.Lock = field(default_factory=threading.Lock)  # held while an item is taken from ``items``


@dataclass(frozen=True)
class Claimed(Generic[T, R]):
    """A partition taken over by its reader: the tasks started ahead, in order, then the ones not yet started."""

    started: list[Future[R]]
    rest: Iterator[T]

    def cancel(self) -> None:
        """Drop what was read ahead (the tasks not yet running are cancelled)."""
        for future in self.started:
            future.cancel()


class ReadAhead(Generic[T, R]):
    """Starts later partitions' tasks on idle workers, on a thread of its own, in partition order.

    ``size`` tells how many records a result holds. The thread takes a lane's items one by one (a listing
    page may be awaited there, not by the reader) while the bounds allow, and moves to the next lane once the
    lane has no more items or its reader has claimed it: the reader needs the partitions in that order.
    ``may_start`` is asked before each start, and again every 0.1 s while it says no.
    """

    def __init__(
        self, slots: WorkerSlots, fn: Callable[[T], R], size: Callable[[R], int],
        lanes: Iterable[tuple[Hashable, Iterator[T]]], *, max_records: int = READ_AHEAD_RECORDS,
        may_start: Callable[[], bool] = lambda: True,
    ) -> None:
        self._slots = slots
        self._fn = fn
        self._size = size
        self._lanes: dict[Hashable, _Lane[T, R]] = {key: _Lane(items) for key, items in lanes}
        self._max_running = slots.max_workers // 2
        self._max_tasks = 2 * slots.max_workers
        self._max_records = max_records
        self._may_start = may_start  # polled: whether a read ahead may take request budget now
        self._changed = slots.changed  # one lock for slots and lanes: a settling task wakes the thread
        self._running = 0  # started and not settled here (so records are counted before another starts)
        self._tasks = 0  # started for lanes not yet claimed
        self._records = 0  # held by those of them that finished
        self._stopped = False
        self._halted = False  # a read ahead failed: the run stops when that partition is read, so read no further
        self.thread = threading.Thread(target=self._run, name="hubassoc-readahead", daemon=True)
        if self._lanes and self._max_running > 0:
            self.thread.start()

    def claim(self, key: Hashable) -> Claimed[T, R] | None:
        """The partition's tasks, for its reader (None if it has no lane, or read-ahead was stopped).

        An error met while taking the lane's items ahead (a failed listing) is raised by ``rest`` in its
        place, after the tasks started before it, as it would have been without read-ahead.
        """
        with self._changed:
            lane = None if self._stopped else self._lanes.pop(key, None)
            if lane is None:
                return None
            lane.claimed = True
            self._tasks -= len(lane.futures)
            self._records -= lane.records
            self._changed.notify_all()
        with lane.pulling:  # the thread may be taking this lane's next item: the one the reader needs next
            error = lane.error
            return Claimed(list(lane.futures), lane.items if error is None else _raise(error))

    def stop(self) -> None:
        """Start nothing more, and cancel the tasks of unclaimed lanes that have not started."""
        with self._changed:
            self._stopped = True
            futures = [f for lane in self._lanes.values() for f in lane.futures]
            self._lanes.clear()
            self._changed.notify_all()
        for future in futures:
            future.cancel()

    def _run(self) -> None:
        for lane in list(self._lanes.values()):  # partition order
            while self._room_for(lane):
                with lane.pulling:
                    if not self._start_next(lane):
                        break

    def _room_for(self, lane: _Lane[T, R]) -> bool:
        """Wait until ``lane`` may start one more task; False once it may not (claimed, stopped, halted)."""
        slots = self._slots
        with self._changed:
            while not (lane.claimed or self._stopped or self._halted):
                if (slots.busy < slots.max_workers and self._running < self._max_running
                        and self._tasks < self._max_tasks and self._records < self._max_records):
                    if self._may_start():
                        return True
                    self._changed.wait(_POLL_SECONDS)
                else:
                    self._changed.wait()
            return False

    def _start_next(self, lane: _Lane[T, R]) -> bool:
        """Take the lane's next item and start it; False when the lane is done with (ended, failed, claimed)."""
        with self._changed:
            if lane.claimed or self._stopped:
                return False
        try:
            item = next(lane.items, _END)
        except BaseException as exc:  # handed to the reader, which raises it in its own thread
            lane.error = exc
            self._halt()
            return False
        if item is _END:
            return False
        with self._changed:
            if self._stopped:
                return False
        try:
            future = self._slots.submit(self._fn, item)
        except BaseException as exc:  # the client was closed: the reader meets the same
            lane.error = exc
            self._halt()
            return False
        with self._changed:
            lane.futures.append(future)
            self._running += 1
            self._tasks += not lane.claimed
        future.add_done_callback(functools.partial(self._settled, lane))
        return True

    def _settled(self, lane: _Lane[T, R], future: Future[R]) -> None:
        failed = future.cancelled() or future.exception() is not None
        size = 0 if failed else self._size(future.result())
        with self._changed:
            self._running -= 1
            if failed:
                self._halted = True
            elif not lane.claimed:
                lane.records += size
                self._records += size
            self._changed.notify_all()

    def _halt(self) -> None:
        with self._changed:
            self._halted = True
            self._changed.notify_all()


def _raise(error: BaseException) -> Iterator[Any]:
    raise error
    yield  # a generator: raises when the reader gets there
