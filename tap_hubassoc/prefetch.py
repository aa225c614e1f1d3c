"""Listing a from type's ids on a thread of its own, a bounded number of pages ahead of the reader.

Listing pages of one type must follow one another (each cursor comes from the previous reply), so the
longest listing is the longest chain of requests in a run. The SDK reads partitions (from types) one after
another: listed in line, the second type's listing would start only once the first type is read, and the
reader's own work (emitting records) would pause the listing. Listing every from type at once, each on its
own thread, keeps every chain moving; the reader takes the pages in listing order, so batches, records and
resume positions are exactly what they are without it. The bound keeps memory flat however large the CRM.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hubassoc.objects_api import IdPage

MAX_PAGES_AHEAD = 1000  # 100,000 ids, a few MB: a later from type's listing runs on while an earlier one is read
_POLL_SECONDS = 0.1


class ListingStoppedError(RuntimeError):
    """The listing was stopped (the stream is aborting) before its last page."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the listing of {name} was stopped")


@dataclass(frozen=True)
class _End:
    """The listing's last word: finished (error None), or the error the reader must raise."""

    error: BaseException | None


class ListingPrefetch:
    """Pages of one listing, fetched on a daemon thread as soon as it is made."""

    def __init__(
        self, list_pages: Callable[[], Iterator[IdPage]], name: str, max_pages: int | None = None,
    ) -> None:
        self._pages: queue.Queue[IdPage | _End] = queue.Queue(max_pages or MAX_PAGES_AHEAD)
        self._stop = threading.Event()
        self._name = name
        self._thread = threading.Thread(target=self._run, args=(list_pages,), name=f"hubassoc-listing-{name}",
                                        daemon=True)
        self._thread.start()

    def pages(self) -> Iterator[IdPage]:
        """The pages in listing order; a listing error is raised here, where the pages are used.

        Once stopped, waiting for a page raises rather than blocks for ever: a reader still waiting then (the
        read-ahead thread, see tap_hubassoc.readahead) is released, and pages that will never come are not
        mistaken for the end of the listing.
        """
        while True:
            try:
                item = self._pages.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._stop.is_set():
                    raise ListingStoppedError(self._name) from None
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    @property
    def requesting(self) -> bool:
        """Whether the listing may be sending requests now: neither finished, stopped, nor waiting for room."""
        return self._thread.is_alive() and not self._stop.is_set() and not self._pages.full()

    def stop(self) -> None:
        """Stop listing after the request under way (the thread is a daemon: nothing waits for it)."""
        self._stop.set()

    def _run(self, list_pages: Callable[[], Iterator[IdPage]]) -> None:
        try:
            for page in list_pages():
                if not self._put(page):
                    return
        except BaseException as exc:  # handed to the reader, which raises it in its own thread
            self._put(_End(exc))
            return
        self._put(_End(None))

    def _put(self, item: IdPage | _End) -> bool:
        """Queue ``item`` when there is room; False once stopped."""
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False
