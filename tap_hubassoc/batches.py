"""Cutting a from type's ids into read batches, and the small state that lets an interrupted run resume.

Pure functions over pages and dicts, so the resume rules are tested without HTTP. A partition's state holds
only where reading continues, never ids:

- listing: ``{"after": <cursor of the page the next unread id is on>, "skip": <ids of that page already
  read>, "pairs": [...]}`` (``after`` None is the first page);
- ``from_ids``: ``{"index": <position in the list>, "from_ids": <fingerprint of the list>, "pairs": [...]}``;
- finished in a run that has not yet finished every partition: ``{"done": true, "pairs": [...]}``, so a
  rerun does not read it again.

Once every partition is finished the keys go, and the next run is a full, fresh read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hubassoc.objects_api import IdPage

PROGRESS_KEYS = ("after", "skip", "index", "from_ids", "done", "pairs")
TAIL_PARTS = 2  # the last batch's ids, when the listing's size is known, go in this many reads


@dataclass(frozen=True)
class Batch:
    """Ids read together, and the state cursor once they are all emitted (None: nothing comes after)."""

    number: int
    ids: list[str]
    resume: dict[str, Any] | None


@dataclass(frozen=True)
class StartAt:
    """Where a partition's reading begins: the start, a listing cursor, a from_ids index, or not at all."""

    after: str | None = None
    skip: int = 0
    index: int = 0
    done: bool = False


def listed_batches(
    pages: Iterable[IdPage], batch_size: int, skip: int = 0, on_page: Callable[[int], None] | None = None,
    *, total: int | None = None,
) -> Iterator[Batch]:
    """Batches of ``batch_size`` ids from listing pages, holding at most one batch and one page at a time.

    ``skip`` drops ids of the first page that an earlier run already read. ``on_page`` hears how many ids
    each page added (for progress lines). ``total``, the listing's size where it was counted: the last
    ``batch_size`` ids go in ``TAIL_PARTS`` smaller batches, so that the first of them are read (and their
    records emitted) while the listing's last pages are still coming, and the run's tail is a smaller batch.
    """
    ids: list[str] = []
    number = done = 0
    target = _batch_target(batch_size, total, done)
    for page_number, page in enumerate(pages):
        offset = skip if page_number == 0 else 0
        if on_page is not None:
            on_page(len(page.ids) - min(offset, len(page.ids)))
        while offset < len(page.ids):
            take = page.ids[offset:offset + target - len(ids)]
            ids += take
            offset += len(take)
            if len(ids) == target:
                yield Batch(number, ids, _listing_cursor(page, offset))
                number, done, ids = number + 1, done + len(ids), []
                target = _batch_target(batch_size, total, done)
    if ids:
        yield Batch(number, ids, None)


def _batch_target(batch_size: int, total: int | None, done: int) -> int:
    if total is not None and total - done <= batch_size:
        return max(1, -(-batch_size // TAIL_PARTS))
    return batch_size


def _listing_cursor(page: IdPage, offset: int) -> dict[str, Any] | None:
    if offset < len(page.ids):
        return {"after": page.after, "skip": offset}
    if page.next_after is not None:
        return {"after": page.next_after, "skip": 0}
    return None


def given_batches(ids: list[str], batch_size: int, start: int, digest: str) -> Iterator[Batch]:
    """Batches of a from_ids list from ``start``; the cursor is the index where the next batch begins."""
    for number, begin in enumerate(range(start, len(ids), batch_size)):
        end = begin + batch_size
        yield Batch(number, ids[begin:end], {"index": end, "from_ids": digest} if end < len(ids) else None)


def start_from_state(
    state: Mapping[str, Any], pairs: list[str], digest: str | None,
) -> tuple[StartAt, str | None]:
    """Where to begin, and why a saved position is not used (None when it is, or there is none).

    A position is only meaningful for the pairs it was written for and the same id source: listing, or the
    same from_ids list. Anything else starts the partition afresh rather than skip ids it never read.
    """
    if not any(key in state for key in PROGRESS_KEYS):
        return StartAt(), None
    saved_pairs = state.get("pairs")
    if saved_pairs != pairs:
        return StartAt(), f"the saved position was written for pairs {saved_pairs}, this run reads {pairs}"
    if state.get("done") is True:
        return StartAt(done=True), None
    if digest is None:
        if "after" in state and _count(state.get("skip")) is not None:
            return StartAt(after=state["after"], skip=_count(state["skip"]) or 0), None
        return StartAt(), "the saved position is not a listing cursor (was it written with from_ids?)"
    if state.get("from_ids") == digest and _count(state.get("index")) is not None:
        return StartAt(index=_count(state["index"]) or 0), None
    return StartAt(), "the saved position belongs to another id source (from_ids changed or was added)"


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def clear_progress(state: dict[str, Any]) -> None:
    """Forget a partition's position: its next read is a full one."""
    for key in PROGRESS_KEYS:
        state.pop(key, None)


def save_position(state: dict[str, Any], pairs: list[str], cursor: Mapping[str, Any]) -> None:
    """Record where reading continues after a fully emitted batch."""
    clear_progress(state)
    state.update(cursor)
    state["pairs"] = list(pairs)


def mark_done(state: dict[str, Any], pairs: list[str]) -> None:
    """Record a finished partition while others may still be under way, so a rerun skips it."""
    clear_progress(state)
    state["done"] = True
    state["pairs"] = list(pairs)
