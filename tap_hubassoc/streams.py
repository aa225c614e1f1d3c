"""The tap's two streams; thin: HubSpot's endpoints, paging and errors are the shared client's business.

``associations`` is partitioned by FROM type, not by pair: a from type's ids are listed once and read for
every pair that starts there, so the listing cursor (the resume point) necessarily belongs to the from type.
Records carry ``to_object_type``, so one table holds every pair and stream maps can filter pairs.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from hubassoc.client import LIST_PAGE_LIMIT, Edge, IdPage
from hubassoc.labels import PairLabels, default_names, edge_record
from hubassoc.objects import ObjectType, parse_object_type
from hubassoc.progress import PeriodicReporter, RequestRate
from hubassoc.records import ASSOCIATION_KEY, ASSOCIATION_SCHEMA, ASSOCIATION_TYPE_KEY, ASSOCIATION_TYPE_SCHEMA
from hubassoc.types import PairTypes
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
from tap_hubassoc.prefetch import ListingPrefetch
from tap_hubassoc.progress import PartitionProgress
from tap_hubassoc.settings import Pair, from_types, ids_digest

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_hubassoc.tap import TapHubAssoc


class HubAssocStream(Stream):
    """Keeps the tap it was made by: its one client, its pair types and its state writer serve every stream."""

    # Records are built here with exactly the schema's types: conforming each one again is pure cost (about a
    # quarter of the tap's CPU per record, measured by benchmarks/).
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
        return self.sample(self._types())

    def _types(self) -> Iterator[Record]:
        for pair in self.hub_tap.pairs:
            types = self.hub_tap.pair_types.get(pair.from_type, pair.to_type)
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
    """One batch read for one pair; ``last`` marks the batch's last pair, after which the batch is emitted."""

    batch: Batch
    pair: Pair
    types: PairTypes | PairLabels
    last: bool


class AssociationsStream(HubAssocStream):
    """One record per association edge of every configured pair, partitioned by from type."""

    name = "associations"
    schema: ClassVar[dict[str, Any]] = ASSOCIATION_SCHEMA
    primary_keys: ClassVar[list[str]] = list(ASSOCIATION_KEY)

    def __init__(self, tap: TapHubAssoc) -> None:
        super().__init__(tap)
        self._listings: dict[ObjectType, tuple[str | None, ListingPrefetch]] = {}  # by from type, with its start

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return [{"from_object_type": kind.name} for kind in from_types(self.hub_tap.pairs)]

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if context is None:  # the SDK always passes one of our partitions
            return
        if dict(context) == self.partitions[0]:
            self.sampled = 0
            self._start_listings()
        from_type = parse_object_type(context["from_object_type"])
        pairs = [p for p in self.hub_tap.pairs if p.from_type == from_type]
        try:
            if pairs and not self.sample_full:
                yield from self.sample(self._read_from_type(from_type, pairs, self.get_context_state(context)))
        except BaseException:
            self._stop_listings()
            raise
        if not self.dry_run:
            if dict(context) == self.partitions[-1]:
                self._finish_run()
            self.emit_state()

    def _read_from_type(self, from_type: ObjectType, pairs: list[Pair], state: dict[str, Any]) -> Iterator[Record]:
        names = [p.name for p in pairs]
        ids = self.hub_tap.from_ids.get(from_type)
        digest = None if ids is None else ids_digest(ids)
        start = StartAt() if self.dry_run else self._start(from_type, state, names, digest)
        if start.done:
            self.logger.info("associations from %s: already finished by the run this one resumes", from_type)
            return
        types = {p: self.hub_tap.pair_types.get(p.from_type, p.to_type) for p in pairs}
        progress = PartitionProgress(from_type.name, names)
        rate = RequestRate(self.hub_tap.client)
        batches = self._batches(from_type, ids, digest, start, progress)
        tasks = (ReadTask(batch, p, types[p], i == len(pairs) - 1) for batch in batches for i, p in enumerate(pairs))
        with PeriodicReporter(self.hub_tap.progress_interval, lambda: progress.lines(rate), self.logger.info):
            for task, records in self.hub_tap.client.map_ordered(self._read, tasks):
                yield from records
                progress.read(task.pair.name, len(task.batch.ids), len(records))
                if task.last and task.batch.resume is not None and not self.dry_run:
                    save_position(state, names, task.batch.resume)
                    self.emit_state()
        for line in progress.summary(rate):
            self.logger.info(line)
        if not self.dry_run:
            mark_done(state, names)

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

        return listed_batches(pages, size, start.skip, on_page)

    def _read(self, task: ReadTask) -> tuple[ReadTask, list[Record]]:
        """On a worker thread: one batch read, complete past 100 per object, as records in HubSpot's order."""
        pair = task.pair
        if isinstance(task.types, PairLabels):  # v4 / 2026-03: every association, labels included
            api = self.hub_tap.labelled_api
            assert api is not None
            names = default_names(pair.from_type, pair.to_type)
            labelled = api.batch_read(pair.from_type.name, pair.to_type.name, task.batch.ids)
            return task, [edge_record(pair.from_type, pair.to_type, edge, names) for edge in labelled]
        edges = self.hub_tap.client.batch_read(pair.from_type.name, pair.to_type.name, task.batch.ids)
        return task, [_record(pair, task.types, edge) for edge in edges]

    def _listing(self, from_type: ObjectType, after: str | None) -> Iterator[IdPage]:
        """The listing started with the first partition when it begins at ``after``, else one started now."""
        prefetched = self._listings.pop(from_type, None)
        if prefetched is not None:
            if prefetched[0] == after:
                return prefetched[1].pages()
            prefetched[1].stop()
        return self.hub_tap.client.list_object_ids(from_type.name, after=after)

    def _start_listings(self) -> None:
        """List every from type at once, each on its own thread (see tap_hubassoc.prefetch); not in a dry run."""
        self._stop_listings()
        if self.dry_run:
            return
        for kind in from_types(self.hub_tap.pairs):
            if kind in self.hub_tap.from_ids:
                continue
            names = [p.name for p in self.hub_tap.pairs if p.from_type == kind]
            start, _ = start_from_state(self._saved_state(kind), names, None)
            if not start.done:
                pages = functools.partial(self.hub_tap.client.list_object_ids, kind.name, after=start.after)
                self._listings[kind] = (start.after, ListingPrefetch(pages, kind.name))

    def _stop_listings(self) -> None:
        for _, listing in self._listings.values():
            listing.stop()
        self._listings.clear()

    def _saved_state(self, kind: ObjectType) -> dict[str, Any]:
        """A partition's saved state, read without creating it (STATE keeps only partitions already read)."""
        context = {"from_object_type": kind.name}
        found = (p for p in self.stream_state.get("partitions", []) if p.get("context") == context)
        return next(found, {})

    def _finish_run(self) -> None:
        """Every partition is read: forget all positions, so the next run is a full, fresh read; summarise."""
        for partition_state in self.stream_state.get("partitions", []):
            clear_progress(partition_state)
        self.logger.info(self.hub_tap.client.stats.summary_line())


def _record(pair: Pair, types: PairTypes, edge: Edge) -> Record:
    kind = types.by_name(edge.type_name)
    return {
        "from_object_type": pair.from_type.name,
        "from_id": edge.from_id,
        "to_object_type": pair.to_type.name,
        "to_id": edge.to_id,
        "association_type_id": kind.type_id,
        "association_type": kind.name,
        "association_category": kind.category,
        "association_label": None,  # v3 reads carry no label
    }
