"""A Singer reader that knows which input line it is on, so a run that stops can name the line that stopped it.

It also says briefly what is wrong with a line that is not a Singer message (not UTF-8, not JSON, not an
object, an unknown type, a RECORD whose record is not an object), quoting only the start of the line: the
SDK's own messages repeat the whole line, which for a 10 MB line is 10 MB of log.
"""

from __future__ import annotations

import decimal
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import IO, Any

import msgspec
from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from hubassoc.errors import quoted

logger = logging.getLogger("target-hubassoc")

FailureHook = Callable[[BaseException, str], None]
MESSAGE_TYPES = frozenset(kind.value for kind in SingerMessageType)
EXCERPT_CHARS = 80
# The SDK's decoding (numbers with a fraction as Decimal), by msgspec (the SDK's own ``msgspec`` extra) because
# it is the faster; any line it refuses is read again by the standard library, whose answer, value or error, is
# the one that counts. Both give the same values for every line both accept.
_FAST_DECODER = msgspec.json.Decoder(float_hook=decimal.Decimal)
_DECODER = json.JSONDecoder(parse_float=decimal.Decimal)


class NumberedSingerReader(SingerReader):
    """The SDK's reader, counting lines; ``on_failure`` hears of any error with the line it happened on.

    ``busy`` is True while the line just read is being processed (a flush included), and ``after_line``, when
    set, runs once that is done: a termination signal waits for it (see target_hubassoc.termination).
    ``on_state``, when set, takes every STATE message instead of the SDK, whose target emits the latest STATE
    right after each drain: the target emits it only once the records before it are written. ``on_record``,
    when set, takes every RECORD message with the SDK's own handler, to hand on what it does not take itself.
    """

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self.on_failure: FailureHook | None = None
        self.on_state: Callable[[dict], None] | None = None
        self.on_record: Callable[[dict, Callable[[dict], None]], None] | None = None
        self.busy = False
        self.after_line: Callable[[], None] | None = None

    @override
    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        """Process every line as the SDK does; a failure is reported with its line number, then re-raised."""
        source = file_input or self.default_input
        lines = getattr(source, "buffer", source)  # bytes, decoded line by line: a bad byte names its own line
        if self.on_state is not None:
            callbacks = {**callbacks, SingerMessageType.STATE: self.on_state}
        try:
            return self._process(lines, callbacks)
        except Exception as exc:
            where = f"input line {self.line_number}"
            if self.on_failure is None:
                logger.error("stopped at %s: %s", where, exc)
            else:
                self.on_failure(exc, where)
            raise

    @override
    def deserialize_json(self, line: str | bytes) -> dict:  # type: ignore[override]
        """One line as a Singer message, or InvalidInputLine saying in a few words why it is not one."""
        try:
            message: Any = _FAST_DECODER.decode(line)
        except (msgspec.DecodeError, RecursionError):
            message = _decoded_json(line)
        if type(message) is dict and message.get("type") == "RECORD" and type(message.get("record")) is dict:
            return message  # nearly every line: nothing more to check
        return _singer_message(message, line)

    def _process(self, lines: Iterable[str | bytes], callbacks: dict[str, Callable[[dict], None]]) -> Counter[str]:
        """The SDK's loop over lines, by line number, with RECORD messages to ``on_record`` when it is set.

        Its own checks (a dict, a known type, a RECORD with an object) are ``deserialize_json``'s; the loop is
        the SDK's otherwise, without a generator and a lambda between a line and its record's sink.
        """
        stats: Counter[str] = Counter()
        on_record, sdk_record = self.on_record, callbacks.get(SingerMessageType.RECORD)
        for line in lines:
            self.line_number += 1
            self.busy = True
            message = self.deserialize_json(line)
            kind = message["type"]
            if kind == "RECORD" and on_record is not None and sdk_record is not None:
                on_record(message, sdk_record)
            else:
                callback = callbacks.get(kind)
                if callback is None:
                    msg = f"Unknown message type '{kind}' in message."
                    raise ValueError(msg)
                callback(message)
            stats[kind] += 1
            self.busy = False
            if self.after_line is not None:
                self.after_line()
        return stats


def _decoded_json(line: str | bytes) -> Any:
    """The standard library's reading of a line the fast decoder refused: its value, or why it is not JSON."""
    text = _decoded(line)
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        msg = f"not JSON ({exc.msg} at column {exc.colno}): {excerpt(text)}"
        raise InvalidInputLine(msg) from None
    except RecursionError:
        msg = f"JSON nested too deeply to read: {excerpt(text)}"
        raise InvalidInputLine(msg) from None


def _singer_message(message: Any, line: str | bytes) -> dict:
    """``message`` if it is a Singer message the SDK can take, else InvalidInputLine saying why not."""
    if not isinstance(message, dict) or "type" not in message:
        msg = f"not a Singer message (a JSON object with a type): {excerpt(_decoded(line))}"
        raise InvalidInputLine(msg)
    kind = message["type"]
    if kind not in MESSAGE_TYPES:
        msg = f"unknown message type {excerpt(kind)}: Singer has {', '.join(sorted(MESSAGE_TYPES))}"
        raise InvalidInputLine(msg)
    if kind == "RECORD" and not isinstance(message.get("record", {}), dict):
        msg = f"a RECORD's record must be a JSON object, not {excerpt(message['record'])}"
        raise InvalidInputLine(msg)
    return message


def _decoded(line: str | bytes) -> str:
    if isinstance(line, str):
        return line
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 (byte {exc.start + 1} is 0x{line[exc.start]:02x}): Singer lines are UTF-8 JSON"
        raise InvalidInputLine(msg) from None


def excerpt(value: object) -> str:
    """A value as JSON would show it, cut to its start: a 10 MB line must not become a 10 MB message."""
    return quoted(value, EXCERPT_CHARS)
