"""Ends given as values of a unique property (a contact's email, an external id), resolved to HubSpot record ids.

``id_properties`` (``{object type: property}``) says which types' ends are property values; a record's
``from_id_property`` / ``to_id_property`` overrides it for that record (null: the setting applies). Records wait
here in input order while their values are read through the objects batch read by ``idProperty``: 100 values a
call, several calls at once under the client's one pacer, each distinct value read once per run and kept for
the run (emails compared without case, as HubSpot does; other properties exactly). A record then goes on with
record ids in place of the values, or, when a value has no record, to the dead-letter file naming type, property
and value. A property HubSpot refuses as an id property (not unique) stops the run; no write is sent before every
configured property has been accepted once (``confirm``), so that refusal comes before any write.
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from hubassoc.api_version import DEFAULT_API_VERSION
from hubassoc.client import HubSpotClient
from hubassoc.errors import HubSpotError, quoted
from hubassoc.limits import OBJECTS_READ_LIMIT
from hubassoc.objects import ObjectType, UnknownObjectTypeError, parse_object_type
from hubassoc.objects_api import PropertyMatches, property_value_key, read_ids_by_property

SETTING = "id_properties"
ENDS = (("from_object_type", "from_id", "from_id_property"), ("to_object_type", "to_id", "to_id_property"))
# A value no object has, read for a configured property no record has used by the first write: HubSpot's answer
# (a 207, or a 400 for a property that is not unique) is what is wanted, not the value.
PROBE_VALUE = "hubassoc-id-property-check"
_REFUSED_STATUS = 400


class IdPropertyRefusedError(HubSpotError):
    """HubSpot refused a property as an ``idProperty`` (it is not unique); the message names the setting."""

    def __str__(self) -> str:
        tail = f"; correlationId {self.correlation_id}" if self.correlation_id else ""
        return f"{self.message} (HubSpot {self.status} {self.category or ''} on {self.route}{tail})"


class InvalidEndError(ValueError):
    """A record's end that cannot be a property value (a list, a boolean, an override that is not a name)."""


@dataclass(frozen=True)
class IdProperty:
    """One unique property of one object type, as HubSpot is asked by it."""

    object_type: ObjectType
    name: str


@dataclass(frozen=True)
class PropertyEnd:
    """One end of a record given as a property value: the field it replaces, the value, and its key."""

    id_field: str
    id_property: IdProperty
    value: str  # as sent to HubSpot
    key: str  # as compared (emails lowercased)


@dataclass
class ResolutionStats:
    """What resolving cost and found: distinct values read, calls, and values with no record."""

    values: int = 0
    calls: int = 0
    not_found: int = 0

    def summary_line(self) -> str:
        """The summary's resolution line."""
        return (f"Resolutions: {self.values} distinct property values in {self.calls} calls, "
                f"not found {self.not_found}")

    def progress(self) -> str:
        """The part of a progress line about resolutions."""
        return f"resolved {self.values} values in {self.calls} calls, not found {self.not_found}"


@dataclass
class WaitingRecord:
    """A record waiting for its values (or behind one that does): what to do with it once they are known."""

    record: dict[str, Any]
    ends: tuple[PropertyEnd, ...]
    deliver: Callable[[dict[str, Any]], None]  # takes the record with record ids in place of the values
    reject: Callable[[str, dict[str, Any]], None]  # takes the reason and the record as far as it was resolved
    invalid: str | None = None  # a reason known on arrival: rejected in its turn


@dataclass(frozen=True)
class ReadResult:
    """One answered batch read, or what HubSpot answered instead."""

    id_property: IdProperty
    values: list[str]
    matches: PropertyMatches | None
    failure: HubSpotError | None = None


@dataclass
class IdResolver:
    """One per run, shared by the writer and the mirror: one queue keeps their records in input order."""

    client: HubSpotClient
    settings: dict[str, str]  # canonical type name -> property
    api_version: str = DEFAULT_API_VERSION
    stats: ResolutionStats = field(default_factory=ResolutionStats)
    _known: dict[IdProperty, dict[str, str | None]] = field(default_factory=dict)  # key -> id (None: no record)
    _unsent: dict[IdProperty, dict[str, str]] = field(default_factory=dict)  # key -> value, not asked yet
    _asked: set[tuple[IdProperty, str]] = field(default_factory=set)  # asked, not answered
    _in_flight: deque[Future[ReadResult]] = field(default_factory=deque)
    _queue: deque[WaitingRecord] = field(default_factory=deque)
    _origins: dict[IdProperty, str] = field(default_factory=dict)  # which setting or field named the property
    _unconfirmed: set[IdProperty] = field(default_factory=set)  # configured, not accepted by HubSpot yet
    _failure: HubSpotError | None = None

    @classmethod
    def from_setting(
        cls, client: HubSpotClient, id_properties: Mapping[str, Any] | None, *, api_version: str = DEFAULT_API_VERSION,
    ) -> IdResolver:
        """The resolver for ``id_properties`` in any type spelling; ValueError naming a bad entry."""
        settings: dict[str, str] = {}
        for spelling, name in (id_properties or {}).items():
            try:
                object_type = parse_object_type(spelling)
            except UnknownObjectTypeError as exc:
                msg = f"{SETTING}: {exc}"
                raise ValueError(msg) from None
            if not isinstance(name, str) or not name.strip():
                msg = f"{SETTING}: the property for {spelling} must be a property name, got {quoted(name)}"
                raise ValueError(msg)
            settings[object_type.name] = name.strip()
        resolver = cls(client, settings, api_version)
        for type_name, name in settings.items():
            id_property = IdProperty(parse_object_type(type_name), name)
            resolver._origins[id_property] = SETTING
            resolver._unconfirmed.add(id_property)
        return resolver

    # -- taking records --------------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Records held for values not read yet."""
        return len(self._queue)

    @property
    def confirmed(self) -> bool:
        """Whether every configured property has been accepted by HubSpot (writes may go out)."""
        return not self._unconfirmed

    def needed(self, record: dict[str, Any]) -> bool:
        """Whether the record must pass through here: ends by property, or records waiting before it."""
        return bool(self._queue or self.settings or record.get("from_id_property") is not None
                    or record.get("to_id_property") is not None)

    def add(
        self, record: dict[str, Any], deliver: Callable[[dict[str, Any]], None],
        reject: Callable[[str, dict[str, Any]], None],
    ) -> None:
        """Deliver the record now when nothing is to be read for it or before it; else hold it in its turn."""
        invalid = None
        try:
            ends = self.ends(record)
        except InvalidEndError as exc:
            ends, invalid = (), str(exc)
        if not self._queue and not ends:
            if invalid is None:
                deliver(record)
            else:
                reject(invalid, record)
            return
        for end in ends:
            self._ask(end)
        self._queue.append(WaitingRecord(record, ends, deliver, reject, invalid))
        self._collect(wait=False)
        self._release()

    def ends(self, record: dict[str, Any]) -> tuple[PropertyEnd, ...]:
        """The record's ends given as property values; InvalidEndError for one that cannot be a value.

        An end whose type does not parse, or whose value is missing, is left to the writer, which says why.
        """
        found = []
        for type_field, id_field, override_field in ENDS:
            override = record.get(override_field)
            if override is not None and (not isinstance(override, str) or not override.strip()):
                msg = f"{override_field} {quoted(override)} is not a property name"
                raise InvalidEndError(msg)
            try:
                object_type = _parsed_type(record.get(type_field))
            except (UnknownObjectTypeError, TypeError):  # TypeError: unhashable, which no type is either
                continue
            name = override.strip() if override is not None else self.settings.get(object_type.name)
            value = record.get(id_field)
            if name is None or value is None or value == "":
                continue
            if type(value) is not str and type(value) is not int:
                msg = (f"{id_field} {quoted(value)} is not a value of {object_type} {name}: give the value as text "
                       "(or a whole number)")
                raise InvalidEndError(msg)
            id_property = IdProperty(object_type, name)
            self._origins.setdefault(id_property, override_field)
            text = str(value)
            found.append(PropertyEnd(id_field, id_property, text, property_value_key(name, text)))
        return tuple(found)

    def _ask(self, end: PropertyEnd) -> None:
        """Put the value in the next call for its property, unless it is known or asked already."""
        known = self._known.get(end.id_property)
        if known is not None and end.key in known:
            return
        unsent = self._unsent.setdefault(end.id_property, {})
        if end.key in unsent or (end.id_property, end.key) in self._asked:
            return
        unsent[end.key] = end.value
        self.stats.values += 1
        if len(unsent) >= OBJECTS_READ_LIMIT:
            self._send(end.id_property)

    def _send(self, id_property: IdProperty, values: list[str] | None = None) -> None:
        """Read one call's values on a worker thread; at most ``max_workers`` at once (the oldest settles first)."""
        if values is None:
            unsent = self._unsent.pop(id_property, {})
            values = list(unsent.values())
            self._asked.update((id_property, key) for key in unsent)
        if not values:
            return
        while len(self._in_flight) >= self.client.settings.max_workers:
            self._collect(wait=True, limit=1)
        self._in_flight.append(self.client.submit(self._read, id_property, values))
        self.stats.calls += 1

    def _read(self, id_property: IdProperty, values: list[str]) -> ReadResult:
        try:
            matches = read_ids_by_property(self.client, id_property.object_type.name, id_property.name, values,
                                           api_version=self.api_version)
        except HubSpotError as exc:  # kept with its property, so a refusal can name the setting behind it
            return ReadResult(id_property, values, None, exc)
        return ReadResult(id_property, values, matches)

    # -- answers ---------------------------------------------------------------------------------------------

    def _collect(self, *, wait: bool, limit: int | None = None) -> None:
        """Take answered reads, oldest first: the finished ones, or (``wait``) up to ``limit`` in turn."""
        taken = 0
        while self._in_flight and (wait or self._in_flight[0].done()) and (limit is None or taken < limit):
            future = self._in_flight.popleft()
            taken += 1
            result = future.result()
            if result.failure is not None:
                self._failure = self._failure or self._refusal(result.id_property, result.failure)
                continue
            self._take(result)
        if self._failure is not None:
            raise self._failure

    def _take(self, result: ReadResult) -> None:
        assert result.matches is not None
        known = self._known.setdefault(result.id_property, {})
        known.update(result.matches.ids)
        for key in result.matches.missing:
            if key != property_value_key(result.id_property.name, PROBE_VALUE):
                known[key] = None
                self.stats.not_found += 1
        for value in result.values:
            self._asked.discard((result.id_property, property_value_key(result.id_property.name, value)))
        self._unconfirmed.discard(result.id_property)

    def _refusal(self, id_property: IdProperty, failure: HubSpotError) -> HubSpotError:
        """A 400 on a property's read is HubSpot refusing it as an id property: say which setting named it."""
        if failure.status != _REFUSED_STATUS:
            return failure
        origin = self._origins.get(id_property, SETTING)
        where = (f"{SETTING} {json.dumps({id_property.object_type.name: id_property.name})}" if origin == SETTING
                 else f"a record's {origin} {id_property.name!r} for {id_property.object_type}")
        message = (f"{where}: HubSpot refuses {id_property.name} as an id property of {id_property.object_type} "
                   f"(it must be a property with unique values): {failure.message}; nothing was written")
        return IdPropertyRefusedError(message, **failure.fields)

    def _release(self) -> None:
        """Hand on, in input order, every record at the head of the queue whose values are all known."""
        queue = self._queue
        while queue:
            waiting = queue[0]
            if any(end.key not in self._known.get(end.id_property, {}) for end in waiting.ends):
                return
            queue.popleft()
            self._hand_on(waiting)

    def _hand_on(self, waiting: WaitingRecord) -> None:
        resolved = dict(waiting.record)
        missing = []
        for end in waiting.ends:
            record_id = self._known[end.id_property][end.key]
            if record_id is None:
                missing.append(f"no {end.id_property.object_type} with {end.id_property.name} {end.value}")
            else:
                resolved[end.id_field] = record_id
        if waiting.invalid is not None:
            waiting.reject(waiting.invalid, resolved)
        elif missing:
            waiting.reject("; ".join(missing), resolved)
        else:
            waiting.deliver(resolved)

    # -- checkpoints -----------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Read every value asked so far and hand on every waiting record; raises what stopped a read."""
        for id_property in list(self._unsent):
            self._send(id_property)
        self._collect(wait=True)
        self._release()

    def confirm(self) -> None:
        """Before the first write: have HubSpot accept each configured property not read yet, one call each."""
        if not self._unconfirmed:
            return
        in_flight = {id_property for id_property, _ in self._asked}
        for id_property in list(self._unconfirmed):
            if self._unsent.get(id_property):
                self._send(id_property)  # values waiting anyway: their read is the check
            elif id_property not in in_flight:
                self._send(id_property, [PROBE_VALUE])
        self._collect(wait=True)


@functools.lru_cache(maxsize=1024)
def _parsed_type(value: Any) -> ObjectType:
    """``parse_object_type``, remembered: a load spells the same few types in every record."""
    return parse_object_type(value)
