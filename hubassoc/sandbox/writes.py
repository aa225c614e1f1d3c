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
    both_ways = call.config.create_status != 201
    results: dict[tuple[str, str, str], dict[str, Any]] = {}  # each result once, in first-seen order
    errors: list[dict[str, Any]] = []
    inputs = _inputs(call)
    a, b = call.from_type, call.to_type
    with call.store.batch():
        existing = call.store.live_object_ids(a), call.store.live_object_ids(b)
        for item in inputs:
            ids = object_id(item.from_id), object_id(item.to_id)
            kind = kind_named(item.type_name)
            if ids[0] not in existing[0] or ids[1] not in existing[1] or kind is None:
                errors.append(_problem(call, item, kind_named))
                continue
            call.store.associate_as(a, ids[0], b, ids[1], kind)
            results.setdefault((item.from_id, item.to_id, kind.name),
                               {"from": {"id": item.from_id}, "to": {"id": item.to_id}, "type": kind.name})
            if both_ways:
                inverse = inverse_of(kind.inverse_id)
                assert inverse is not None
                results.setdefault((item.to_id, item.from_id, inverse.name),
                                   {"from": {"id": item.to_id}, "to": {"id": item.from_id}, "type": inverse.name})
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
    start, end = (item.get("from"), item.get("to")) if isinstance(item, dict) else (None, None)
    if not (isinstance(start, dict) and "id" in start and isinstance(end, dict) and "id" in end):
        raise validation_error(f"Invalid input at inputs[{index}]: expected {{from: {{id}}, to: {{id}}, type}}.")
    type_name = item.get("type")
    return _Input(str(start["id"]), str(end["id"]), None if type_name is None else str(type_name))


def _problem(call: Call, item: _Input, kind_named: Callable[[str | None], AssociationType | None]) -> dict[str, Any]:
    """The error for an input HubSpot refuses: a missing object (either end, from first), else its type."""
    for object_type, raw in ((call.from_type, item.from_id), (call.to_type, item.to_id)):
        found = object_id(raw)
        if found is None or not call.store.has_object(object_type, found):
            return _invalid_object(call, item, object_type, raw)
    assert kind_named(item.type_name) is None
    return _invalid_type(call, item)


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
