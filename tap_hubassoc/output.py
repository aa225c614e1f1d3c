"""The tap's Singer output: RECORD lines encoded by the standard library's C encoder and written in blocks.

The SDK's writer encodes every message with simplejson and writes and flushes each one: at least a system
call per record (one per write when PYTHONUNBUFFERED is set, as in many containers), together about a third
of the tap's CPU per record (measured by benchmarks/). Records need neither: they are kept until 64 KiB have
gathered or another message comes, which writes them first and flushes, so a reader never sees a STATE
before the records it covers. The tap flushes what is left when a sync ends, however it ends. A record the
fast path cannot encode exactly as the SDK would (a Decimal or NaN from a stream map, say) takes the SDK's
own encoding.
"""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any

from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override


def _timestamp(value: Any) -> str:
    """``time_extracted``, as the SDK writes it; anything else is not for the fast path."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep="T")
    msg = f"{type(value).__name__} is left to the SDK's encoder"
    raise TypeError(msg)


_encode_record = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_timestamp).encode
BLOCK_CHARS = 64 * 1024


class RecordBufferingWriter(SingerWriter):
    """The SDK's Singer writer, with a cheaper path for RECORD messages."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[str] = []
        self._chars = 0

    @override
    def serialize_message(self, message: Message) -> str:
        if isinstance(message, RecordMessage):
            try:
                return _encode_record(message.to_dict())
            except (TypeError, ValueError):
                pass
        return super().serialize_message(message)

    @override
    def write_message(self, message: Message) -> None:
        line = self.format_message(message) + "\n"
        if isinstance(message, RecordMessage):
            self._records.append(line)
            self._chars += len(line)
            if self._chars >= BLOCK_CHARS:
                self.flush()
            return
        self._records.append(line)
        self.flush()

    def flush(self) -> None:
        """Write the records kept so far (and the message that followed them), then flush stdout."""
        if self._records:
            sys.stdout.write("".join(self._records))
            self._records.clear()
            self._chars = 0
        sys.stdout.flush()
