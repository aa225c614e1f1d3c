"""207 errors are matched back to the inputs HubSpot names in each error's context."""

from __future__ import annotations

import random

import msgspec
import pytest

from hubassoc.associations_v3 import AssociationInput
from hubassoc.limits import WRITE_BATCH_LIMIT
from hubassoc.replies import match_input_errors, read_write_reply

INPUTS = [AssociationInput("1", "10", "t"), AssociationInput("2", "20", "t"), AssociationInput("3", "10", "t")]


def error(context: dict[str, list[str]], message: str = "bad") -> dict[str, object]:
    return {"status": "error", "category": "VALIDATION_ERROR", "message": message, "context": context}


def test_from_and_to_ids_in_context_name_exactly_one_input() -> None:
    found = match_input_errors({"errors": [error({"fromObjectId": ["3"], "toObjectId": ["10"]})]}, INPUTS)
    assert [e.input for e in found] == [INPUTS[2]]


def test_a_bare_ids_list_names_every_input_holding_that_id() -> None:
    found = match_input_errors({"errors": [error({"ids": ["10"]})]}, INPUTS)
    assert [e.input for e in found] == [INPUTS[0], INPUTS[2]]


def test_an_error_naming_no_input_is_kept_not_dropped() -> None:
    found = match_input_errors({"errors": [error({"fromObjectId": ["999"]}, "who?")]}, INPUTS)
    assert len(found) == 1
    assert found[0].input is None
    assert found[0].message == "who?"


def test_no_errors_means_nothing_rejected() -> None:
    assert match_input_errors({"status": "COMPLETE", "results": []}, INPUTS) == []
    assert match_input_errors(None, INPUTS) == []


def test_an_error_whose_context_is_no_object_is_kept_not_dropped() -> None:
    found = match_input_errors({"errors": [{"message": "odd", "context": ["3"]}]}, INPUTS)
    assert [(e.input, e.message) for e in found] == [(None, "odd")]


def test_one_error_per_input_names_each_input_once_in_batch_order() -> None:
    """HubSpot sends one 207 error per id it does not know: a whole batch of 2,000 may be refused at once."""
    inputs = [AssociationInput(str(10_000 + n), str(20_000 + n % 7), "t") for n in range(WRITE_BATCH_LIMIT)]
    errors = [error({"fromObjectId": [i.from_id]}, f"No contact exists with id {i.from_id}.") for i in inputs]
    found = match_input_errors({"errors": list(reversed(errors))}, inputs)
    assert [e.input for e in found] == list(reversed(inputs))
    assert all(e.message.endswith(f"{e.input.from_id}.") for e in found if e.input is not None)


def reference_match(context: dict[str, list[str]], inputs: list[AssociationInput]) -> list[AssociationInput]:
    """The rule, spelt out: every input, in batch order, whose ids are in each id list the context gives."""
    lists = {key: set(context[key]) for key in ("fromObjectId", "toObjectId", "ids") if key in context}
    if not lists:
        return []
    return [
        i for i in inputs
        if i.from_id in lists.get("fromObjectId", {i.from_id}) and i.to_id in lists.get("toObjectId", {i.to_id})
        and ("ids" not in lists or i.from_id in lists["ids"] or i.to_id in lists["ids"])
    ]


def test_inputs_named_are_those_the_rule_names_for_any_mix_of_id_lists() -> None:
    rng = random.Random(7)
    ids = [str(n) for n in range(1, 9)]
    inputs = [AssociationInput(rng.choice(ids), rng.choice(ids), "t") for _ in range(40)]  # repeats included
    for _ in range(500):
        keys = rng.sample(["fromObjectId", "toObjectId", "ids"], rng.randint(1, 3))
        context = {key: rng.sample([*ids, "99"], rng.randint(0, 3)) for key in keys}
        found = match_input_errors({"errors": [error(context)]}, inputs)
        assert [e.input for e in found if e.input is not None] == reference_match(context, inputs), context


def test_a_write_reply_is_read_for_its_errors_alone() -> None:
    """HubSpot's write reply echoes every association written, both ways round; only the errors are used."""
    body = b'{"status":"COMPLETE","results":[{"from":{"id":"1"},"to":{"id":"10"},"type":"t"}],' \
           b'"errors":[{"message":"bad","context":{"fromObjectId":["2"]}}]}'
    assert read_write_reply(body) == {"errors": [{"message": "bad", "context": {"fromObjectId": ["2"]}}]}
    assert read_write_reply(b'{"status":"COMPLETE","results":[]}') == {"errors": []}


@pytest.mark.parametrize("body", [
    b'{"status":"COMPLETE","results":[{"from":',  # truncated
    b"[1, 2]",  # no object
    b'{"status":"COMPLETE","errors":{"message":"bad"}}',  # errors not a list
    b'{"status":"COMPLETE","errors":["bad"]}',  # an error that is no object
])
def test_a_write_reply_of_any_other_shape_is_malformed_so_the_request_is_retried(body: bytes) -> None:
    """Read as "no errors", such a reply would count every refused record as written."""
    with pytest.raises(msgspec.DecodeError):
        read_write_reply(body)
