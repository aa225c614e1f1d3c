"""207 errors are matched back to the inputs HubSpot names in each error's context."""

from __future__ import annotations

from hubassoc.client import AssociationInput, match_input_errors

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
