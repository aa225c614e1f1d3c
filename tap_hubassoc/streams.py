"""The tap's two streams; thin: HubSpot's endpoints, paging and errors are the shared client's business.

``associations`` reads each pair from one side (tap_hubassoc.plan) and emits every configured direction from
that read. It is partitioned by LISTED type, not by pair: a type's ids are listed once and read for every pair
read from there, so the listing cursor (the resume point) necessarily belongs to that type. Records carry
``to_object_type``, so one table holds every pair and stream maps can filter pairs.

Partitions go smallest first and the largest type's listing has first call on the budget (order.py). Every from
type is listed from the start (prefetch.py), and later ones are read ahead on idle workers while an earlier one
is read (readahead.py); records and STATE are still emitted partition by partition, in order.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import ActivateVersionMessage
from typing_extensions import override

from hubassoc.api_version import is_labelled
from hubassoc.client import HubSpotClient
from hubassoc.errors import HubSpotError
from hubassoc.limits import LIST_PAGE_LIMIT
from hubassoc.objects import ObjectType, parse_object_type
from hubassoc.objects_api import IdPage
from hubassoc.progress import PeriodicReporter, RequestRate
from hubassoc.records import ASSOCIATION_KEY, ASSOCIATION_SCHEMA, ASSOCIATION_TYPE_KEY, ASSOCIATION_TYPE_SCHEMA
from hubassoc.types import PairTypes, PairTypesCache
from tap_hubassoc.batches import (
    Batch,
    StartAt,
    clear_progress,
    given_batches,
    listed_batches,
    mark_done,
    save_position,
    start_from_state,
)
from tap_hubassoc.order import PartitionOrder
from tap_hubassoc.plan import (
    PLAN_KEY,
    PlanInputs,
    PlannedRead,
    ReadPlan,
    SideRules,
    build_plan,
    direct_plan,
    kept_choice,
    pairing_by_types,
    unordered_pairs,
)
from tap_hubassoc.prefetch import ListingPrefetch
from tap_hubassoc.progress import PartitionProgress
from tap_hubassoc.readahead import ReadAhead, WorkerSlots
from tap_hubassoc.settings import READ_EACH_PAIR_ONCE, ids_digest
from tap_hubassoc.versions import SETTING, STATE_KEY, new_version, saved_version

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_hubassoc.tap import TapHubAssoc


class HubAssocStream(Stream):
    """Keeps the tap it was made by: its one client, its pair types and its state writer serve every stream."""

    # Records are built here with exactly the schema's types: conforming each one again is pure cost.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapHubAssoc) -> None:
        super().__init__(tap)
        self.hub_tap = tap
        self.sampled = 0

    @property
    def dry_run(self) -> bool:
        """SDK dry runs (``--test``, the standard tests) set a record limit: then read a sample, keep no state."""
        return self.ABORT_AT_RECORD_COUNT is not None

    @property
    def sample_full(self) -> bool:
        """A dry run has its records: read nothing more."""
        return self.ABORT_AT_RECORD_COUNT is not None and self.sampled >= self.ABORT_AT_RECORD_COUNT

    def sample(self, records: Iterator[Record]) -> Iterator[Record]:
        """In a dry run, stop at the record limit here: the SDK's own stop past it is logged as an error."""
        if not self.dry_run:
            return records  # a real sync pays nothing for this
        return self._sample(records)

    def _sample(self, records: Iterator[Record]) -> Iterator[Record]:
        try:
            for record in records:
                self.sampled += 1
                yield record
                if self.sample_full:
                    return
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()  # stop reads still queued, now rather than when collected

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never the SDK's ACTIVATE_VERSION at the start of a sync: ``versioned`` decides ours (versions.py)."""
        return False

    @property
    def versioned(self) -> bool:
        """Whether this sync's records carry a table version, activated once the read is complete."""
        return bool(self.config.get(SETTING)) and not self.dry_run and self.get_batch_config(self.config) is None

    def stamp_version(self, version: int) -> None:
        """From now on this stream's records carry ``version``, under every name stream maps give them."""
        for alias in self._aliases():
            self.hub_tap.version_records(alias, version)

    def activate_version(self, version: int) -> None:
        """Tell the loader that ``version`` is the whole table: rows of older versions are gone from HubSpot."""
        for alias in self._aliases():
            self.hub_tap.write_message(ActivateVersionMessage(stream=alias, version=version))
        self.logger.info("%s: every record read; table version %d activated", self.name, version)

    def _aliases(self) -> list[str]:
        return [m.stream_alias for m in self.stream_maps if not isinstance(m, RemoveRecordTransform)]

    def emit_state(self) -> None:
        """Write a STATE message now, through the tap's public state writer.

        With BATCH messages, records reach the target only when their batch file is announced, so the SDK's
        own STATE after each BATCH message is the only safe one: nothing is written here then.
        """
        if self.get_batch_config(self.config) is not None:
            return
        self.hub_tap.state_writer.write_state(self.tap_state)
        self.state_manager.is_flushed = True


class AssociationTypesStream(HubAssocStream):
    """One record per association type of every configured pair (v3 types, or v4 / 2026-03 labels endpoint)."""

    name = "association_types"
    schema: ClassVar[dict[str, Any]] = ASSOCIATION_TYPE_SCHEMA
    primary_keys: ClassVar[list[str]] = list(ASSOCIATION_TYPE_KEY)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        self.sampled = 0
        return self.sample(self._versioned(self._types()) if self.versioned else self._types())

    def _versioned(self, records: Iterator[Record]) -> Iterator[Record]:
        """The records with a new version, activated once the SDK has written the last of them."""
        version = new_version()
        self.stamp_version(version)
        yield from records
        self.activate_version(version)

    def _types(self) -> Iterator[Record]:
        pairs, cache = self.hub_tap.pairs, self.hub_tap.pair_types
        if not self.dry_run:  # one round trip for every pair's types, not one each
            list(self.hub_tap.client.map_ordered(lambda pair: cache.get(pair.from_type, pair.to_type), pairs))
        for pair in pairs:
            types = cache.get(pair.from_type, pair.to_type)
            if self.dry_run:
                self.logger.info("connection test: the token reads association types (%s)", pair.name)
            for kind in types.types:
                yield {
                    "from_object_type": pair.from_type.name,
                    "to_object_type": pair.to_type.name,
                    "association_type_id": kind.type_id,
                    "association_type": kind.name,
                    "association_category": kind.category,
                    "association_label": kind.label,  # None in v3, which lists no labels
                }


@dataclass(frozen=True)
class ReadTask:
    """One batch read for one planned read; ``last`` marks the batch's last read, after which the batch is emitted."""

    batch: Batch
    read: PlannedRead
    types: PairTypes
    last: bool


@dataclass(frozen=True)
class ReadResult:
    """A read task and the records its batch read emits, in HubSpot's order (see PlannedRead.records)."""

    task: ReadTask
    records: list[Record]


@dataclass(frozen=True)
class PartitionPlan:
    """A partition's reading as begun: where it starts, its progress counters, and its read tasks in order."""

    start: StartAt
    progress: PartitionProgress
    tasks: Iterator[ReadTask]


@dataclass(frozen=True)
class StartedListing:
    """A from type's listing, started with the first partition from the cursor ``after``."""

    after: str | None
    listing: ListingPrefetch


@dataclass(frozen=True)
class ClientSlots:
    """The worker slots over one client's threads: a closed tap makes a new client, and new slots with it."""

    client: HubSpotClient
    slots: WorkerSlots


class AssociationsStream(HubAssocStream):
    """One record per association edge of every configured direction, partitioned by listed type."""

    name = "associations"
    schema: ClassVar[dict[str, Any]] = ASSOCIATION_SCHEMA
    primary_keys: ClassVar[list[str]] = list(ASSOCIATION_KEY)

    def __init__(self, tap: TapHubAssoc) -> None:
        super().__init__(tap)
        self._listings: dict[ObjectType, StartedListing] = {}  # by from type
        self._planned: dict[ObjectType, PartitionPlan] = {}  # later partitions, read ahead from these plans
        self._read_ahead: ReadAhead[ReadTask, ReadResult] | None = None
        self._slots: ClientSlots | None = None
        self._order: PartitionOrder | None = None
        self._read_plan: ReadPlan | None = None
        self._counts: dict[ObjectType, int | None] = {}  # by search, each type at most once a run
        self._version: int | None = None  # the run's table version while records carry one

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return [{"from_object_type": kind.name} for kind in self._partition_order().partitions]

    def _partition_order(self) -> PartitionOrder:
        """Decided once a run (tap_hubassoc.order): the SDK and this stream must see the same partitions."""
        if self._order is None:
            kinds = self._plan_of_run().listed_types
            self._order = PartitionOrder.configured(kinds) if self.dry_run else \
                PartitionOrder.by_size(kinds, self._work_left(kinds))
        return self._order

    def _work_left(self, kinds: list[ObjectType]) -> dict[ObjectType, float | None]:
        """Each partition's size: none if finished, its given ids, or what search counts when two are listed.

        With one listing only, it is the largest (the others are given ids, read without a listing).
        """
        sizes: dict[ObjectType, float | None] = {}
        for kind in kinds:
            ids = self.hub_tap.from_ids.get(kind)
            sizes[kind] = 0 if self._saved_start(kind).done else None if ids is None else len(ids)
        listed = [kind for kind, size in sizes.items() if size is None]
        if len(listed) == 1:
            sizes[listed[0]] = float("inf")
        elif listed:
            sizes.update(self._counted(listed))
        return sizes

    def _counted(
        self, kinds: list[ObjectType], alongside: list[Callable[[], object]] | None = None,
    ) -> dict[ObjectType, int | None]:
        """The types' counts, each searched at most once a run (the plan and the order both use them).

        ``alongside`` are other requests sent in the same round (the pairs' types), one round trip for all.
        """
        missing = [kind for kind in kinds if kind not in self._counts]
        calls = [functools.partial(self._count, kind) for kind in missing] + (alongside or [])
        results = list(self.hub_tap.client.map_ordered(lambda call: call(), calls))
        self._counts.update(zip(missing, results[:len(missing)], strict=True))
        return {kind: self._counts[kind] for kind in kinds}

    def plan_now(self) -> None:
        """Decide the plan before the association_types stream runs, so its types and the counts share a round."""
        self._plan_of_run()

    def _plan_of_run(self) -> ReadPlan:
        """Decided once a run and logged once: each pair's side, kept from the run this one resumes."""
        if self._read_plan is None:
            self._read_plan = self._make_plan()
        return self._read_plan

    def _make_plan(self) -> ReadPlan:
        pairs = self.hub_tap.pairs
        if self.dry_run:
            return direct_plan(pairs, "a dry run reads a sample of each direction from its own side")
        inputs = self._plan_inputs()
        # Read without creating the stream's state: the plan may be made before the sync writes any STATE.
        saved = self.tap_state.get("bookmarks", {}).get(self.name, {}).get(PLAN_KEY)
        sides, reason = inputs.saved_sides(saved)
        if reason is not None:
            self.logger.warning("associations: %s", reason)
        if not inputs.once:
            self.logger.info("read plan: each configured direction from its own from type (%s is false)",
                             READ_EACH_PAIR_ONCE)
            return direct_plan(pairs, f"{READ_EACH_PAIR_ONCE} is false")
        rules = SideRules(frozenset(self.hub_tap.from_ids), v3=inputs.api == "v3")
        unordered = unordered_pairs(pairs)
        choices = {p: (kept_choice(p, sides) if sides is not None else None) or rules.decided(p) for p in unordered}
        uncounted = [kind for p, choice in choices.items() if choice is None for kind in p.ends]
        cache = self.hub_tap.pair_types
        types = [functools.partial(cache.get, p.from_type, p.to_type) for p in pairs]
        sizes = self._counted(list(dict.fromkeys(uncounted)), alongside=types)
        decided = [choices[p] or rules.by_size(p, sizes) for p in unordered]
        plan = build_plan(decided, pairing_by_types(self.hub_tap.pair_types.get))
        for line in plan.lines(self._counts):
            self.logger.info(line)
        return plan

    def _plan_inputs(self) -> PlanInputs:
        api = "labelled" if is_labelled(str(self.hub_tap.config.get("api_version") or "")) else "v3"
        return PlanInputs([p.name for p in self.hub_tap.pairs],
                          {kind.name: ids_digest(ids) for kind, ids in sorted(self.hub_tap.from_ids.items())}, api,
                          once=bool(self.config.get(READ_EACH_PAIR_ONCE, True)))

    def _count(self, kind: ObjectType) -> int | None:
        """On a worker: the type's objects by search, or None (and the configured order) if search fails."""
        try:
            return self.hub_tap.objects.count_objects(kind.name)
        except HubSpotError as exc:
            self.logger.warning("could not count %s (%s): partitions keep the configured order", kind, exc)
            return None

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if context is None:  # the SDK always passes one of our partitions
            return
        if dict(context) == self.partitions[0]:
            self.sampled = 0
            self._begin_version()
            self._keep_plan()
            self._start_prefetch()
        from_type = parse_object_type(context["from_object_type"])
        reads = self._reads_from(from_type)
        try:
            if reads and not self.sample_full:
                yield from self.sample(self._read_from_type(from_type, reads, self.get_context_state(context)))
            if not self.dry_run:
                if dict(context) == self.partitions[-1]:
                    self._finish_run()
                self.emit_state()
        except BaseException:  # the run fails or stops: list and read ahead no more
            self._stop_prefetch()
            raise

    def _read_from_type(
        self, from_type: ObjectType, reads: list[PlannedRead], state: dict[str, Any],
    ) -> Iterator[Record]:
        names = [r.name for r in reads]
        ids = self.hub_tap.from_ids.get(from_type)
        digest = None if ids is None else ids_digest(ids)
        start = StartAt() if self.dry_run else self._start(from_type, state, names, digest)
        if start.done:
            self.logger.info("associations from %s: already finished by the run this one resumes", from_type)
            return
        plan, started = self._claim(from_type, start) or (self._plan(from_type, reads, start), [])
        progress = plan.progress
        rate = RequestRate(self.hub_tap.client)
        with PeriodicReporter(self.hub_tap.progress_interval, lambda: progress.lines(rate), self.logger.info):
            for result in self._worker_slots().ordered(self._read, plan.tasks, started):
                task = result.task
                yield from result.records
                for direction in task.read.emits:
                    progress.read(direction.name, len(task.batch.ids), len(result.records) // len(task.read.emits))
                if task.last and task.batch.resume is not None and not self.dry_run:
                    save_position(state, names, task.batch.resume)
                    self.emit_state()
        for line in progress.summary(rate):
            self.logger.info(line)
        if not self.dry_run:
            mark_done(state, names)

    def _plan(self, from_type: ObjectType, reads: list[PlannedRead], start: StartAt) -> PartitionPlan:
        """The partition's read tasks from ``start``: every read of each batch, the batch's last read marked."""
        ids = self.hub_tap.from_ids.get(from_type)
        digest = None if ids is None else ids_digest(ids)
        total = self._partition_order().total(from_type)
        total = self._counts.get(from_type) if total is None and ids is None else total
        progress = PartitionProgress(from_type.name, [d.name for r in reads for d in r.emits], total=total)
        batches = self._batches(from_type, ids, digest, start, progress)
        return PartitionPlan(start, progress, self._tasks(reads, batches, self.hub_tap.pair_types))

    def _tasks(
        self, reads: list[PlannedRead], batches: Iterator[Batch], cache: PairTypesCache,
    ) -> Iterator[ReadTask]:
        """The tasks, with the pairs' types fetched on first use.

        For a partition read ahead that is on the read-ahead thread: a failure to fetch them is then raised
        where that partition is read, not while an earlier one is.
        """
        types = [cache.get(r.pair.from_type, r.pair.to_type) for r in reads]
        for batch in batches:
            for i, read in enumerate(reads):
                yield ReadTask(batch, read, types[i], i == len(reads) - 1)

    def _claim(self, from_type: ObjectType, start: StartAt) -> tuple[PartitionPlan, list[Future[ReadResult]]] | None:
        """The partition as read ahead since the first partition began, with the reads already started."""
        plan = self._planned.pop(from_type, None)
        claimed = None if self._read_ahead is None else self._read_ahead.claim(from_type)
        if plan is None or claimed is None:
            return None
        if plan.start != start:  # cannot happen (a partition's state changes only while it is read): read afresh
            claimed.cancel()
            self._stop_listing(from_type)
            return None
        return replace(plan, tasks=claimed.rest), claimed.started

    def _worker_slots(self) -> WorkerSlots:
        """The run's client's worker threads as this stream uses them (a closed tap makes a new client)."""
        client = self.hub_tap.client
        if self._slots is None or self._slots.client is not client:
            self._slots = ClientSlots(client, WorkerSlots(client.submit, client.settings.max_workers))
        return self._slots.slots

    def _start(self, from_type: ObjectType, state: dict[str, Any], names: list[str], digest: str | None) -> StartAt:
        start, reason = start_from_state(state, names, digest)
        if reason is not None:
            self.logger.warning("associations from %s: reading afresh: %s", from_type, reason)
            clear_progress(state)
        elif start != StartAt():
            self.logger.info("associations from %s: resuming at %s", from_type, start)
        return start

    def _batches(
        self, from_type: ObjectType, ids: list[str] | None, digest: str | None, start: StartAt,
        progress: PartitionProgress,
    ) -> Iterator[Batch]:
        """Batches of listed ids (one listing page at a time) or of from_ids; a dry run takes one page's worth."""
        size = LIST_PAGE_LIMIT if self.dry_run else self.hub_tap.batch_size
        if ids is not None and digest is not None:
            progress.listed(max(0, len(ids) - start.index))
            batches = given_batches(ids, size, start.index, digest)
            return itertools.islice(batches, 1) if self.dry_run else batches
        pages = self._listing(from_type, start.after)
        if self.dry_run:
            pages = itertools.islice(pages, 1)

        def on_page(count: int) -> None:
            progress.listed(count)
            if self.dry_run:
                self.logger.info("connection test: the token lists %s (%d ids on the first page)", from_type, count)

        # Read once, a run is bound by one listing chain: its last batch in parts shortens the tail after it.
        # Each direction from its own side keeps the batches whose calls the throughput benchmarks count.
        once = not self.dry_run and start.after is None and self._plan_inputs().once
        return listed_batches(pages, size, start.skip, on_page, total=self._counts.get(from_type) if once else None)

    def _read(self, task: ReadTask) -> ReadResult:
        """On a worker thread: one batch read, complete past 100 per object, as records in HubSpot's order."""
        return ReadResult(task, task.read.records(self.hub_tap.associations.records(task.types, task.batch.ids)))

    def _read_early(self, task: ReadTask) -> ReadResult:
        """A later partition's read: it takes only budget the requests of the one being read leave.

        The partition being read is what the run waits on (its records must go out before any later one's), so
        reading ahead must not take the budget its objects' pages need.
        """
        with self.hub_tap.client.deferred():
            return self._read(task)

    def _listing(self, from_type: ObjectType, after: str | None) -> Iterator[IdPage]:
        """The listing started with the first partition when it begins at ``after``, else one started now.

        It stays in ``_listings`` while it is read, so that a stream that stops stops it too.
        """
        prefetched = self._listings.get(from_type)
        if prefetched is not None:
            if prefetched.after == after:
                return prefetched.listing.pages()
            self._stop_listing(from_type)
        return self.hub_tap.objects.list_object_ids(from_type.name, after=after)

    def _start_prefetch(self) -> None:
        """List every from type at once (tap_hubassoc.prefetch) and read later ones ahead (tap_hubassoc.readahead).

        Neither in a dry run (it reads a sample of the first partition only) nor for a partition that the run
        being resumed finished.
        """
        self._stop_prefetch()
        if self.dry_run:
            return
        order = self._partition_order()
        kinds, ranks = order.partitions, order.ranks
        starts = {kind: self._saved_start(kind) for kind in kinds}
        for kind, start in starts.items():
            if kind not in self.hub_tap.from_ids and not start.done:
                pages = functools.partial(self.hub_tap.objects.list_object_ids, kind.name, after=start.after,
                                          rank=ranks[kind])
                self._listings[kind] = StartedListing(start.after, ListingPrefetch(pages, kind.name))
        self._planned = {kind: self._plan(kind, self._reads_from(kind), starts[kind])
                         for kind in kinds[1:] if not starts[kind].done}
        lanes = [(kind, plan.tasks) for kind, plan in self._planned.items()]
        listings = [started.listing for started in self._listings.values()]
        self._read_ahead = ReadAhead(self._worker_slots(), self._read_early, _record_count, lanes,
                                     may_start=functools.partial(_one_chain_at_most, listings))

    def _stop_prefetch(self) -> None:
        """Stop reading ahead and listing: the stream is stopping, or starting again."""
        if self._read_ahead is not None:
            self._read_ahead.stop()
            self._read_ahead = None
        self._planned.clear()
        for kind in list(self._listings):
            self._stop_listing(kind)

    def _stop_listing(self, kind: ObjectType) -> None:
        prefetched = self._listings.pop(kind, None)
        if prefetched is not None:
            prefetched.listing.stop()

    def _reads_from(self, kind: ObjectType) -> list[PlannedRead]:
        return self._plan_of_run().reads_from(kind)

    def _saved_start(self, kind: ObjectType) -> StartAt:
        """Where the partition will start, by its saved state (``_start`` logs why when it is not used)."""
        ids = self.hub_tap.from_ids.get(kind)
        names = [r.name for r in self._reads_from(kind)]
        start, _ = start_from_state(self._saved_state(kind), names, None if ids is None else ids_digest(ids))
        return start

    def _saved_state(self, kind: ObjectType) -> dict[str, Any]:
        """A partition's saved state, read without creating it (STATE keeps only partitions already read)."""
        context = {"from_object_type": kind.name}
        found = (p for p in self.stream_state.get("partitions", []) if p.get("context") == context)
        return next(found, {})

    def _begin_version(self) -> None:
        """The run's table version: the one an unfinished run saved in the state, else a new one, saved there."""
        self._version = None
        if not self.versioned:
            return
        saved = saved_version(self.stream_state)
        if saved is not None:
            self.logger.info("associations: resuming the unfinished run's table version %d", saved)
        self._version = saved or new_version()
        self.stream_state[STATE_KEY] = self._version
        self.stamp_version(self._version)

    def _keep_plan(self) -> None:
        """Save the plan's sides in the state: a resumed run reads the same sides, so its positions hold."""
        if not self.dry_run:
            self.stream_state[PLAN_KEY] = self._plan_inputs().to_state(self._plan_of_run().sides())

    def _finish_run(self) -> None:
        """Every partition is read: activate the version, forget positions and plan (the next run reads afresh)."""
        if self._version is not None:
            self.activate_version(self._version)
            self.stream_state.pop(STATE_KEY, None)
        self.stream_state.pop(PLAN_KEY, None)
        for partition_state in self.stream_state.get("partitions", []):
            clear_progress(partition_state)
        self.logger.info(self.hub_tap.client.stats.summary_line())


def _one_chain_at_most(listings: list[ListingPrefetch]) -> bool:
    """Whether at most one listing is sending requests: only then may a read ahead take request budget.

    Listing chains bound the run, and the pacer keeps only one slot for each open chain: reading ahead beside
    two listings delays the longer one by more than it saves at the end.
    """
    return sum(listing.requesting for listing in listings) <= 1


def _record_count(result: ReadResult) -> int:
    return len(result.records)
