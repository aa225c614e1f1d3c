"""Which action a stream's records ask for: a ``stream_actions`` key names a stream in full or by its table part.

Taps that read a database name streams ``<schema>-<table>`` (tap-postgres: ``public-links_to_remove``), so a key
matches the stream whose name it is, or else the stream whose name ends in ``-<key>``. A key stands for one
stream: one that would match a second is an error at that stream's SCHEMA, before any of its records is taken.
Singer lists no streams up front, so a key that matched nothing is known only at the end of the input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from singer_sdk.exceptions import FatalSyncError

from target_hubassoc.writer import ACTIONS, Action

# What a stream's records mean: changes to apply (an Action), or a mirror's complete desired set (mirror.py).
StreamMode = Literal["create", "archive", "mirror"]
STREAM_MODES: tuple[StreamMode, ...] = (*ACTIONS, "mirror")

logger = logging.getLogger("target-hubassoc")
TABLE_SEPARATOR = "-"


class StreamActionsError(FatalSyncError):
    """A stream_actions key that matches two streams, or none."""


@dataclass(frozen=True)
class StreamAction:
    """A stream's action and the stream_actions key that chose it (None: default_action did)."""

    action: StreamMode
    key: str | None = None

    def describe(self, stream: str) -> str:
        """The line logged once per stream, at its SCHEMA."""
        source = "default_action" if self.key is None else f"stream_actions key {self.key}"
        return f"stream {stream}: {self.action} ({source})"


def table_part(stream: str) -> str:
    """The part of a stream name after its last ``-``: the table, for ``<schema>-<table>`` names."""
    return stream.rpartition(TABLE_SEPARATOR)[2]


class StreamActions:
    """Resolves each stream's action once, remembering which key took which stream."""

    def __init__(self, actions: Mapping[str, StreamMode], default: Action) -> None:
        self._actions = dict(actions)
        self._default = default
        self._streams: dict[str, StreamAction] = {}  # every stream seen, in order
        self._taken_by: dict[str, str] = {}  # key -> the stream it matched

    def for_stream(self, stream: str) -> StreamAction:
        """The stream's action; the first time, logged. StreamActionsError when its key already took another."""
        known = self._streams.get(stream)
        if known is not None:
            return known
        key = self._key_for(stream)
        if key is not None:
            taken = self._taken_by.setdefault(key, stream)
            if taken != stream:
                msg = (f"stream_actions key {key} matches two streams, {taken} and {stream}: use each stream's "
                       f"full name as its key (e.g. {stream})")
                raise StreamActionsError(msg)
        chosen = StreamAction(self._default) if key is None else StreamAction(self._actions[key], key)
        self._streams[stream] = chosen
        logger.info(chosen.describe(stream))
        return chosen

    @property
    def mirrors(self) -> bool:
        """Whether any stream_actions key asks for a mirror (known at start, before any stream is)."""
        return "mirror" in self._actions.values()

    def _key_for(self, stream: str) -> str | None:
        if stream in self._actions:
            return stream  # an exact name wins over a table part
        table = table_part(stream)
        return table if table != stream and table in self._actions else None

    def unmatched_error(self) -> StreamActionsError | None:
        """At the end of input: the error for keys that matched no stream, if any."""
        unmatched = [key for key in self._actions if key not in self._taken_by]
        if not unmatched:
            return None
        keys = f"key {unmatched[0]}" if len(unmatched) == 1 else f"keys {', '.join(unmatched)}"
        seen = ", ".join(self._streams) or "none"
        msg = (f"stream_actions {keys} matched no stream (streams seen: {seen}): a key is a stream's name, or the "
               f"part of it after the last '{TABLE_SEPARATOR}'. Everything else was written and the final STATE "
               "emitted.")
        return StreamActionsError(msg)
