"""Object ids as warehouses store them: digits, integers, numerics and doubles that hold a whole number exactly."""

from __future__ import annotations

import decimal

import pytest

from hubassoc.errors import quoted
from hubassoc.objects import object_id_text

D = decimal.Decimal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("10000022589", "10000022589"),
        ("0042", "42"),
        (10000022589, "10000022589"),
        (D("10000022589.0"), "10000022589"),  # a double precision column, read as JSON numbers are
        (D("1E+3"), "1000"),
        (10000022589.0, "10000022589"),
        (2.0**53 - 1, "9007199254740991"),
        (D(2**53 - 1), "9007199254740991"),
    ],
)
def test_whole_positive_numbers_are_ids_written_as_digits(value: object, text: str) -> None:
    assert object_id_text(value) == text


@pytest.mark.parametrize(
    "value",
    [
        D("10000022589.5"), 10000022589.5, D("1E+300"), 1e300, D("1E+999999999"), float("nan"), D("NaN"),
        float("inf"), D("-Infinity"), 2.0**53, D(2**53),  # a double this large may already be rounded
        -2, D("-2"), 0, 0.0, D("-0"), True, False, "12a", "-2", "1.0", "", None, [1], {"id": 1},
    ],
)
def test_anything_else_is_not_an_id(value: object) -> None:
    assert object_id_text(value) is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("10000022589.5"), "10000022589.5"),
        ("12a", '"12a"'),
        (True, "true"),
        (None, "null"),
        (float("nan"), "NaN"),
        (1e300, "1e+300"),
        (D("NaN"), "NaN"),
        ({"id": [D("1.5")]}, '{"id": [1.5]}'),
        ("x" * 100, '"' + "x" * 59 + "... (102 characters)"),
    ],
)
def test_values_in_messages_are_shown_as_json_not_as_python_reprs(value: object, shown: str) -> None:
    assert quoted(value) == shown
