"""Stopping on SIGTERM or SIGINT without a STATE for records that are not written yet.

The SDK's own handler drains every sink and emits the latest STATE from inside the signal handler, at
whatever point the main thread was interrupted. In the middle of a flush that goes wrong: the handler's drain
finds the buffer already handed to the interrupted flush, sends nothing, and emits the latest STATE while that
flush's batches are still in flight, so an orchestrator saves a position past records HubSpot never got. Here
the drain happens only between input lines (the main thread blocked reading, or done with a line); a signal
that arrives while a line is being processed, flush included, stops the run as soon as that line is done.
A second signal stops the run at once: whatever was not written by then has no STATE, so a rerun sends it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from target_hubassoc.reader import NumberedSingerReader

logger = logging.getLogger("target-hubassoc")
SIGNALS = ("SIGTERM", "SIGINT")


class GracefulStop:
    """Installs the signal handlers; ``stop(signum)`` drains, summarises and exits, at a safe point only."""

    def __init__(self, reader: NumberedSingerReader, stop: Callable[[int], None]) -> None:
        self._reader = reader
        self._stop = stop
        self.signal: int | None = None
        self.ending = False  # set once the input has ended: the run finishes on its own, with its own STATE

    def install(self) -> None:
        """Replace the SDK's handlers (only the main thread may install them, as the SDK does)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for name in SIGNALS:
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self.handle)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Stop now when the main thread is between lines, else once the line under way is processed."""
        if self.ending:
            logger.info("Received termination signal %d: already finishing", signum)
            return
        if self.signal is not None:  # asked twice: stop now; no STATE comes out after this point
            logger.info("Received termination signal %d again: stopping now, without writing what is left", signum)
            raise SystemExit(1)
        self.signal = signum
        if self._reader.busy:
            logger.info("Received termination signal %d: stopping once input line %d is processed",
                        signum, self._reader.line_number)
            self._reader.after_line = self._stop_now
            return
        self._stop_now()

    def _stop_now(self) -> None:
        self._reader.after_line = None
        if self.signal is not None:
            self._stop(self.signal)
