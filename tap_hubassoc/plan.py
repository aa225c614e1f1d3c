"""Which side of each pair the tap reads, and which configured directions each read emits.

An association is stored once and seen from both ends (contact 5 -> company 7, type 279, is company 7 ->
contact 5, type 280), so the tap plans per *unordered* pair and reads one side:

1. a pair of one type (company <-> company) is one read, its edges seen from both ends already;
2. the side ``from_ids`` pins (both sides pinned: each direction reads its own ids, as configured);
3. in v3, the companies side of a pair with companies: toward companies v3 shows only the primary company;
4. otherwise the side with fewer objects (counted by search), ties and unknown counts to the configured from type.

The other direction is emitted from the same read with the ends swapped and each type mapped to its inverse;
where the types cannot be paired one to one the pair is read from both sides, each direction from its own.
Pure functions over pairs, counts and types, so the rules are tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubassoc.objects import ObjectType, parse_object_type
from hubassoc.types import AssociationType, PairTypes, UnpairedTypesError
from tap_hubassoc.settings import Pair

PLAN_KEY = "read_plan"  # in the stream state while a run is unfinished, so a resumed run keeps its sides
COMPANIES = parse_object_type("companies")
# Each type of a read direction mapped to its inverse in the emitted direction, or UnpairedTypesError.
Pairing = Callable[[Pair, Pair], Mapping[int, AssociationType]]


@dataclass(frozen=True)
class UnorderedPair:
    """Both configured directions between two types (or the one), named by the first configured."""

    first: Pair
    directions: tuple[Pair, ...]

    @property
    def name(self) -> str:
        """``contacts<->companies``, in the first configured direction's order."""
        return f"{self.first.from_type}<->{self.first.to_type}"

    @property
    def ends(self) -> tuple[ObjectType, ObjectType]:
        """The two types, the first configured from type first."""
        return self.first.from_type, self.first.to_type

    def other(self, side: ObjectType) -> ObjectType:
        """The end that is not ``side``."""
        a, b = self.ends
        return b if side == a else a


def unordered_pairs(pairs: list[Pair]) -> list[UnorderedPair]:
    """The configured directions grouped by their two types, in order of first appearance."""
    grouped: dict[frozenset[ObjectType], list[Pair]] = {}
    for pair in pairs:
        grouped.setdefault(frozenset((pair.from_type, pair.to_type)), []).append(pair)
    return [UnorderedPair(found[0], tuple(found)) for found in grouped.values()]


@dataclass(frozen=True)
class SideRules:
    """What decides a side without counting: the types ``from_ids`` pins, and whether v3 is spoken."""

    pinned: frozenset[ObjectType]
    v3: bool

    def decided(self, pair: UnorderedPair) -> SideChoice | None:
        """The side by rules 1-3 of the module docstring, or None when it takes the counts."""
        a, b = pair.ends
        if a == b:
            return SideChoice(pair, a, "one type: one read sees both ends")
        pinned = [kind for kind in pair.ends if kind in self.pinned]
        if len(pinned) == 2:
            return SideChoice(pair, None, "from_ids names both types: each direction reads its own ids")
        if pinned:
            return SideChoice(pair, pinned[0], f"from_ids names the {pinned[0]} to read")
        if self.v3 and COMPANIES in pair.ends:
            return SideChoice(pair, COMPANIES, "v3 shows every association toward companies only from the "
                                               "companies side")
        return None

    def by_size(self, pair: UnorderedPair, sizes: Mapping[ObjectType, int | None]) -> SideChoice:
        """The side with fewer objects; ties, and counts search could not give, to the configured from type."""
        a, b = pair.ends
        count_a, count_b = sizes.get(a), sizes.get(b)
        if count_a is None or count_b is None:
            return SideChoice(pair, a, "objects not counted: the configured from type")
        counts = f"{count_a} {a}, {count_b} {b}"
        if count_b < count_a:
            return SideChoice(pair, b, f"fewer objects ({counts})")
        if count_a < count_b:
            return SideChoice(pair, a, f"fewer objects ({counts})")
        return SideChoice(pair, a, f"as many objects ({counts}): the configured from type")


@dataclass(frozen=True)
class SideChoice:
    """The side of one pair that is read, or None for each configured direction from its own side; and why."""

    pair: UnorderedPair
    side: ObjectType | None
    why: str


@dataclass(frozen=True)
class Inversion:
    """How a read's records become the other direction's: ends swapped, each type its inverse."""

    pair: Pair  # the direction emitted
    inverses: Mapping[int, AssociationType]  # read type id -> the inverse type

    def records(self, read: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The other direction's records of one batch read, in the read's order."""
        fields = {type_id: _type_fields(kind) for type_id, kind in self.inverses.items()}
        try:
            return [{"from_object_type": r["to_object_type"], "from_id": r["to_id"],
                     "to_object_type": r["from_object_type"], "to_id": r["from_id"],
                     **fields[r["association_type_id"]]} for r in read]
        except KeyError as exc:
            msg = (f"type {exc.args[0]} appeared in a read after the run listed the pair's types, so its "
                   f"{self.pair} inverse is unknown: run again")
            raise UnpairedTypesError(msg) from None


@dataclass(frozen=True)
class PlannedRead:
    """One direction read from its from type's listing, and the configured directions it emits."""

    pair: Pair  # the direction read
    emits_read: bool  # whether the direction read is configured
    inversion: Inversion | None = None  # the other direction, when configured and emitted from this read

    @property
    def name(self) -> str:
        """How state and progress lines name the read: what is read, and what it stands for."""
        if self.inversion is None:
            return self.pair.name
        joiner = " & " if self.emits_read else " as "
        return f"{self.pair.name}{joiner}{self.inversion.pair.name}"

    @property
    def emits(self) -> list[Pair]:
        """The configured directions this read emits, in emission order; each gets one record per edge read."""
        return ([self.pair] if self.emits_read else []) + ([] if self.inversion is None else [self.inversion.pair])

    def records(self, read: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records one batch read emits: the read direction's as read, then the inverted ones."""
        emitted = read if self.emits_read else []
        return emitted + self.inversion.records(read) if self.inversion is not None else emitted


@dataclass(frozen=True)
class ReadPlan:
    """Every pair's side and why, and the reads, grouped by the type each lists."""

    choices: list[SideChoice]
    reads: list[PlannedRead] = field(default_factory=list)

    @property
    def listed_types(self) -> list[ObjectType]:
        """The from types of the reads, each once, in order of first appearance: one partition each."""
        return list(dict.fromkeys(read.pair.from_type for read in self.reads))

    def reads_from(self, kind: ObjectType) -> list[PlannedRead]:
        """The reads that list ``kind``, in plan order."""
        return [read for read in self.reads if read.pair.from_type == kind]

    def sides(self) -> dict[str, str | None]:
        """What the state keeps: each pair's side by name (None: both sides)."""
        return {choice.pair.name: None if choice.side is None else choice.side.name for choice in self.choices}

    def lines(self, sizes: Mapping[ObjectType, int | None]) -> list[str]:
        """The plan as log lines: one per pair, with its side, the counts known, and why."""
        lines = []
        for choice in self.choices:
            side = "both sides" if choice.side is None else f"the {choice.side} side"
            counted = [f"{sizes[kind]} {kind}" for kind in dict.fromkeys(choice.pair.ends)
                       if sizes.get(kind) is not None]
            counts = f" [{', '.join(counted)}]" if counted else ""
            emits = ", ".join(d.name for d in choice.pair.directions)
            lines.append(f"read plan: {choice.pair.name}: {side}{counts}, because {choice.why}; emits {emits}")
        return lines


def direct_plan(pairs: list[Pair], why: str) -> ReadPlan:
    """Each configured direction read from its own from type (a dry run's sample, or as configured)."""
    return ReadPlan([SideChoice(p, None, why)
                     for p in unordered_pairs(pairs)], [PlannedRead(p, emits_read=True) for p in pairs])


def build_plan(choices: list[SideChoice], pairing: Pairing) -> ReadPlan:
    """The reads of ``choices``; a pair whose types ``pairing`` cannot pair one to one falls back to both sides.

    ``pairing(read, emitted)`` maps each type of ``read`` to its inverse in ``emitted``, or raises
    UnpairedTypesError saying why not.
    """
    planned: list[SideChoice] = []
    reads: list[PlannedRead] = []
    for choice in choices:
        pair, side = choice.pair, choice.side
        if side is None:
            planned.append(choice)
            reads += [PlannedRead(d, emits_read=True) for d in pair.directions]
            continue
        read = Pair(side, pair.other(side))
        backward = Pair(read.to_type, read.from_type)
        inversion = None
        if backward in pair.directions and backward != read:
            try:
                inversion = Inversion(backward, pairing(read, backward))
            except UnpairedTypesError as exc:
                planned.append(SideChoice(pair, None, f"{exc}; so each direction is read from its own side"))
                reads += [PlannedRead(d, emits_read=True) for d in pair.directions]
                continue
        planned.append(choice)
        reads.append(PlannedRead(read, emits_read=read in pair.directions, inversion=inversion))
    return ReadPlan(planned, reads)


def pairing_by_types(types: Callable[[ObjectType, ObjectType], PairTypes]) -> Pairing:
    """``build_plan``'s pairing over the account's listed types (fetched through ``types``)."""
    def pairing(read: Pair, emitted: Pair) -> Mapping[int, AssociationType]:
        return types(read.from_type, read.to_type).inverses_in(types(emitted.from_type, emitted.to_type))
    return pairing


@dataclass(frozen=True)
class PlanInputs:
    """What a plan was made for: a resumed run keeps the saved sides only when these are unchanged."""

    pairs: list[str]
    from_ids: dict[str, str]  # type -> fingerprint of its ids
    api: str  # "v3" or "labelled"
    once: bool = True  # read_each_pair_once

    def to_state(self, sides: dict[str, str | None]) -> dict[str, Any]:
        """The plan as the state keeps it: what it was made for, and each pair's side."""
        return {"pairs": self.pairs, "from_ids": self.from_ids, "api": self.api, "once": self.once, "sides": sides}

    def saved_sides(self, saved: Any) -> tuple[dict[str, str | None] | None, str | None]:
        """The sides saved by the run this one resumes, or None and why they are not kept (None: nothing saved)."""
        if not isinstance(saved, dict) or not isinstance(saved.get("sides"), dict):
            return None, None
        now = {"pairs": self.pairs, "from_ids": self.from_ids, "api_version": self.api,
               "read_each_pair_once": self.once}
        keys = {"pairs": "pairs", "from_ids": "from_ids", "api_version": "api", "read_each_pair_once": "once"}
        changed = [what for what, value in now.items() if saved.get(keys[what]) != value]
        if changed:
            return None, f"{' and '.join(changed)} changed since the interrupted run: planning afresh"
        return dict(saved["sides"]), None


def kept_choice(pair: UnorderedPair, sides: Mapping[str, str | None]) -> SideChoice | None:
    """The saved side of ``pair``, if the saved plan has one that is still one of its ends."""
    if pair.name not in sides:
        return None
    saved = sides[pair.name]
    if saved is None:
        return SideChoice(pair, None, "kept from the interrupted run this one resumes")
    side = parse_object_type(saved)
    if side not in pair.ends:
        return None
    return SideChoice(pair, side, "kept from the interrupted run this one resumes")


def _type_fields(kind: AssociationType) -> dict[str, Any]:
    return {"association_type_id": kind.type_id, "association_type": kind.name,
            "association_category": kind.category, "association_label": kind.label}
