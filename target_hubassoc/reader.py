"""A Singer reader that knows which input line it is on, so a run that stops can name the line that stopped it."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from singer_sdk.io_base import SingerReader
from typing_extensions import override

logger = logging.getLogger("target-hubassoc")

FailureHook = Callable[[BaseException, str], None]


class NumberedSingerReader(SingerReader):
    """The SDK's reader, counting lines; ``on_failure`` hears of any error with the line it happened on."""

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self.on_failure: FailureHook | None = None

    @override
    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        """Process every line as the SDK does; a failure is reported with its line number, then re-raised."""
        try:
            return super().process_lines(self._numbered(file_input or self.default_input), callbacks)  # type: ignore[arg-type]
        except Exception as exc:
            where = f"input line {self.line_number}"
            if self.on_failure is None:
                logger.error("stopped at %s: %s", where, exc)
            else:
                self.on_failure(exc, where)
            raise

    def _numbered(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            self.line_number += 1
            yield line
