"""Writing associations: records in, HubSpot batch calls out, as if the records were applied one by one.

HubSpot knowledge a writer needs and a Singer sink should not carry:

* A record names two object ends in any spelling HubSpot accepts and a type by id, by v3 name, or not at all
  (then the pair's ordinary, unlabeled type: never the primary one, which would move a primary company).
* Creating an existing association and archiving an absent one are not errors, so a batch may be resent and
  only the *last* record for an association key matters: a buffer keyed by :class:`AssociationKey` keeps the
  last one (earlier ones are counted as duplicates), which makes one flush order-free between keys.
* HubSpot associations are two-way: contact->company and company->contact name the same edge. When a record
  would reverse the action of a *different* buffered key on the same two objects, the buffer is flushed first,
  so that pair of records is applied in input order too. Likewise a primary association moves the object's
  primary company: a second primary for the same object waits for the flush of the first.
* v3 batch create/archive take up to 2,000 inputs and answer 207 naming refused inputs in ``context``; those
  become dead letters with HubSpot's category, message and correlationId, and the rest counts as written.
* With ``api_version`` v4 or 2026-03 types are resolved against the labels endpoint (by id, label or name;
  :mod:`hubassoc.types_v4`) and sent by category and id; a record without a type creates HubSpot's default
  association, or archives every type between its two objects. Those two get keys of their own, so they never
  replace a typed record of the same objects: the edge rule above applies them in input order.
* A full batch (``batch_size`` inputs of one pair and action) is sent at once, while reading goes on; a flush
  sends the rest and returns once every batch is settled, so a STATE after it still covers only written
  records. A record for a key already sent, or one whose order matters against a sent key, waits: it flushes
  first, as it would against a buffered one.
* A checkpoint sends the rest too, but does not wait: its callback runs (on the reading thread) once every
  batch sent before it has settled, and never after a failed batch, so reading goes on during the last
  batch's round trip; a STATE handed to a checkpoint still covers only written records.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from hubassoc.api_version import DEFAULT_API_VERSION
from hubassoc.associations import AssociationsApi, associations_api
from hubassoc.client import ClientStats, HubSpotClient
from hubassoc.errors import HubSpotError, quoted
from hubassoc.limits import WRITE_BATCH_LIMIT
from hubassoc.objects import (
    ID_FIX,
    ObjectType,
    UnknownObjectTypeError,
    default_types,
    object_id_text,
    parse_object_type,
)
from hubassoc.records import AssociationKey
from hubassoc.replies import InputError, WriteInput
from hubassoc.types import AssociationType, PairTypes, PairTypesCache, UnknownAssociationTypeError
from target_hubassoc.dead_letters import DeadLetter, DeadLetterFile
from target_hubassoc.id_resolution import IdResolver

logger = logging.getLogger("hubassoc.writer")

Action = Literal["create", "archive"]
ACTIONS: tuple[Action, ...] = ("create", "archive")
REQUIRED_FIELDS = ("from_object_type", "from_id", "to_object_type", "to_id")
# HubSpot answers these for a pair it has no types for (an unknown custom object, say): a record problem.
_PAIR_REFUSED_STATUSES = frozenset({400, 404})
_DRY_RUN_SAMPLES = 3
_REMEMBERED_TYPE_FIELDS = 10_000  # distinct spellings of a record's types kept resolved; more are resolved anew
PRIMARY_TARGET = "companies"  # every HubSpot primary association points at a company
# Association keys of records without a type, which v4 and 2026-03 allow (no HubSpot type has an id below 1).
# They differ, so a create and an archive of the same two objects never replace one another.
DEFAULT_TYPE_KEY = 0  # create: HubSpot's default association of the pair
EVERY_TYPE_KEY = -1  # archive: every type between the two objects


class InvalidAssociationError(ValueError):
    """A record that cannot become an association input; the message says what to fix."""

    def __init__(
        self, reason: str, *, category: str | None = None, message: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category
        self.message = message
        self.correlation_id = correlation_id


class WriterFailedError(RuntimeError):
    """A flush after an earlier one failed: nothing more is sent, so no STATE can pass the failure."""


class Resolved(NamedTuple):
    """A record turned into HubSpot terms: its key for last-wins and the input a batch call sends.

    A named tuple, like :class:`Pending`: one of each is made per record, and a tuple is the cheapest to make.
    ``edge`` and ``primary_slot`` are made once by ``of``: the buffer asks for each up to three times a record.
    """

    key: AssociationKey
    from_type: ObjectType
    to_type: ObjectType
    input: WriteInput
    primary: bool = False
    edge: frozenset[tuple[str, str]] = frozenset()  # the two objects, without direction (associations are two-way)
    primary_slot: tuple[str, str] | None = None  # for a primary type, the object whose one primary company it sets

    @classmethod
    def of(
        cls, key: AssociationKey, from_type: ObjectType, to_type: ObjectType, request: WriteInput,
        primary: bool = False,
    ) -> Resolved:
        """A resolved record with its ``edge`` and ``primary_slot``."""
        from_end, to_end = (key.from_object_type, key.from_id), (key.to_object_type, key.to_id)
        slot = (from_end if key.to_object_type == PRIMARY_TARGET else to_end) if primary else None
        return cls(key, from_type, to_type, request, primary, frozenset((from_end, to_end)), slot)


class Pending(NamedTuple):
    """The last record seen for one association key, waiting for the next flush."""

    action: Action
    resolved: Resolved
    record: dict[str, Any]
    stream: str


@dataclass(frozen=True)
class Batch:
    """Up to ``batch_size`` inputs of one pair and one action: one HubSpot call."""

    from_type: ObjectType
    to_type: ObjectType
    action: Action
    entries: tuple[Pending, ...]

    @property
    def pair(self) -> str:
        """The pair as logs and dead letters name it."""
        return f"{self.from_type}->{self.to_type}"


@dataclass
class WriteStats:
    """What the writer did with the records it read; ``read == created + archived + duplicates + rejected``.

    ``unattributed`` counts 207 errors that named no input (also counted in ``rejected``, with no record).
    """

    read: int = 0
    created: int = 0
    archived: int = 0
    duplicates: int = 0
    rejected: int = 0
    unattributed: int = 0

    def summary_lines(self, api: ClientStats, *, dry_run: bool, dead_letter_path: str) -> list[str]:
        """The closing log lines: what happened to every record, and what it cost in API calls."""
        verb = "would create" if dry_run else "created"
        verb_archive = "would archive" if dry_run else "archived"
        unattributed = f", of which {self.unattributed} named no input" if self.unattributed else ""
        unsent = self.unwritten
        return [
            f"Summary: {self.read} records read: {verb} {self.created}, {verb_archive} {self.archived}, "
            f"unchanged duplicates {self.duplicates}, rejected {self.rejected}{unattributed}"
            + (f" (dead letters in {dead_letter_path})" if self.rejected else "")
            + (f", unconfirmed {unsent} (the run stopped before HubSpot confirmed them; no STATE covers them: "
               "a rerun from the last STATE sends them again)" if unsent else ""),
            api.summary_line() + (" (dry run: no write endpoint called)" if dry_run else ""),
        ]

    @property
    def unwritten(self) -> int:
        """Records read but not confirmed written or rejected: only a run that stopped early has any.

        Some of them may be in HubSpot (a batch that succeeded beside the one that failed); a rerun sends them
        again, which HubSpot takes as a no-op.
        """
        settled = self.created + self.archived + self.duplicates + self.rejected - self.unattributed
        return self.read - settled


class KnownTypes(NamedTuple):
    """What a record's type fields resolved to: the same for every record that spells them alike."""

    from_type: ObjectType
    to_type: ObjectType
    kind: AssociationType | None  # None: no type (v4 and 2026-03 only)
    key_type_id: int
    primary: bool


class RecordResolver:
    """Validates a record and resolves its object types, ids and association type against HubSpot."""

    def __init__(self, api: AssociationsApi) -> None:
        self._api = api
        self._types = PairTypesCache(api.types)
        self._refused_pairs: dict[tuple[ObjectType, ObjectType], HubSpotError] = {}
        self._known_pairs: dict[tuple[str, str], PairTypes] = {}
        # What a valid record's type fields resolved to, by their values and Python types (``_type_fields``):
        # a load repeats a few of them in millions of records, so only the ids are new in most records.
        self._resolved: dict[tuple[Any, ...], KnownTypes] = {}

    def resolve(self, record: object, action: Action = "create") -> Resolved:
        """The record in HubSpot terms, or :class:`InvalidAssociationError` saying why it cannot be one."""
        known = self._known(record, action)
        if known is None:
            return self._resolve(record, action)
        assert isinstance(record, dict)
        from_id, to_id = record.get("from_id"), record.get("to_id")
        if not (_plain_id(from_id) and _plain_id(to_id)):
            from_id, to_id = _object_ids(record)
        return self._resolved_record(known, from_id, to_id)

    def _resolve(self, record: object, action: Action) -> Resolved:
        if not isinstance(record, dict):
            raise InvalidAssociationError("the record is not a JSON object")
        _check_required(record)
        from_type = record_object_type(record, "from_object_type")
        to_type = record_object_type(record, "to_object_type")
        from_id, to_id = record_object_id(record, "from_id"), record_object_id(record, "to_id")
        kind = association_type(self.pair_types(from_type, to_type), record)
        key_type_id = kind.type_id if kind is not None else EVERY_TYPE_KEY if action == "archive" else DEFAULT_TYPE_KEY
        known = KnownTypes(from_type, to_type, kind, key_type_id, _is_primary(from_type, to_type, key_type_id))
        self._remember(record, action, known)
        return self._resolved_record(known, from_id, to_id)

    def _resolved_record(self, known: KnownTypes, from_id: str, to_id: str) -> Resolved:
        key = AssociationKey(known.from_type.name, from_id, known.to_type.name, to_id, known.key_type_id)
        request = self._api.write_input(known.kind, from_id, to_id)
        return Resolved.of(key, known.from_type, known.to_type, request, known.primary)

    def _known(self, record: object, action: Action) -> KnownTypes | None:
        if type(record) is not dict:
            return None
        try:
            return self._resolved.get((*_type_fields(record), action))
        except TypeError:  # an unhashable value (a list, say): resolved, and refused, the long way
            return None

    def _remember(self, record: dict[str, Any], action: Action, known: KnownTypes) -> None:
        if len(self._resolved) < _REMEMBERED_TYPE_FIELDS:
            with contextlib.suppress(TypeError):  # unhashable values are not remembered
                self._resolved[(*_type_fields(record), action)] = known

    def pair_types(self, from_type: ObjectType, to_type: ObjectType) -> PairTypes:
        """The pair's types, fetched once; InvalidAssociationError when HubSpot lists none for it."""
        known = self._known_pairs.get((from_type.name, to_type.name))  # by name: cheaper to hash, once a record
        if known is not None:
            return known
        refused = self._refused_pairs.get((from_type, to_type))
        if refused is None:
            try:
                known = self._known_pairs[(from_type.name, to_type.name)] = self._types.get(from_type, to_type)
                return known
            except HubSpotError as exc:
                if exc.status not in _PAIR_REFUSED_STATUSES:
                    raise
                refused = self._refused_pairs.setdefault((from_type, to_type), exc)
        raise InvalidAssociationError(
            f"HubSpot lists no association types for {from_type}->{to_type}: {refused.message}",
            category=refused.category, message=refused.message, correlation_id=refused.correlation_id,
        )


def association_type(types: PairTypes, record: dict[str, Any]) -> AssociationType | None:
    """The type the record names by its API version's rules (types_v3, types_v4); None: no type (v4 only)."""
    try:
        return types.record_type(record)
    except UnknownAssociationTypeError as exc:
        raise InvalidAssociationError(str(exc)) from None


def record_object_type(record: dict[str, Any], name: str) -> ObjectType:
    """A record's object type field, canonical; InvalidAssociationError naming the field when HubSpot has none such."""
    value = record[name]
    try:
        return _parsed_type(type(value), value) if isinstance(value, (str, int)) else parse_object_type(value)
    except UnknownObjectTypeError as exc:
        raise InvalidAssociationError(f"{name}: {exc}") from None


@functools.lru_cache(maxsize=1024)
def _parsed_type(kind: type, value: str | int) -> ObjectType:
    """``parse_object_type``, remembered: a load spells the same few types millions of times.

    ``kind`` keeps ``1`` and ``True`` apart; refusals are not remembered (they raise).
    """
    return parse_object_type(value)


@functools.lru_cache(maxsize=1024)
def _is_primary(from_type: ObjectType, to_type: ObjectType, type_id: int) -> bool:
    """Whether the type is one of the pair's HubSpot-defined primary types."""
    return any(t.primary and t.type_id == type_id for t in default_types(from_type, to_type))


def _type_fields(record: dict[str, Any]) -> tuple[Any, ...]:
    """The fields that decide a record's object and association types, with their Python types.

    The types are part of it because equal values may resolve differently: 279 and 279.0 are equal and hash
    alike, yet only the first is a type id.
    """
    values = (record.get("from_object_type"), record.get("to_object_type"), record.get("association_type_id"),
              record.get("association_type"), record.get("association_label"))
    return (*values, *map(type, values))


def _plain_id(value: object) -> bool:
    """An id as ``_object_id`` keeps it unchanged: digits, no leading zero, at most 20."""
    return type(value) is str and value.isascii() and value.isdigit() and len(value) <= 20 and value[0] != "0"


def _check_required(record: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
    if missing:
        raise InvalidAssociationError(f"missing {', '.join(missing)}: an association needs {REQUIRED_FIELDS}")


def _object_ids(record: dict[str, Any]) -> tuple[str, str]:
    """Both ids, checked as ``_resolve`` checks them, for a record whose types are already known."""
    _check_required(record)
    return record_object_id(record, "from_id"), record_object_id(record, "to_id")


def record_object_id(record: dict[str, Any], name: str) -> str:
    """Ids as ``object_id_text`` takes them, normalised so 0042, 42 and 42.0 are one key (and one object)."""
    value = record[name]
    if _plain_id(value):
        return value  # already digits without a leading zero: the common case, as is
    text = object_id_text(value)
    if text is None:
        raise InvalidAssociationError(
            f"{name} {quoted(value)} is not a HubSpot object id: ids are positive whole numbers, as digits, "
            f"integers or whole numerics below 2^53; {ID_FIX}")
    return text


def plan_batches(entries: Iterable[Pending], batch_size: int) -> list[Batch]:
    """Group by (pair, action) in first-seen order and cut into calls of at most ``batch_size`` inputs."""
    if not 1 <= batch_size <= WRITE_BATCH_LIMIT:
        msg = f"batch_size must be 1..{WRITE_BATCH_LIMIT}, got {batch_size}"
        raise ValueError(msg)
    groups: dict[tuple[ObjectType, ObjectType, Action], list[Pending]] = {}
    for entry in entries:
        groups.setdefault((entry.resolved.from_type, entry.resolved.to_type, entry.action), []).append(entry)
    return [
        Batch(from_type, to_type, action, tuple(items[start:start + batch_size]))
        for (from_type, to_type, action), items in groups.items()
        for start in range(0, len(items), batch_size)
    ]


@dataclass
class _Buffer:
    """Last record per key, in first-seen order, and what tells whether two keys' order would matter."""

    entries: dict[AssociationKey, Pending] = field(default_factory=dict)
    edges: dict[frozenset[tuple[str, str]], dict[AssociationKey, Action]] = field(default_factory=dict)
    primaries: dict[tuple[str, str], AssociationKey] = field(default_factory=dict)
    records: int = 0
    sent: set[AssociationKey] = field(default_factory=set)  # keys already sent in a full batch
    unsent: dict[tuple[str, str, Action], dict[AssociationKey, None]] = field(default_factory=dict)

    def order_matters(self, resolved: Resolved, action: Action) -> bool:
        """True when a buffered *other* key must be applied before this record.

        That is: another key on the same two objects holds the opposite action (one edge, seen from either
        side or with another type), or another primary association of the same object is waiting.
        """
        holders = self.edges.get(resolved.edge)
        if holders and any(other != action for key, other in holders.items() if key != resolved.key):
            return True
        slot = resolved.primary_slot
        return slot is not None and self.primaries.get(slot, resolved.key) != resolved.key

    def put(self, pending: Pending) -> bool:
        """Keep ``pending``; True when it replaced an earlier record for the same key (a duplicate)."""
        resolved = pending.resolved
        key = resolved.key
        earlier = self.entries.get(key)
        group = (key.from_object_type, key.to_object_type, pending.action)  # _group(pending), inline: per record
        if earlier is not None and _group(earlier) != group:
            self.unsent[_group(earlier)].pop(key, None)
        self.unsent.setdefault(group, {})[key] = None
        self.entries[key] = pending
        self.edges.setdefault(resolved.edge, {})[key] = pending.action
        if resolved.primary_slot is not None:
            self.primaries[resolved.primary_slot] = key
        self.records += 1
        return earlier is not None

    def take_full(self, pending: Pending, size: int) -> list[Pending]:
        """The first ``size`` unsent entries of ``pending``'s pair and action, marked sent; none if fewer."""
        keys = self.unsent.get(_group(pending), {})
        if len(keys) < size:
            return []
        taken = list(itertools.islice(keys, size))
        for key in taken:
            del keys[key]
        self.sent.update(taken)
        return [self.entries[key] for key in taken]

    def forget(self, entries: Iterable[Pending]) -> None:
        """Settled entries no longer hold anything back: HubSpot has applied them, whatever comes next."""
        for entry in entries:
            key = entry.resolved.key
            if self.entries.get(key) is entry:
                del self.entries[key]
                self.sent.discard(key)
                holders = self.edges.get(entry.resolved.edge, {})
                holders.pop(key, None)
                if not holders:
                    self.edges.pop(entry.resolved.edge, None)
                slot = entry.resolved.primary_slot
                if slot is not None and self.primaries.get(slot) == key:
                    del self.primaries[slot]

    def unsent_entries(self) -> list[Pending]:
        """Entries not sent yet, in first-seen order."""
        return [entry for key, entry in self.entries.items() if key not in self.sent]

    def take_unsent(self) -> list[Pending]:
        """Every unsent entry, in first-seen order, marked sent; the record count starts again from zero."""
        taken = self.unsent_entries()
        self.sent.update(entry.resolved.key for entry in taken)
        self.unsent.clear()
        self.records = 0
        return taken


def _group(pending: Pending) -> tuple[str, str, Action]:
    return pending.resolved.key.from_object_type, pending.resolved.key.to_object_type, pending.action


class AssociationWriter:
    """One per target run, shared by every stream: one buffer, so last-wins holds across streams and batches."""

    def __init__(
        self, client: HubSpotClient, dead_letters: DeadLetterFile, *, batch_size: int = WRITE_BATCH_LIMIT,
        dry_run: bool = False, api_version: str = DEFAULT_API_VERSION,
        as_received: Callable[[dict[str, Any]], dict[str, Any]] | None = None, api: AssociationsApi | None = None,
        ids: IdResolver | None = None,
    ) -> None:
        plan_batches([], batch_size)  # validates batch_size
        # How a record is shown in its dead letter; applied to those only, not to every record on its way in.
        self.as_received = as_received or (lambda record: record)
        self.client = client
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.stats = WriteStats()
        self.api = api or associations_api(client, api_version)
        self.resolver = RecordResolver(self.api)
        # Ends given as unique-property values are read here first; with no id_properties it passes records on.
        self.ids = ids or IdResolver(client, {}, api_version)
        self._buffer = _Buffer()
        self._lock = threading.RLock()
        self._failure: BaseException | None = None
        self._failure_raised = False
        self._in_flight: deque[Future[tuple[Batch, list[InputError]]]] = deque()  # sent, in sending order
        self._submitted = 0  # batches sent so far; they settle in this order
        self._settled = 0
        self._checkpoints: deque[tuple[int, Callable[[], None]]] = deque()  # (batches before it, its callback)

    @property
    def buffered(self) -> int:
        """Records taken since the last flush (duplicates included): what a flush is triggered on."""
        return self._buffer.records

    @property
    def waiting(self) -> int:
        """Records buffered or waiting for their property values: what a drain is triggered on."""
        return self._buffer.records + self.ids.waiting

    def add(self, record: dict[str, Any], stream: str, action: Action) -> None:
        """Take one record: invalid ones go straight to the dead-letter file, valid ones wait for a flush.

        A record with ends given as property values first waits for them (``IdResolver``), in input order.
        """
        with self._lock:
            self.stats.read += 1
            if type(record) is dict and self.ids.needed(record):
                self.ids.add(record, functools.partial(self._take, stream=stream, action=action, received=record),
                             functools.partial(self._unresolved, stream=stream, action=action, received=record))
                return
            self._take(record, stream, action, record)

    def _take(self, record: Any, stream: str, action: Action, received: Any) -> None:
        """A record with record ids at both ends (``received``: as it came, for its dead letter)."""
        try:
            resolved = self.resolver.resolve(record, action)
        except InvalidAssociationError as exc:
            shown = self.as_received(received) if isinstance(received, dict) else received
            self._reject([DeadLetter(stream, shown, exc.reason, action, exc.category, exc.message,
                                     exc.correlation_id)])
            return
        if self._buffer.order_matters(resolved, action) or resolved.key in self._buffer.sent:
            self._flush_buffer()
        pending = Pending(action, resolved, received, stream)
        if self._buffer.put(pending):
            self.stats.duplicates += 1
        if not self.dry_run and self._failure is None and self.ids.confirmed:
            full = self._buffer.take_full(pending, self.batch_size)
            if full:
                self._submit(Batch(resolved.from_type, resolved.to_type, action, tuple(full)))

    def _unresolved(self, reason: str, _: dict[str, Any], *, stream: str, action: Action, received: Any) -> None:
        """A record with a property value HubSpot has no record for, or one that cannot be a value."""
        self._reject([DeadLetter(stream, self.as_received(received), reason, action)])

    def flush(self) -> None:
        """Send everything buffered, all batches concurrently; returns once each record is written or rejected.

        Raises whatever stopped a batch (after the client's retries); every later flush then raises too, so the
        caller can never report progress past records that were not written.
        """
        with self._lock:
            if not self._failure_raised:
                self._resolve_waiting()
            self._flush_buffer()

    def _flush_buffer(self) -> None:
        """``flush`` without reading property values first: for a record whose order needs a flush as it is taken.

        Resolving then would hand on records behind it before it is buffered.
        """
        with self._lock:
            if self._failure_raised:
                msg = f"an earlier batch failed, nothing more is written: {self._failure}"
                raise WriterFailedError(msg) from self._failure
            if not self.dry_run:
                self.ids.confirm()
            buffer, self._buffer = self._buffer, _Buffer()
            batches = plan_batches(buffer.unsent_entries(), self.batch_size)
            if self.dry_run:
                self._log_dry_run(batches)
                return
            try:
                for batch in batches:
                    self._submit(batch)
                self._collect(wait=True)
            except BaseException as exc:
                self._failure = self._failure or exc
            if self._failure is not None:
                self._failure_raised = True
                raise self._failure

    def checkpoint(self, reached: Callable[[], None]) -> None:
        """Send everything buffered without waiting; call ``reached`` once all of it, and all sent before, settled.

        ``reached`` runs on the thread that calls into the writer (add, flush, checkpoint), never on a worker,
        and never once a batch has failed: what it stands for (a STATE, say) must not pass an unwritten record.
        """
        with self._lock:
            if self._failure is None:
                self._resolve_waiting()
            if not self.dry_run and self._failure is None:
                for batch in plan_batches(self._buffer.take_unsent(), self.batch_size):
                    self._submit(batch)
            if self.dry_run or self._failure is not None:
                self.flush()  # a dry run sends nothing; a failure seen by now is raised, as a flush raises it
            self._checkpoints.append((self._submitted, reached))
            self._collect(wait=False)

    def _resolve_waiting(self) -> None:
        """Read every property value asked so far, so the records waiting for them are buffered or dead-lettered.

        Before the first write, HubSpot must also have accepted every configured property: a refusal stops the
        run before anything is written.
        """
        self.ids.settle()
        if not self.dry_run:
            self.ids.confirm()

    def _submit(self, batch: Batch) -> None:
        """Send a batch on a worker thread; at most ``max_workers`` are under way (the oldest settles first).

        Nothing is sent once a batch has failed: the next flush raises that failure.
        """
        self._collect(wait=False)
        while len(self._in_flight) >= self.client.settings.max_workers:
            self._collect(wait=True, limit=1)
        if self._failure is None:
            self._in_flight.append(self.client.submit(self._send, batch))
            self._submitted += 1

    def _collect(self, *, wait: bool, limit: int | None = None) -> None:
        """Settle sent batches in sending order: the finished ones, or (``wait``) up to ``limit`` in turn.

        A failed batch is remembered, not raised, and the others are still settled: what they wrote counts.
        """
        settled = 0
        while self._in_flight and (wait or self._in_flight[0].done()) and (limit is None or settled < limit):
            future = self._in_flight.popleft()
            settled += 1
            self._settled += 1
            try:
                batch, errors = future.result()
            except BaseException as exc:
                self._failure = self._failure or exc
                continue
            self._settle(batch, errors)
            self._buffer.forget(batch.entries)  # memory stays bounded by what is unsent or under way
        self._reach_checkpoints()

    def _reach_checkpoints(self) -> None:
        """Run the callbacks of the checkpoints whose batches have all settled, oldest first; none after a failure."""
        while self._checkpoints and self._failure is None and self._checkpoints[0][0] <= self._settled:
            self._checkpoints.popleft()[1]()

    def close(self) -> None:
        """Release the dead-letter file (the client belongs to whoever built it)."""
        self.dead_letters.close()

    def _send(self, batch: Batch) -> tuple[Batch, list[InputError]]:
        inputs = [entry.resolved.input for entry in batch.entries]
        write = self.api.batch_create if batch.action == "create" else self.api.batch_archive
        return batch, write(batch.from_type.name, batch.to_type.name, inputs)

    def _settle(self, batch: Batch, errors: list[InputError]) -> None:
        """Count the batch as written except what HubSpot refused, which becomes dead letters."""
        by_input = {entry.resolved.input: entry for entry in batch.entries} if errors else {}
        letters: list[DeadLetter] = []
        refused: set[WriteInput] = set()
        for error in errors:
            entry = by_input.get(error.input) if error.input is not None else None
            if entry is None:
                self.stats.unattributed += 1
                letters.append(_unattributed_letter(batch, error))
            elif error.input not in refused:
                refused.add(entry.resolved.input)
                letters.append(_refused_letter(entry, error, self.as_received(entry.record)))
        written = len(batch.entries) - len(refused)
        if batch.action == "create":
            self.stats.created += written
        else:
            self.stats.archived += written
        logger.debug("%s %d %s associations (%d refused)", batch.action, written, batch.pair, len(refused))
        self._reject(letters)

    def _reject(self, letters: list[DeadLetter]) -> None:
        self.stats.rejected += len(letters)
        for letter in letters:
            logger.warning("rejected a %s record from stream %s: %s", letter.action, letter.stream, letter.reason)
        self.dead_letters.write(letters)

    def _log_dry_run(self, batches: list[Batch]) -> None:
        """Say what each (pair, action) would send; count it as if sent, so the summary reconciles."""
        for (pair, action), group in _by_pair_and_action(batches):
            inputs = [entry.resolved.input for batch in group for entry in batch.entries]
            samples = ", ".join(f"{i.from_id}->{i.to_id} {i.type_name}" for i in inputs[:_DRY_RUN_SAMPLES])
            logger.info("dry run: would %s %d %s associations in %d call(s), e.g. %s",
                        action, len(inputs), pair, len(group), samples)
            if action == "create":
                self.stats.created += len(inputs)
            else:
                self.stats.archived += len(inputs)


def _by_pair_and_action(batches: list[Batch]) -> Iterator[tuple[tuple[str, Action], list[Batch]]]:
    groups: dict[tuple[str, Action], list[Batch]] = {}
    for batch in batches:
        groups.setdefault((batch.pair, batch.action), []).append(batch)
    return iter(groups.items())


def _refused_letter(entry: Pending, error: InputError, shown: dict[str, Any]) -> DeadLetter:
    reason = f"HubSpot refused to {entry.action} {entry.resolved.from_type}->{entry.resolved.to_type} " \
             f"{entry.resolved.input.from_id}->{entry.resolved.input.to_id}: {error.message}"
    return DeadLetter(entry.stream, shown, reason, entry.action, error.category, error.message,
                      error.correlation_id)


def _unattributed_letter(batch: Batch, error: InputError) -> DeadLetter:
    reason = f"HubSpot refused an input of a {batch.action} {batch.pair} batch without naming which: " \
             f"{error.message}"
    return DeadLetter(None, None, reason, batch.action, error.category, error.message, error.correlation_id)
