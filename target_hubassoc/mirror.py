"""Mirror mode: HubSpot's associations of each covered object toward a type become exactly a mirror stream's set.

A mirror stream's records are the complete desired set of associations of every (from type, from id, to type)
they name: that object is *covered*. A record with a null ``to_id`` or a non-null ``_sdc_deleted_at`` covers
its object and desires nothing; a to-object's desired types are the union of its records' types (untyped: the
pair's ordinary type). At the end of the input, after every other stream's records are written, the mirror
reads the current associations of each covered object (v4/2026-03 batch read), creates each desired type that
is missing and archives each to-object that is not desired (every type of it). It never removes a type of a
to-object that stays desired, so a primary flag survives a record that names only the ordinary type.

Safety: an object with a rejected record is left untouched (its desired set is not known), and a stream that
would archive more than ``mirror_max_archive_fraction`` of the to-objects it read writes nothing at all.
"""

from __future__ import annotations

import functools
import logging
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from singer_sdk.exceptions import FatalSyncError

from hubassoc.associations import AssociationsApi
from hubassoc.associations_v4 import AssociationsV4, LabelledEdge
from hubassoc.client import HubSpotClient
from hubassoc.limits import READ_BATCH_LIMIT
from hubassoc.objects import ObjectType
from hubassoc.replies import InputError
from hubassoc.types import UnknownAssociationTypeError
from target_hubassoc.dead_letters import DeadLetter, DeadLetterFile
from target_hubassoc.id_resolution import IdResolver
from target_hubassoc.writer import (
    InvalidAssociationError,
    RecordResolver,
    association_type,
    record_object_id,
    record_object_type,
)

logger = logging.getLogger("hubassoc.mirror")

MIRROR: Literal["mirror"] = "mirror"
DELETED_AT = "_sdc_deleted_at"
COVERING_FIELDS = ("from_object_type", "from_id", "to_object_type")  # what names the object a record covers
DEFAULT_MAX_ARCHIVE_FRACTION = 0.5
_SAMPLES = 3
# Ids and type ids as unsigned 64-bit machine integers: 16 bytes a desired association instead of two Python ints.
_ID_CODE = "Q"
_ID_LIMIT = 2**64


class MirrorRefusedError(FatalSyncError):
    """A mirror that cannot be applied as given (a pair from both ends, the safety limit): none of it is written."""


@dataclass(frozen=True)
class Pair:
    """One direction of one association pair, by canonical object types."""

    from_type: ObjectType
    to_type: ObjectType

    def __str__(self) -> str:
        return f"{self.from_type}->{self.to_type}"

    @property
    def reverse(self) -> Pair:
        """The same associations seen from the other end."""
        return Pair(self.to_type, self.from_type)


@dataclass
class PairDesired:
    """One pair's covered objects of one mirror stream: per from id, a flat array of (to id, type id) pairs."""

    pair: Pair
    stream: str
    desired: dict[int, array] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)  # objects with a rejected record: never touched

    def cover(self, from_id: int) -> array | None:
        """The object's desired array (created empty: the object is covered); None for a skipped object."""
        if from_id in self.skipped:
            return None
        found = self.desired.get(from_id)
        if found is None:
            found = self.desired[from_id] = array(_ID_CODE)
        return found

    def skip(self, from_id: int) -> None:
        """Leave the object untouched: one of its records was rejected, so its desired set is not known."""
        self.desired.pop(from_id, None)
        self.skipped.add(from_id)


@dataclass
class PairPlan:
    """What the mirror does to one pair: flat arrays of creates (from, to, type) and archives (from, to)."""

    pair: Pair
    covered: int = 0
    currently_associated: int = 0  # to-objects read as associated with covered objects (pairs of objects)
    kept: int = 0  # of those, the ones still desired
    creates: array = field(default_factory=lambda: array(_ID_CODE))
    archives: array = field(default_factory=lambda: array(_ID_CODE))

    @property
    def create_count(self) -> int:
        """Association types to create."""
        return len(self.creates) // 3

    @property
    def archive_count(self) -> int:
        """To-objects to archive, every type of each."""
        return len(self.archives) // 2

    def samples(self) -> str:
        """A few of the planned writes, for logs."""
        creates = [f"create {self.creates[i]}->{self.creates[i + 1]} type {self.creates[i + 2]}"
                   for i in range(0, min(len(self.creates), 3 * _SAMPLES), 3)]
        archives = [f"archive {self.archives[i]}->{self.archives[i + 1]}"
                    for i in range(0, min(len(self.archives), 2 * _SAMPLES), 2)]
        return ", ".join(creates + archives) or "none"

    def describe(self) -> str:
        """Counts and samples, as the plan's log line and the safety message say them."""
        return (f"{self.pair}: {self.covered} covered objects, {self.currently_associated} to-objects associated "
                f"now, keep {self.kept}, create {self.create_count} association types, archive "
                f"{self.archive_count} to-objects (e.g. {self.samples()})")


@dataclass
class StreamPlan:
    """Every pair one mirror stream covers; the safety check is on the stream's totals."""

    stream: str
    pairs: list[PairPlan] = field(default_factory=list)

    @property
    def currently_associated(self) -> int:
        """To-objects the stream's covered objects are associated with now, in total."""
        return sum(p.currently_associated for p in self.pairs)

    @property
    def archive_count(self) -> int:
        """To-objects the stream would archive, in total."""
        return sum(p.archive_count for p in self.pairs)

    def exceeds(self, fraction: float) -> bool:
        """Whether the stream would archive more than ``fraction`` of what it read; 1.0 never does."""
        return self.archive_count > fraction * self.currently_associated


@dataclass
class MirrorStats:
    """What the mirror did; ``rejected`` counts toward max_rejected_records like the writer's."""

    records: int = 0
    rejected_records: int = 0  # mirror records that were invalid (dead letters)
    covered: int = 0
    skipped: int = 0  # covered objects left untouched for a rejected record
    kept: int = 0
    created: int = 0
    archived: int = 0
    refused_writes: int = 0  # inputs of the mirror's writes that HubSpot refused in a 207 (dead letters)

    @property
    def rejected(self) -> int:
        """Dead letters the mirror wrote."""
        return self.rejected_records + self.refused_writes

    def summary_line(self, *, dry_run: bool) -> str:
        """The summary's mirror line."""
        create, archive = ("would create", "would archive") if dry_run else ("created", "archived")
        return (f"Mirror: {self.records} records read (rejected {self.rejected_records}), {self.covered} covered "
                f"objects (skipped for rejected records {self.skipped}): kept {self.kept} to-objects, {create} "
                f"{self.created} association types, {archive} {self.archived} to-objects, refused by HubSpot "
                f"{self.refused_writes}")


@dataclass(frozen=True)
class MirrorWrite:
    """One batch call of the mirror: creates or archives of one pair."""

    pair: Pair
    stream: str
    action: Literal["create", "archive"]
    inputs: list[Any]


class Mirror:
    """Takes mirror streams' records as they come; ``apply`` at the end of input reads, plans, checks and writes."""

    def __init__(
        self, client: HubSpotClient, api: AssociationsApi, resolver: RecordResolver, dead_letters: DeadLetterFile, *,
        batch_size: int, max_archive_fraction: float = DEFAULT_MAX_ARCHIVE_FRACTION, dry_run: bool = False,
        as_received: Callable[[dict[str, Any]], dict[str, Any]] | None = None, ids: IdResolver | None = None,
    ) -> None:
        self.client = client
        self.ids = ids  # ends given as property values are read there first, in input order with other streams
        self.api = api
        self.resolver = resolver
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.max_archive_fraction = max_archive_fraction
        self.dry_run = dry_run
        self.as_received = as_received or (lambda record: record)
        self.stats = MirrorStats()
        self._pairs: dict[Pair, PairDesired] = {}
        # A record's type fields resolve the same in every record that spells them alike: resolved once.
        self._type_ids: dict[tuple[Any, ...], int] = {}

    @property
    def started(self) -> bool:
        """Whether a mirror stream's record has been read (STATE is held back from then on)."""
        return self.stats.records > 0

    # -- reading records -------------------------------------------------------------------------------------

    def add(self, record: dict[str, Any], stream: str) -> None:
        """Take one mirror record: it covers its from object, and (unless null or deleted) desires its to-object."""
        self.stats.records += 1
        if self.ids is not None and type(record) is dict and self.ids.needed(record):
            self.ids.add(record, functools.partial(self._add, stream=stream, received=record),
                         functools.partial(self._unresolved, stream=stream, received=record))
            return
        self._add(record, stream, record)

    def _unresolved(self, reason: str, partial: dict[str, Any], *, stream: str, received: dict[str, Any]) -> None:
        """A value with no record: rejected; its from object, when that end is known, is left untouched."""
        self._reject(received, stream, reason)
        try:
            pair = Pair(record_object_type(partial, "from_object_type"), record_object_type(partial, "to_object_type"))
            from_id = _int_id(record_object_id(partial, "from_id"))
        except (InvalidAssociationError, KeyError):
            return  # the from end itself is unknown: no object to leave untouched
        self._pair(pair, stream).skip(from_id)

    def _add(self, record: dict[str, Any], stream: str, received: dict[str, Any]) -> None:
        """A mirror record with record ids at both ends (``received``: as it came, for its dead letter)."""
        try:
            _check_covering_fields(record)
            from_type = record_object_type(record, "from_object_type")
            to_type = record_object_type(record, "to_object_type")
            from_id = _int_id(record_object_id(record, "from_id"))
        except InvalidAssociationError as exc:  # no object to leave untouched: the record alone is rejected
            self._reject(received, stream, exc.reason)
            return
        desired = self._pair(Pair(from_type, to_type), stream)
        targets = desired.cover(from_id)
        if targets is None:
            return  # an earlier record of this object was rejected: the object is left as it is
        if record.get(DELETED_AT) is not None or record.get("to_id") is None:
            return
        try:
            to_id = _int_id(record_object_id(record, "to_id"))
            type_id = self._type_id(desired.pair, record)
        except InvalidAssociationError as exc:
            self._reject(received, stream, exc.reason)
            desired.skip(from_id)
            logger.warning("mirror stream %s: %s %s is left untouched: one of its records was rejected",
                           stream, from_type.singular, from_id)
            return
        targets.append(to_id)
        targets.append(type_id)

    def _pair(self, pair: Pair, stream: str) -> PairDesired:
        found = self._pairs.get(pair)
        if found is not None and found.stream == stream:
            return found
        if found is not None:
            msg = (f"mirror streams {found.stream} and {stream} both mirror {pair}: a pair is mirrored by one stream "
                   "only (merge them); nothing of the mirror was written")
            raise MirrorRefusedError(msg)
        reverse = self._pairs.get(pair.reverse)
        if reverse is not None:
            msg = (f"mirror stream {reverse.stream} mirrors {reverse.pair} and stream {stream} mirrors {pair}: one "
                   "pair can be mirrored from one end only (each end's set would archive the other's); nothing of "
                   "the mirror was written")
            raise MirrorRefusedError(msg)
        found = self._pairs[pair] = PairDesired(pair, stream)
        return found

    def _type_id(self, pair: Pair, record: dict[str, Any]) -> int:
        """The type a record desires: the one it names, else the pair's ordinary (never the primary) type."""
        fields = (pair, record.get("association_type_id"), record.get("association_type"),
                  record.get("association_label"))
        try:
            key = (*fields, *map(type, fields[1:]))
            return self._type_ids[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: resolved (and refused) the long way
            key = None
        types = self.resolver.pair_types(pair.from_type, pair.to_type)
        kind = association_type(types, record)
        try:
            type_id = (kind or types.ordinary()).type_id
        except UnknownAssociationTypeError as exc:
            raise InvalidAssociationError(str(exc)) from None
        if key is not None:
            self._type_ids[key] = type_id
        return type_id

    def _reject(self, record: dict[str, Any], stream: str, reason: str) -> None:
        self.stats.rejected_records += 1
        logger.warning("rejected a mirror record from stream %s: %s", stream, reason)
        self.dead_letters.write([DeadLetter(stream, self.as_received(record), reason, MIRROR)])

    # -- applying --------------------------------------------------------------------------------------------

    def apply(self) -> None:
        """Read, plan, check and (unless a dry run) write every mirror stream; MirrorRefusedError if one is refused.

        A refused stream writes none of its changes; the other mirror streams' changes are written.
        """
        if self.ids is not None:
            self.ids.settle()  # records waiting for property values are this stream's too
        if not self._pairs:
            return
        api = self.api
        if not isinstance(api, AssociationsV4):
            msg = "a mirror reads every association of its objects, which only api_version v4 or 2026-03 shows"
            raise MirrorRefusedError(msg)
        plans = self._plans(api)
        refused = [plan for plan in plans if plan.exceeds(self.max_archive_fraction)]
        for plan in plans:
            for pair_plan in plan.pairs:
                self.stats.covered += pair_plan.covered
                if plan not in refused:
                    self.stats.kept += pair_plan.kept
                logger.info("%smirror stream %s plan: %s", "dry run: " if self.dry_run else "", plan.stream,
                            pair_plan.describe())
        for desired in self._pairs.values():  # skipped objects are covered too, and left untouched
            self.stats.skipped += len(desired.skipped)
            self.stats.covered += len(desired.skipped)
        writable = [plan for plan in plans if plan not in refused]
        if self.dry_run:
            for plan in writable:
                for pair_plan in plan.pairs:
                    self.stats.created += pair_plan.create_count
                    self.stats.archived += pair_plan.archive_count
        else:
            self._write(api, writable)
        if refused:
            raise MirrorRefusedError(" ".join(self._refusal(plan) for plan in refused))

    def _refusal(self, plan: StreamPlan) -> str:
        share = plan.archive_count / max(plan.currently_associated, 1)
        pairs = "; ".join(p.describe() for p in plan.pairs)
        return (f"mirror stream {plan.stream} would archive {plan.archive_count} of the {plan.currently_associated} "
                f"to-objects its covered objects are associated with ({share:.0%}), more than "
                f"mirror_max_archive_fraction ({self.max_archive_fraction}): none of its changes were written. "
                f"Per pair: {pairs}. If that is intended, check with dry_run, then raise mirror_max_archive_fraction "
                "(1.0 turns the check off).")

    def _plans(self, api: AssociationsV4) -> list[StreamPlan]:
        """Read every covered object's current associations, 1,000 ids a call, and plan each pair."""
        plans: dict[str, StreamPlan] = {}
        for desired in self._pairs.values():
            plan = PairPlan(desired.pair, covered=len(desired.desired))
            plans.setdefault(desired.stream, StreamPlan(desired.stream)).pairs.append(plan)
            ids = sorted(desired.desired)
            chunks = (ids[start:start + READ_BATCH_LIMIT] for start in range(0, len(ids), READ_BATCH_LIMIT))
            for chunk, edges in self._read(api, desired.pair, chunks):
                _plan_chunk(plan, desired, chunk, edges)
        return list(plans.values())

    def _read(
        self, api: AssociationsV4, pair: Pair, chunks: Iterator[list[int]],
    ) -> Iterator[tuple[list[int], list[LabelledEdge]]]:
        """Each chunk with its edges, in order; up to ``max_workers`` batch reads under way at once."""
        in_flight: deque[tuple[list[int], Future[list[LabelledEdge]]]] = deque()
        workers = self.client.settings.max_workers
        for chunk in chunks:
            if len(in_flight) >= workers:
                done, future = in_flight.popleft()
                yield done, future.result()
            future = self.client.submit(api.batch_read, pair.from_type.name, pair.to_type.name, [str(i) for i in chunk])
            in_flight.append((chunk, future))
        while in_flight:
            done, future = in_flight.popleft()
            yield done, future.result()

    def _write(self, api: AssociationsV4, plans: list[StreamPlan]) -> None:
        """Send every planned create and archive, batched per pair, up to ``max_workers`` calls at once."""
        in_flight: deque[tuple[MirrorWrite, Future[list[InputError]]]] = deque()
        workers = self.client.settings.max_workers
        try:
            for write in self._writes(api, plans):
                if len(in_flight) >= workers:
                    self._settle(*in_flight.popleft())
                send = api.batch_create if write.action == "create" else api.batch_archive
                future = self.client.submit(send, write.pair.from_type.name, write.pair.to_type.name, write.inputs)
                in_flight.append((write, future))
        finally:
            failure: BaseException | None = None
            while in_flight:
                try:
                    self._settle(*in_flight.popleft())
                except Exception as exc:  # the first failure is raised once every call under way is settled
                    failure = failure or exc
            if failure is not None:
                raise failure

    def _writes(self, api: AssociationsV4, plans: list[StreamPlan]) -> Iterator[MirrorWrite]:
        for plan in plans:
            for pair_plan in plan.pairs:
                pair = pair_plan.pair
                types = self.resolver.pair_types(pair.from_type, pair.to_type)
                creates = [api.write_input(types.by_id(c[2]), str(c[0]), str(c[1]))
                           for c in _triples(pair_plan.creates)]
                archives = [api.write_input(None, str(pair_plan.archives[i]), str(pair_plan.archives[i + 1]))
                            for i in range(0, len(pair_plan.archives), 2)]
                for action, inputs in (("create", creates), ("archive", archives)):
                    for start in range(0, len(inputs), self.batch_size):
                        yield MirrorWrite(pair, plan.stream, action, inputs[start:start + self.batch_size])

    def _settle(self, write: MirrorWrite, future: Future[list[InputError]]) -> None:
        """Count a call's inputs as written except those HubSpot refused, which become dead letters."""
        errors = future.result()
        refused = {e.input for e in errors if e.input is not None}
        letters = [_refused_letter(write, error) for error in errors]
        written = len(write.inputs) - len(refused)
        if write.action == "create":
            self.stats.created += written
        else:
            self.stats.archived += written
        self.stats.refused_writes += len(letters)
        for letter in letters:
            logger.warning("mirror stream %s: %s", letter.stream, letter.reason)
        self.dead_letters.write(letters)


def _plan_chunk(plan: PairPlan, desired: PairDesired, chunk: list[int], edges: list[LabelledEdge]) -> None:
    """Add one read chunk's creates and archives to the plan: missing desired types, undesired to-objects."""
    current: dict[int, dict[int, set[int]]] = {}
    for edge in edges:
        current.setdefault(int(edge.from_id), {}).setdefault(int(edge.to_id), set()).add(edge.type_id)
    for from_id in chunk:
        wanted: dict[int, set[int]] = {}
        targets = desired.desired[from_id]
        for i in range(0, len(targets), 2):
            wanted.setdefault(targets[i], set()).add(targets[i + 1])
        now = current.get(from_id, {})
        plan.currently_associated += len(now)
        for to_id in now:
            if to_id in wanted:
                plan.kept += 1
            else:
                plan.archives.extend((from_id, to_id))
        for to_id, types in wanted.items():
            for type_id in sorted(types - now.get(to_id, set())):
                plan.creates.extend((from_id, to_id, type_id))


def _check_covering_fields(record: dict[str, Any]) -> None:
    missing = [name for name in COVERING_FIELDS if record.get(name) in (None, "")]
    if missing:
        raise InvalidAssociationError(f"missing {', '.join(missing)}: a mirror record needs {COVERING_FIELDS} (to_id "
                                      "may be null: the object then desires nothing)")


def _triples(values: array) -> Iterator[tuple[int, int, int]]:
    for i in range(0, len(values), 3):
        yield values[i], values[i + 1], values[i + 2]


def _int_id(text: str) -> int:
    value = int(text)
    if value >= _ID_LIMIT:
        raise InvalidAssociationError(f"object id {text} is larger than any HubSpot id")
    return value


def _refused_letter(write: MirrorWrite, error: InputError) -> DeadLetter:
    shown = None
    if error.input is not None:
        shown = {"from_object_type": write.pair.from_type.name, "from_id": error.input.from_id,
                 "to_object_type": write.pair.to_type.name, "to_id": error.input.to_id}
        type_id = getattr(error.input, "type_id", None)
        if type_id is not None:
            shown["association_type_id"] = type_id
    what = f"{error.input.from_id}->{error.input.to_id}" if error.input is not None else "an input it did not name"
    reason = f"HubSpot refused the mirror's {write.action} of {write.pair} {what}: {error.message}"
    return DeadLetter(write.stream, shown, reason, write.action, error.category, error.message, error.correlation_id)
