"""Cutting listed ids into batches and the resume rules, without HTTP."""

from __future__ import annotations

from collections.abc import Iterator

from hubassoc.objects_api import IdPage
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

PAIRS = ["contacts->companies", "contacts->deals"]


def pages(count: int, size: int = 100, first_after: str | None = None) -> Iterator[IdPage]:
    """Listing pages as the objects endpoint returns them: ``after`` is the id the page starts at."""
    for number in range(count):
        ids = [str(1000 * number + i) for i in range(size)]
        after = first_after if number == 0 else ids[0]
        following = str(1000 * (number + 1)) if number + 1 < count else None
        yield IdPage(after, ids, following)


def test_batches_hold_batch_size_ids_across_pages_in_listing_order() -> None:
    """A 1,000-id batch read spans ten 100-id listing pages; nothing is dropped or repeated."""
    batches = list(listed_batches(pages(25), 1000))
    assert [len(b.ids) for b in batches] == [1000, 1000, 500]
    assert [i for b in batches for i in b.ids] == [i for p in pages(25) for i in p.ids]


def test_batch_cursor_points_at_the_page_where_the_next_unread_id_is() -> None:
    """A batch ending mid-page resumes at that page's cursor, skipping what was read of it."""
    first, second, last = listed_batches(pages(4), 150)
    assert first.resume == {"after": "1000", "skip": 50}  # ids 1000..1049 of page two were read
    assert second.resume == {"after": "3000", "skip": 0}  # page three ended it exactly: the next page, whole
    assert last.resume is None


def test_resuming_from_a_batch_cursor_reads_exactly_the_rest() -> None:
    """Restarting at any batch's cursor continues with exactly the ids after that batch."""
    everything = [i for p in pages(5) for i in p.ids]
    for batch in list(listed_batches(pages(5), 130))[:-1]:
        assert batch.resume is not None
        cursor = batch.resume
        restart_pages = [p for p in pages(5) if p.after == cursor["after"] or (
            cursor["after"] is None and p.after is None)]
        start = everything.index(restart_pages[0].ids[0])
        following = list(pages(5))[start // 100:]
        rest = [i for b in listed_batches(following, 130, skip=cursor["skip"]) for i in b.ids]
        assert rest == everything[everything.index(batch.ids[-1]) + 1:]


def test_first_page_cursor_is_none_and_resumes_on_the_first_page() -> None:
    """Batches smaller than a page resume on the first page (after None) with a skip."""
    first = next(listed_batches(pages(2), 40))
    assert first.resume == {"after": None, "skip": 40}


def test_listing_counts_ids_per_page_for_progress() -> None:
    seen: list[int] = []
    list(listed_batches(pages(3), 1000, skip=30, on_page=seen.append))
    assert seen == [70, 100, 100]


def test_empty_listing_gives_no_batches() -> None:
    assert list(listed_batches([IdPage(None, [], None)], 1000)) == []


def test_given_ids_batch_by_index() -> None:
    """from_ids: the cursor is the index where the next batch begins, with the list's fingerprint."""
    ids = [str(i) for i in range(1, 251)]
    batches = list(given_batches(ids, 100, 0, "abc"))
    assert [b.resume for b in batches] == [{"index": 100, "from_ids": "abc"}, {"index": 200, "from_ids": "abc"}, None]
    assert list(given_batches(ids, 100, 200, "abc")) == [Batch(0, ids[200:], None)]


def test_no_state_starts_at_the_beginning() -> None:
    assert start_from_state({}, PAIRS, None) == (StartAt(), None)


def test_saved_listing_position_resumes_for_the_same_pairs() -> None:
    state: dict = {"context": {"from_object_type": "contacts"}}
    save_position(state, PAIRS, {"after": "1000", "skip": 50})
    assert start_from_state(state, PAIRS, None) == (StartAt(after="1000", skip=50), None)


def test_changed_pairs_start_afresh_and_say_why() -> None:
    """A position is only valid for the pairs read with it: another pair list would skip its ids."""
    state: dict = {}
    save_position(state, PAIRS, {"after": "1000", "skip": 0})
    start, reason = start_from_state(state, PAIRS[:1], None)
    assert start == StartAt()
    assert reason is not None
    assert "contacts->deals" in reason


def test_from_ids_position_needs_the_same_list() -> None:
    state: dict = {}
    save_position(state, PAIRS, {"index": 300, "from_ids": "aaaa"})
    assert start_from_state(state, PAIRS, "aaaa") == (StartAt(index=300), None)
    start, reason = start_from_state(state, PAIRS, "bbbb")
    assert start == StartAt()
    assert reason is not None
    start, reason = start_from_state(state, PAIRS, None)  # listing now, index saved: not a cursor
    assert start == StartAt()
    assert reason is not None


def test_partition_finished_in_an_interrupted_run_is_skipped_on_resume() -> None:
    state: dict = {}
    mark_done(state, PAIRS)
    assert start_from_state(state, PAIRS, None) == (StartAt(done=True), None)


def test_clearing_leaves_only_the_context_and_no_ids() -> None:
    """Completed: no cursor at all. State never holds id lists, only a cursor, a count and pair names."""
    state: dict = {"context": {"from_object_type": "contacts"}}
    save_position(state, PAIRS, {"after": "1000", "skip": 50})
    assert set(state) == {"context", "after", "skip", "pairs"}
    clear_progress(state)
    assert state == {"context": {"from_object_type": "contacts"}}
