"""Partition order and listing ranks from each from type's size (tap_hubassoc/order.py)."""

from __future__ import annotations

from hubassoc.objects import parse_object_type
from tap_hubassoc.order import PartitionOrder

CONTACTS, DEALS, TICKETS = (parse_object_type(t) for t in ("contacts", "deals", "tickets"))


def test_the_smallest_partition_goes_first_and_the_largest_listing_first() -> None:
    order = PartitionOrder.by_size([CONTACTS, DEALS, TICKETS], {CONTACTS: 50_000, DEALS: 800, TICKETS: 9_000})
    assert order.partitions == [DEALS, TICKETS, CONTACTS]
    assert order.ranks == {CONTACTS: 0, TICKETS: 1, DEALS: 2}


def test_equal_sizes_keep_the_configured_order_for_both() -> None:
    order = PartitionOrder.by_size([DEALS, CONTACTS], {CONTACTS: 100, DEALS: 100})
    assert order.partitions == [DEALS, CONTACTS]
    assert order.ranks == {DEALS: 0, CONTACTS: 1}


def test_one_unknown_size_keeps_the_configured_order() -> None:
    """Search failed for one type: a guess could put the longest listing last, so nothing is reordered."""
    order = PartitionOrder.by_size([CONTACTS, DEALS], {CONTACTS: 50_000, DEALS: None})
    assert order == PartitionOrder.configured([CONTACTS, DEALS])
    assert order.ranks == {CONTACTS: 0, DEALS: 1}


def test_the_total_is_known_for_counted_or_given_types_only() -> None:
    """One listing alone is not counted (nothing to order it against): its size is only "the largest"."""
    order = PartitionOrder.by_size([CONTACTS, DEALS], {CONTACTS: float("inf"), DEALS: 40})
    assert (order.total(CONTACTS), order.total(DEALS)) == (None, 40)
