"""Which from type's partition is emitted first, and which listing has first call on the request budget.

A run lasts at least as long as its longest listing, a chain of one page per round trip. That listing is ranked
first for the budget (hubassoc.pacing), so the shorter ones finish in its shadow, and its partition is emitted
last, so its records go out as it is listed while the smaller partitions' records have gone out before it.
In the configured order the opposite can happen: with the largest type first, a smaller partition read ahead
waits for it, held in memory, and is emitted after it; with the largest type last but ranked after the
others, its listing is slowed while theirs run.

HubSpot's listing tells no total, its search does (``HubSpotClient.count_objects``): one call per type, made
only when two or more are listed or the read plan (tap_hubassoc.plan) compares a pair's sides, and at most once
a run. Without every size the configured order stands, each listing ranked by its partition's place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hubassoc.objects import ObjectType


@dataclass(frozen=True)
class PartitionOrder:
    """Partitions in emission order, and each one's listing rank (0 goes first)."""

    partitions: list[ObjectType]
    ranks: dict[ObjectType, int]
    sizes: Mapping[ObjectType, float | None] = field(default_factory=dict)  # what the order was decided on

    def total(self, kind: ObjectType) -> int | None:
        """How many ids the type has, where that is known (counted by search, or given as from_ids)."""
        size = self.sizes.get(kind)
        return size if isinstance(size, int) else None

    @classmethod
    def configured(cls, kinds: list[ObjectType]) -> PartitionOrder:
        """As configured: earlier partitions first, and their listings first."""
        return cls(list(kinds), {kind: i for i, kind in enumerate(kinds)})

    @classmethod
    def by_size(cls, kinds: list[ObjectType], sizes: Mapping[ObjectType, float | None]) -> PartitionOrder:
        """Smallest partition first, largest listing first; among equals, the configured order for both."""
        if any(sizes.get(kind) is None for kind in kinds):
            return cls.configured(kinds)
        partitions = sorted(kinds, key=lambda kind: sizes[kind] or 0)
        listings = sorted(kinds, key=lambda kind: -(sizes[kind] or 0))
        return cls(partitions, {kind: i for i, kind in enumerate(listings)}, dict(sizes))
