"""The tap's Singer output: RECORD lines encoded by msgspec or the standard library's C encoder, written in blocks.

The SDK's writer encodes every message with simplejson and writes and flushes each one, a system call per
record; records need neither. They are kept until 64 KiB have gathered or another message comes, which writes
them first and flushes, so a reader never sees a STATE before the records it covers. The tap flushes what is
left when a sync ends, however it ends. A record the fast path cannot encode exactly as the SDK would (a Decimal
or NaN from a stream map, say) takes the SDK's own encoding.
"""

from __future__ import annotations

import datetime
import functools
import json
import sys
from typing import Any

import msgspec
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override


def _timestamp(value: Any) -> str:
    """``time_extracted``, as the SDK writes it; anything else is not for the fast path."""
    if isinstance(value, datetime.datetime):
        return _isoformat(value)
    msg = f"{type(value).__name__} is left to the SDK's encoder"
    raise TypeError(msg)


def _isoformat(value: datetime.datetime) -> str:
    """``value.isoformat(sep="T")`` in about half its time for UTC times: each record has its own.

    The SDK stamps every record with the current time; the text of its whole second is kept and reused.
    """
    if value.tzinfo is not datetime.timezone.utc:
        return value.isoformat(sep="T")
    second = _whole_second(value.year, value.month, value.day, value.hour, value.minute, value.second)
    micro = value.microsecond
    return f"{second}.{micro:06d}+00:00" if micro else second + "+00:00"


@functools.lru_cache(maxsize=1)
def _whole_second(year: int, month: int, day: int, hour: int, minute: int, second: int) -> str:
    return datetime.datetime(year, month, day, hour, minute, second).isoformat(sep="T")


_encode_record = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_timestamp).encode
# msgspec (the SDK's msgspec extra) encodes a record in a third of the standard library's time. It writes
# floats, Decimals, datetimes and non-ASCII text its own way, so it takes only records of strings, integers,
# booleans and nulls (the tap's own), and its line only when that is ASCII: then it is the same line.
_encode_plain = msgspec.json.Encoder().encode
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})
BLOCK_CHARS = 64 * 1024


def _plain_line(message: RecordMessage) -> str | None:
    """The message as the standard library's encoder would write it, by msgspec; None if that is not sure."""
    if not _PLAIN_TYPES.issuperset(map(type, message.record.values())):
        return None
    fields = message.to_dict()
    try:
        if fields.get("time_extracted") is not None:
            fields["time_extracted"] = _timestamp(fields["time_extracted"])
        line = _encode_plain(fields).decode()
    except (TypeError, ValueError, OverflowError):
        return None
    return line if line.isascii() else None


class RecordBufferingWriter(SingerWriter):
    """The SDK's Singer writer, with a cheaper path for RECORD messages."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[str] = []
        self._chars = 0
        self.versions: dict[str, int] = {}  # table version by stream name, for records that carry none

    def version_records(self, stream: str, version: int) -> None:
        """Give every later record of ``stream`` that has no version this one (see tap_hubassoc.versions)."""
        self.versions[stream] = version

    @override
    def serialize_message(self, message: Message) -> str:
        if isinstance(message, RecordMessage):
            line = _plain_line(message)
            if line is not None:
                return line
            try:
                return _encode_record(message.to_dict())
            except (TypeError, ValueError):
                pass
        return super().serialize_message(message)

    @override
    def write_message(self, message: Message) -> None:
        if isinstance(message, RecordMessage) and message.version is None and self.versions:
            message.version = self.versions.get(message.stream)
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
