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
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from hubassoc.client import WRITE_BATCH_LIMIT, AssociationInput, ClientStats, HubSpotClient, InputError
from hubassoc.dead_letters import DeadLetter, DeadLetterFile
from hubassoc.errors import HubSpotError
from hubassoc.objects import ObjectType, UnknownObjectTypeError, default_types, is_object_id, parse_object_type
from hubassoc.records import AssociationKey
from hubassoc.types import PairTypes, PairTypesCache, ResolvedType, UnknownAssociationTypeError

logger = logging.getLogger("hubassoc.writer")

Action = Literal["create", "archive"]
ACTIONS: tuple[Action, ...] = ("create", "archive")
REQUIRED_FIELDS = ("from_object_type", "from_id", "to_object_type", "to_id")
# HubSpot answers these for a pair it has no types for (an unknown custom object, say): a record problem.
_PAIR_REFUSED_STATUSES = frozenset({400, 404})
_DRY_RUN_SAMPLES = 3
PRIMARY_TARGET = "companies"  # every HubSpot primary association points at a company


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


@dataclass(frozen=True)
class Resolved:
    """A record turned into HubSpot terms: its key for last-wins and the input a batch call sends."""

    key: AssociationKey
    from_type: ObjectType
    to_type: ObjectType
    input: AssociationInput
    primary: bool = False

    @property
    def edge(self) -> frozenset[tuple[str, str]]:
        """The two objects, without direction: HubSpot associations are two-way."""
        return frozenset({(self.key.from_object_type, self.key.from_id), (self.key.to_object_type, self.key.to_id)})

    @property
    def primary_slot(self) -> tuple[str, str] | None:
        """For a primary type, the object whose one primary company it sets (the end that is not the company)."""
        if not self.primary:
            return None
        key = self.key
        if key.to_object_type == PRIMARY_TARGET:
            return key.from_object_type, key.from_id
        return key.to_object_type, key.to_id


@dataclass(frozen=True)
class Pending:
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
        calls = api.snapshot()
        return [
            f"Summary: {self.read} records read: {verb} {self.created}, {verb_archive} {self.archived}, "
            f"unchanged duplicates {self.duplicates}, rejected {self.rejected}{unattributed}"
            + (f" (dead letters in {dead_letter_path})" if self.rejected else ""),
            f"Summary: {calls['requests']} API calls, {calls['rate_limited']} 429s, {calls['retries']} retries"
            + (" (dry run: no write endpoint called)" if dry_run else ""),
        ]


class RecordResolver:
    """Validates a record and resolves its object types, ids and association type against HubSpot."""

    def __init__(self, client: HubSpotClient) -> None:
        self._types = PairTypesCache(client)
        self._refused_pairs: dict[tuple[ObjectType, ObjectType], HubSpotError] = {}

    def resolve(self, record: object) -> Resolved:
        """The record in HubSpot terms, or :class:`InvalidAssociationError` saying why it cannot be one."""
        if not isinstance(record, dict):
            raise InvalidAssociationError("the record is not a JSON object")
        missing = [name for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
        if missing:
            raise InvalidAssociationError(f"missing {', '.join(missing)}: an association needs {REQUIRED_FIELDS}")
        from_type, to_type = _object_type(record, "from_object_type"), _object_type(record, "to_object_type")
        from_id, to_id = _object_id(record, "from_id"), _object_id(record, "to_id")
        resolved_type = association_type(self._pair_types(from_type, to_type), record)
        key = AssociationKey(from_type.name, from_id, to_type.name, to_id, resolved_type.type_id)
        primary = any(t.primary and t.type_id == key.association_type_id for t in default_types(from_type, to_type))
        return Resolved(key, from_type, to_type, AssociationInput(from_id, to_id, resolved_type.name), primary)

    def _pair_types(self, from_type: ObjectType, to_type: ObjectType) -> PairTypes:
        refused = self._refused_pairs.get((from_type, to_type))
        if refused is None:
            try:
                return self._types.get(from_type, to_type)
            except HubSpotError as exc:
                if exc.status not in _PAIR_REFUSED_STATUSES:
                    raise
                refused = self._refused_pairs.setdefault((from_type, to_type), exc)
        raise InvalidAssociationError(
            f"HubSpot lists no association types for {from_type}->{to_type}: {refused.message}",
            category=refused.category, message=refused.message, correlation_id=refused.correlation_id,
        )


def association_type(types: PairTypes, record: dict[str, Any]) -> ResolvedType:
    """By ``association_type_id``, by ``association_type`` name (both: they must agree), else the ordinary type."""
    raw_id, raw_name = record.get("association_type_id"), record.get("association_type")
    try:
        by_id = None if raw_id in (None, "") else types.by_id(_type_id(raw_id))
        by_name = None if raw_name in (None, "") else types.by_name(_type_name(raw_name))
        if by_id is not None and by_name is not None and by_id.type_id != by_name.type_id:
            msg = (
                f"association_type_id {by_id.type_id} ({by_id.name}) and association_type {raw_name!r} "
                f"(id {by_name.type_id}) name different types: give one, or make them agree"
            )
            raise InvalidAssociationError(msg)
        return by_id or by_name or types.ordinary()
    except UnknownAssociationTypeError as exc:
        raise InvalidAssociationError(str(exc)) from None


def _type_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    raise InvalidAssociationError(f"association_type_id {value!r} is not an integer type id such as 279")


def _type_name(value: object) -> str:
    if isinstance(value, str):
        return value
    raise InvalidAssociationError(f"association_type {value!r} is not a type name such as billing_contact")


def _object_type(record: dict[str, Any], name: str) -> ObjectType:
    try:
        return parse_object_type(record[name])
    except UnknownObjectTypeError as exc:
        raise InvalidAssociationError(f"{name}: {exc}") from None


def _object_id(record: dict[str, Any], name: str) -> str:
    """Ids are digits, as a string or an integer; normalised so 0042 and 42 are one key (and one object)."""
    value = record[name]
    if not is_object_id(value):
        raise InvalidAssociationError(f"{name} {value!r} is not a HubSpot object id: ids are positive integers")
    return str(int(str(value)))


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

    def order_matters(self, resolved: Resolved, action: Action) -> bool:
        """True when a buffered *other* key must be applied before this record.

        That is: another key on the same two objects holds the opposite action (one edge, seen from either
        side or with another type), or another primary association of the same object is waiting.
        """
        holders = self.edges.get(resolved.edge, {})
        if any(other != action for key, other in holders.items() if key != resolved.key):
            return True
        slot = resolved.primary_slot
        return slot is not None and self.primaries.get(slot, resolved.key) != resolved.key

    def put(self, pending: Pending) -> bool:
        """Keep ``pending``; True when it replaced an earlier record for the same key (a duplicate)."""
        key = pending.resolved.key
        replaced = key in self.entries
        self.entries[key] = pending
        self.edges.setdefault(pending.resolved.edge, {})[key] = pending.action
        slot = pending.resolved.primary_slot
        if slot is not None:
            self.primaries[slot] = key
        self.records += 1
        return replaced


class AssociationWriter:
    """One per target run, shared by every stream: one buffer, so last-wins holds across streams and batches."""

    def __init__(
        self, client: HubSpotClient, dead_letters: DeadLetterFile, *, batch_size: int = WRITE_BATCH_LIMIT,
        dry_run: bool = False,
    ) -> None:
        plan_batches([], batch_size)  # validates batch_size
        self.client = client
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.stats = WriteStats()
        self.resolver = RecordResolver(client)
        self._buffer = _Buffer()
        self._lock = threading.RLock()
        self._failure: BaseException | None = None

    @property
    def buffered(self) -> int:
        """Records taken since the last flush (duplicates included): what a flush is triggered on."""
        return self._buffer.records

    def add(self, record: dict[str, Any], stream: str, action: Action) -> None:
        """Take one record: invalid ones go straight to the dead-letter file, valid ones wait for a flush."""
        with self._lock:
            self.stats.read += 1
            try:
                resolved = self.resolver.resolve(record)
            except InvalidAssociationError as exc:
                self._reject([DeadLetter(stream, record, exc.reason, action, exc.category, exc.message,
                                         exc.correlation_id)])
                return
            if self._buffer.order_matters(resolved, action):
                self.flush()
            if self._buffer.put(Pending(action, resolved, record, stream)):
                self.stats.duplicates += 1

    def flush(self) -> None:
        """Send everything buffered, all batches concurrently; returns once each record is written or rejected.

        Raises whatever stopped a batch (after the client's retries); every later flush then raises too, so the
        caller can never report progress past records that were not written.
        """
        with self._lock:
            if self._failure is not None:
                msg = f"an earlier batch failed, nothing more is written: {self._failure}"
                raise WriterFailedError(msg) from self._failure
            buffer, self._buffer = self._buffer, _Buffer()
            batches = plan_batches(buffer.entries.values(), self.batch_size)
            if self.dry_run:
                self._log_dry_run(batches)
                return
            try:
                for batch, errors in self.client.map_ordered(self._send, batches):
                    self._settle(batch, errors)
            except BaseException as exc:
                self._failure = exc
                raise

    def close(self) -> None:
        """Release the dead-letter file (the client belongs to whoever built it)."""
        self.dead_letters.close()

    def _send(self, batch: Batch) -> tuple[Batch, list[InputError]]:
        inputs = [entry.resolved.input for entry in batch.entries]
        write = self.client.batch_create if batch.action == "create" else self.client.batch_archive
        return batch, write(batch.from_type.name, batch.to_type.name, inputs)

    def _settle(self, batch: Batch, errors: list[InputError]) -> None:
        """Count the batch as written except what HubSpot refused, which becomes dead letters."""
        by_input = {entry.resolved.input: entry for entry in batch.entries}
        letters: list[DeadLetter] = []
        refused: set[AssociationInput] = set()
        for error in errors:
            entry = by_input.get(error.input) if error.input is not None else None
            if entry is None:
                self.stats.unattributed += 1
                letters.append(_unattributed_letter(batch, error))
            elif error.input not in refused:
                refused.add(entry.resolved.input)
                letters.append(_refused_letter(entry, error))
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
            logger.warning("rejected a %s record from stream %r: %s", letter.action, letter.stream, letter.reason)
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


def _refused_letter(entry: Pending, error: InputError) -> DeadLetter:
    reason = f"HubSpot refused to {entry.action} {entry.resolved.from_type}->{entry.resolved.to_type} " \
             f"{entry.resolved.input.from_id}->{entry.resolved.input.to_id}: {error.message}"
    return DeadLetter(entry.stream, entry.record, reason, entry.action, error.category, error.message,
                      error.correlation_id)


def _unattributed_letter(batch: Batch, error: InputError) -> DeadLetter:
    reason = f"HubSpot refused an input of a {batch.action} {batch.pair} batch without naming which: " \
             f"{error.message}"
    return DeadLetter(None, None, reason, batch.action, error.category, error.message, error.correlation_id)
