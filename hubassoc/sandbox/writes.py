"""The write routes: v3 batch create and batch archive.

Both are idempotent as in HubSpot: creating what exists and archiving what does not are not errors. A create
input that names a missing object or a type the pair lacks is refused alone (207), the rest are written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from hubassoc.limits import WRITE_BATCH_LIMIT
from hubassoc.objects import ObjectType
from hubassoc.sandbox.call import Call, batch_response, object_id, read_inputs
from hubassoc.sandbox.store import AssociationType
from hubassoc.sandbox.wire import Response, timestamp, validation_error

WRITE_INPUT_LIMIT = WRITE_BATCH_LIMIT


class _Input(NamedTuple):
    from_id: str
    to_id: str
    type_name: str | None


def batch_create(call: Call) -> Response:
    """``POST .../batch/create``: 200 lists both directions, 201 the input direction (knob ``create_status``)."""
    started = timestamp()
    kind_named = _kinds_by_name(call)
    inverse_of = functools.cache(lambda type_id: call.store.type_by_id(call.to_type, call.from_type, type_id))
    results: dict[tuple[str, str, str], dict[str, Any]] = {}  # each result once, in first-seen order
    errors: list[dict[str, Any]] = []
    inputs = _inputs(call)
    with call.store.batch():
        for item in inputs:
            problem = _problem(call, item, kind_named)
            if problem is not None:
                errors.append(problem)
                continue
            kind = kind_named(item.type_name)
            assert kind is not None
            call.store.associate(call.from_type, int(item.from_id), call.to_type, int(item.to_id), kind.type_id)
            for result in _created(call, item, kind, inverse_of):
                results.setdefault((result["from"]["id"], result["to"]["id"], result["type"]), result)
    return batch_response(list(results.values()), errors, started, ok_status=call.config.create_status)


def batch_archive(call: Call) -> Response:
    """``POST .../batch/archive``: 204; absent associations, unknown ids and unknown types are ignored."""
    kind_named = _kinds_by_name(call)
    inputs = _inputs(call)
    with call.store.batch():
        for item in inputs:
            from_id, to_id = object_id(item.from_id), object_id(item.to_id)
            kind = kind_named(item.type_name)
            if from_id is not None and to_id is not None and kind is not None:
                call.store.archive(call.from_type, from_id, call.to_type, to_id, kind.type_id)
    return Response(204)


def _kinds_by_name(call: Call) -> Callable[[str | None], AssociationType | None]:
    """The pair's type for a v3 name, looked up once per name and request rather than once per input."""
    return functools.cache(lambda name: call.store.type_by_name(call.from_type, call.to_type, name or ""))


def _inputs(call: Call) -> list[_Input]:
    return [_parse(item, index) for index, item in enumerate(read_inputs(call, WRITE_INPUT_LIMIT))]


def _parse(item: Any, index: int) -> _Input:
    ends = [item.get(side) if isinstance(item, dict) else None for side in ("from", "to")]
    if not all(isinstance(end, dict) and "id" in end for end in ends):
        raise validation_error(f"Invalid input at inputs[{index}]: expected {{from: {{id}}, to: {{id}}, type}}.")
    type_name = item.get("type")
    return _Input(str(ends[0]["id"]), str(ends[1]["id"]), None if type_name is None else str(type_name))


def _problem(
    call: Call, item: _Input, kind_named: Callable[[str | None], AssociationType | None],
) -> dict[str, Any] | None:
    """The error for an input HubSpot would refuse, or None."""
    for object_type, raw in ((call.from_type, item.from_id), (call.to_type, item.to_id)):
        found = object_id(raw)
        if found is None or not call.store.has_object(object_type, found):
            return _invalid_object(call, item, object_type, raw)
    if kind_named(item.type_name) is None:
        return _invalid_type(call, item)
    return None


def _invalid_object(call: Call, item: _Input, object_type: ObjectType, raw: str) -> dict[str, Any]:
    return {
        "status": "error", "category": "VALIDATION_ERROR", "subCategory": "crm.associations.INVALID_OBJECT_IDS",
        "message": f"No {object_type.singular} exists with id {raw}.",
        "context": _context(call, item, offending=[raw]),
    }


def _invalid_type(call: Call, item: _Input) -> dict[str, Any]:
    pair = f"{call.from_type.singular} to {call.to_type.singular}"
    context = _context(call, item, offending=[item.from_id, item.to_id])
    if call.config.error_context == "pair":
        context["type"] = [item.type_name]
    return {
        "status": "error", "category": "VALIDATION_ERROR",
        "subCategory": "crm.associations.INVALID_ASSOCIATION_TYPE",
        "message": f"{item.type_name!r} is not a valid association type from {pair}.",
        "context": context,
    }


def _context(call: Call, item: _Input, offending: list[str]) -> dict[str, list[Any]]:
    """HubSpot's context shape varies (knob ``error_context``): both ends of the input, or the bad ids alone."""
    if call.config.error_context == "ids":
        return {"ids": offending}
    return {"fromObjectId": [item.from_id], "toObjectId": [item.to_id]}


def _created(
    call: Call, item: _Input, kind: AssociationType, inverse_of: Callable[[int], AssociationType | None],
) -> list[dict[str, Any]]:
    forward = {"from": {"id": item.from_id}, "to": {"id": item.to_id}, "type": kind.name}
    if call.config.create_status == 201:
        return [forward]
    inverse = inverse_of(kind.inverse_id)
    assert inverse is not None
    return [forward, {"from": {"id": item.to_id}, "to": {"id": item.from_id}, "type": inverse.name}]
