"""Ids as warehouses send them: a whole number from a numeric or double column is an id; anything else a dead letter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.crm import UNLABELED
from tests.support.dead_letters import read_dead_letters
from tests.support.runners import run_target_in_process, target_config
from tests.support.sandbox_api import SandboxFactory, assert_only
from tests.support.singer import schema

ID_FIX = ("is not a HubSpot object id: ids are positive whole numbers, as digits, integers or whole numerics below "
          "2^53; cast the column to bigint or text")


def raw_record(from_id: str, to_id: str) -> str:
    """A contact->company RECORD line with the ids written as given (JSON numbers stay numbers)."""
    return ('{"type": "RECORD", "stream": "associations", "record": {"from_object_type": "contacts", '
            f'"from_id": {from_id}, "to_object_type": "companies", "to_id": {to_id}}}}}')


def test_ids_from_numeric_and_double_columns_are_written_as_digits(crm: SandboxFactory, dead_letters: Path) -> None:
    box = crm()
    run_target_in_process(target_config(box, dead_letters), [
        schema(), raw_record("101.0", "201"), raw_record("102", "2.02e2"), raw_record('"103"', "203.000"),
    ])
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED), (103, 203, UNLABELED)})
    assert read_dead_letters(dead_letters) == []


@pytest.mark.parametrize(
    ("from_id", "shown"),
    [
        ("101.5", "101.5"),
        ("1e300", "1E+300"),
        ("NaN", "NaN"),
        ("-101", "-101"),
        ("true", "true"),
        ('"12a"', '"12a"'),
        ("9007199254740993.0", "9007199254740993.0"),
    ],
)
def test_an_id_that_is_not_a_whole_number_is_dead_lettered_as_received_saying_how_to_fix_it(
    crm: SandboxFactory, dead_letters: Path, from_id: str, shown: str,
) -> None:
    box = crm()
    run_target_in_process(target_config(box, dead_letters, max_rejected_records=1), [
        schema(), raw_record(from_id, "201"), raw_record("102", "202"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})
    [letter] = read_dead_letters(dead_letters)
    assert letter["reason"] == f"from_id {shown} {ID_FIX}"
