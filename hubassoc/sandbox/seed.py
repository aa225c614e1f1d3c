"""Fill a Store with a fake CRM whose size and shape a SeedSpec describes, the same CRM for the same spec.

The shape exercises what clients get wrong: ids beyond 32 bits with gaps between them (so a cursor must be
the id HubSpot sends, not a count), objects with more than 100 associations (v3 paging), objects with none
(NO_ASSOCIATIONS_FOUND), primary companies beside unlabeled ones, and a custom label.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from hubassoc.objects import parse_object_type
from hubassoc.sandbox.store import Store

FIRST_ID = 10_000_000_001  # above 2**32: a client that truncates ids to 32 bits breaks visibly
ID_BLOCK = 1_000_000_000  # each object type's ids start one block after the previous type's
MAX_ID_GAP = 1_000


@dataclass(frozen=True)
class LabelSpec:
    """A custom label on a pair, and the share of that pair's associations that also carry it."""

    from_type: str
    to_type: str
    label: str
    inverse_label: str | None = None
    share: float = 0.2


@dataclass(frozen=True)
class UniquePropertySpec:
    """A unique property every object of a type gets: ``pattern`` with ``{n}``, the object's place (from 1).

    ``UniquePropertySpec("contacts", "email", "contact-{n}@example.com")``; for another type the property is
    declared unique first, as HubSpot's ``hasUniqueValue`` does.
    """

    object_type: str
    name: str
    pattern: str


@dataclass(frozen=True)
class SeedSpec:
    """The size and shape of a seeded CRM; ``random_seed`` makes it reproducible."""

    contacts: int = 200
    companies: int = 40
    deals: int = 60
    tickets: int = 30
    associations_per_object: tuple[int, int] = (1, 3)
    many_share: float = 0.02
    many_range: tuple[int, int] = (101, 260)
    none_share: float = 0.05
    primary_share: float = 0.9
    pairs: tuple[tuple[str, str], ...] = (
        ("contacts", "companies"), ("contacts", "deals"), ("contacts", "tickets"),
        ("deals", "companies"), ("tickets", "companies"), ("deals", "tickets"),
    )
    labels: tuple[LabelSpec, ...] = (LabelSpec("contacts", "companies", "Billing contact"),)
    random_seed: int = 42
    unique_properties: tuple[UniquePropertySpec, ...] = ()

    def counts(self) -> dict[str, int]:
        """Objects to create, by canonical type name."""
        return {"contacts": self.contacts, "companies": self.companies, "deals": self.deals, "tickets": self.tickets}


PRESETS: dict[str, SeedSpec] = {
    "demo": SeedSpec(),
    "empty": SeedSpec(contacts=0, companies=0, deals=0, tickets=0, labels=()),
}


def preset(name: str) -> SeedSpec:
    """A named SeedSpec; the message lists the names there are."""
    try:
        return PRESETS[name]
    except KeyError:
        msg = f"unknown seed {name!r}: use one of {', '.join(sorted(PRESETS))}"
        raise ValueError(msg) from None


def seed_store(store: Store, spec: SeedSpec) -> None:
    """Add the spec's objects and associations to ``store``."""
    _Seeder(store, spec).run()


@dataclass
class _Seeder:
    store: Store
    spec: SeedSpec
    ids: dict[str, list[int]] = field(default_factory=dict)
    eligible: dict[str, list[int]] = field(default_factory=dict)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.spec.random_seed)  # noqa: S311 - fake data, not security

    def run(self) -> None:
        self._objects()
        self._primaries()
        self._ordinary()
        self._many()
        self._labels()
        self._unique_properties()

    def _objects(self) -> None:
        """Ids with random gaps; a share of each type is kept free of associations."""
        for block, (name, count) in enumerate(self.spec.counts().items()):
            steps = [self.rng.randint(1, MAX_ID_GAP) for _ in range(count)]
            start = FIRST_ID + block * ID_BLOCK
            ids = _cumulative(start, steps)
            self.store.add_objects(name, ids)
            self.ids[name] = ids
            lonely = set(self.rng.sample(ids, _share(self.spec.none_share, count)))
            self.eligible[name] = [i for i in ids if i not in lonely]

    def _unique_properties(self) -> None:
        for spec in self.spec.unique_properties:
            self.store.add_unique_property(spec.object_type, spec.name)
            ids = self.ids.get(parse_object_type(spec.object_type).name, [])
            self.store.set_properties(spec.object_type, {
                object_id: {spec.name: spec.pattern.format(n=n)} for n, object_id in enumerate(ids, start=1)})

    def _pairs(self) -> list[tuple[str, str]]:
        return [(parse_object_type(a).name, parse_object_type(b).name) for a, b in self.spec.pairs]

    def _primaries(self) -> None:
        """Most objects of a pair with a primary type get a primary company."""
        for a, b in self._pairs():
            primary = self.store.primary_type(a, b)
            targets = self.eligible.get(b, [])
            if primary is None or not targets:
                continue
            for from_id in self.eligible.get(a, []):
                if self.rng.random() < self.spec.primary_share:
                    self.store.associate(a, from_id, b, self.rng.choice(targets), primary.type_id)

    def _ordinary(self) -> None:
        """A few unlabeled associations per object and pair."""
        low, high = self.spec.associations_per_object
        for a, b in self._pairs():
            targets = self.eligible.get(b, [])
            for from_id in self.eligible.get(a, []):
                for to_id in self.rng.sample(targets, min(len(targets), self.rng.randint(low, high))):
                    self.store.associate(a, from_id, b, to_id)

    def _many(self) -> None:
        """A share of objects get 101..260 associations toward the partner type with the most objects."""
        low, high = self.spec.many_range
        partners = self._partners()
        for name, ids in self.eligible.items():
            candidates = [p for p in partners.get(name, []) if len(self.eligible.get(p, [])) >= low]
            if not candidates or not ids:
                continue
            partner = max(candidates, key=lambda p: (len(self.eligible[p]), p))
            for from_id in self.rng.sample(ids, _share(self.spec.many_share, len(ids))):
                count = min(len(self.eligible[partner]), self.rng.randint(low, high))
                for to_id in self.rng.sample(self.eligible[partner], count):
                    self.store.associate(name, from_id, partner, to_id)

    def _partners(self) -> dict[str, list[str]]:
        partners: dict[str, list[str]] = {}
        for a, b in self._pairs():
            partners.setdefault(a, []).append(b)
            partners.setdefault(b, []).append(a)
        return partners

    def _labels(self) -> None:
        """Each label is put on a share of the pair's existing unlabeled associations."""
        for spec in self.spec.labels:
            type_id, _ = self.store.add_label(spec.from_type, spec.to_type, spec.label, spec.inverse_label)
            ordinary = self.store.ordinary_type(spec.from_type, spec.to_type).type_id
            edges = [e for e in self.store.edges(spec.from_type, spec.to_type) if e.type_id == ordinary]
            for edge in self.rng.sample(edges, _share(spec.share, len(edges))):
                self.store.associate(edge.from_type, edge.from_id, edge.to_type, edge.to_id, type_id)


def _share(share: float, count: int) -> int:
    """How many of ``count`` make up ``share``: at least one when the share is not zero."""
    return min(count, math.ceil(share * count)) if share > 0 else 0


def _cumulative(start: int, steps: list[int]) -> list[int]:
    """Ids from ``start`` on, each ``step`` after the previous one."""
    ids, current = [], start
    for step in steps:
        ids.append(current)
        current += step
    return ids
