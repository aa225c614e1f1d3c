"""stream_actions keys: a stream's full name, or its table part (tap-postgres names streams <schema>-<table>)."""

from __future__ import annotations

import pytest

from target_hubassoc.stream_actions import StreamAction, StreamActions, StreamActionsError


def test_a_key_matches_the_stream_of_that_name() -> None:
    actions = StreamActions({"removals": "archive"}, "create")
    assert actions.for_stream("removals") == StreamAction("archive", "removals")


def test_a_key_matches_the_table_part_after_the_last_dash() -> None:
    actions = StreamActions({"links_to_remove": "archive"}, "create")
    assert actions.for_stream("public-links_to_remove") == StreamAction("archive", "links_to_remove")
    assert actions.unmatched_error() is None


def test_a_key_does_not_match_another_part_of_the_name() -> None:
    actions = StreamActions({"public": "archive"}, "create")
    assert actions.for_stream("public-links") == StreamAction("create")


def test_an_exact_name_wins_over_a_table_part() -> None:
    actions = StreamActions({"links": "create", "public-links": "archive"}, "create")
    assert actions.for_stream("public-links") == StreamAction("archive", "public-links")


def test_streams_no_key_matches_use_the_default_action() -> None:
    assert StreamActions({"removals": "archive"}, "archive").for_stream("other") == StreamAction("archive")


def test_a_key_matching_a_second_stream_is_an_error_naming_the_key_and_both_streams() -> None:
    actions = StreamActions({"links": "archive"}, "create")
    actions.for_stream("public-links")
    with pytest.raises(StreamActionsError) as refused:
        actions.for_stream("staging-links")
    assert str(refused.value) == ("stream_actions key links matches two streams, public-links and staging-links: "
                                  "use each stream's full name as its key (e.g. staging-links)")


def test_a_key_naming_one_stream_and_the_table_of_another_is_an_error() -> None:
    actions = StreamActions({"links": "archive"}, "create")
    actions.for_stream("links")
    with pytest.raises(StreamActionsError, match="key links matches two streams, links and public-links"):
        actions.for_stream("public-links")


def test_a_stream_seen_again_keeps_its_action() -> None:
    actions = StreamActions({"links": "archive"}, "create")
    assert actions.for_stream("public-links") == actions.for_stream("public-links")


def test_keys_that_matched_no_stream_are_named_with_the_streams_seen() -> None:
    actions = StreamActions({"links_to_remove": "archive", "gone": "archive", "adds": "create"}, "create")
    actions.for_stream("public-adds")
    actions.for_stream("public-links_to_add")
    error = actions.unmatched_error()
    assert error is not None
    assert str(error).startswith("stream_actions keys links_to_remove, gone matched no stream (streams seen: "
                                 "public-adds, public-links_to_add): a key is a stream's name, or the part of it "
                                 "after the last '-'.")
