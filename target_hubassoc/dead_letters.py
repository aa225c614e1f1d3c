"""The dead-letter file: every record a writer could not apply, with the reason, one JSON line each.

Nothing is dropped silently: an invalid record or one HubSpot refuses in a 207 is appended here and the run goes
on. The file holds records and HubSpot's own words about them, never a credential, and is created only when
there is something to put in it, so a clean run leaves none behind.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class DeadLetter:
    """One rejected record (None when HubSpot named no input) and why it was rejected."""

    stream: str | None
    record: dict[str, Any] | None
    reason: str
    action: str | None = None
    category: str | None = None
    message: str | None = None
    correlation_id: str | None = None

    def to_line(self, rejected_at: str) -> str:
        """The JSON line for the file: the record as received, the reason and HubSpot's category/message.

        A NaN or Infinity in the record (Python's JSON reader accepts them) is written as text, so that every
        line of the file stays JSON.
        """
        try:
            return self._dumps(self.record, rejected_at)
        except ValueError:
            return self._dumps(_finite(self.record), rejected_at)

    def _dumps(self, record: Any, rejected_at: str) -> str:
        return json.dumps(
            {
                "stream": self.stream,
                "record": record,
                "reason": self.reason,
                "action": self.action,
                "category": self.category,
                "message": self.message,
                "correlationId": self.correlation_id,
                "rejected_at": rejected_at,
            },
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )


class DeadLetterFile:
    """Appends dead letters to one JSON-lines file, thread-safe; flushed before a batch counts as done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def write(self, letters: list[DeadLetter]) -> None:
        """Append ``letters`` and flush them to the OS, so a STATE emitted afterwards never outruns them."""
        if not letters:
            return
        now = datetime.datetime.now(tz=datetime.timezone.utc).isoformat()
        text = "".join(letter.to_line(now) + "\n" for letter in letters)
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # backslashreplace: a lone surrogate (JSON allows "\ud800") is written as that same escape,
                # which reads back as the value the record held, instead of failing the write.
                self._file = self.path.open("a", encoding="utf-8", errors="backslashreplace")
            self._file.write(text)
            self._file.flush()
            self.count += len(letters)

    def close(self) -> None:
        """Close the file if it was ever opened."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _json_default(value: object) -> Any:
    """Records arrive through the SDK with date-times parsed and JSON floats as Decimal: write them back."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)  # NaN and Infinity are not JSON: keep the text, not an invalid line
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _finite(value: Any) -> Any:
    """``value`` with every float that JSON cannot hold (NaN, Infinity) replaced by its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
