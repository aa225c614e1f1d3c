"""The v4 / 2026-03 write routes: labels, typed create, default create, and the two archives.

As in v3, writes are idempotent (creating what exists and archiving what does not are not errors), and a
create input naming a missing object or a type the pair lacks is refused alone in a 207 while the rest are
written. Types travel as ``{"associationCategory", "associationTypeId"}``; the category must be the type's.
The default association of a pair is its ordinary (unlabeled, never primary) HubSpot-defined type.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from hubassoc.sandbox.call import Call, batch_response, object_id, read_inputs
from hubassoc.sandbox.store import AssociationType
from hubassoc.sandbox.wire import Response, json_body, timestamp, validation_error
from hubassoc.sandbox.writes import WRITE_INPUT_LIMIT, _context, _invalid_object


class _Input(NamedTuple):
    """One create or archive input; ``types`` are (category, type id) pairs (none for a default create)."""

    from_id: str
    to_id: str
    types: tuple[tuple[str, int], ...] = ()


def create_label(call: Call) -> Response:
    """``POST .../labels`` ``{"label", "name", "inverseLabel"?}``: a USER_DEFINED type and its inverse."""
    body = json_body(call.request)
    fields = body if isinstance(body, dict) else {}
    label, name, inverse = fields.get("label"), fields.get("name"), fields.get("inverseLabel")
    if not all(isinstance(v, str) and v.strip() for v in (label, name)) or not isinstance(inverse, (str, type(None))):
        raise validation_error("Invalid input: a label needs a non-empty label and name (inverseLabel optional).")
    type_id, inverse_id = call.store.add_label(call.from_type, call.to_type, label, inverse or None, name)
    made = [call.store.type_by_id(call.from_type, call.to_type, type_id)]
    if inverse_id != type_id:
        made.append(call.store.type_by_id(call.to_type, call.from_type, inverse_id))
    return Response(200, {"results": [
        {"category": t.category, "typeId": t.type_id, "label": t.label} for t in made if t is not None]})


def batch_create(call: Call) -> Response:
    """``POST .../batch/create``: 201 listing, per input, the labels now between the two objects."""
    started = timestamp()
    results, errors = [], []
    for item in _inputs(call, typed=True):
        problem = _missing_object(call, item) or _invalid_types(call, item)
        if problem is not None:
            errors.append(problem)
            continue
        for _, type_id in item.types:
            call.store.associate(call.from_type, int(item.from_id), call.to_type, int(item.to_id), type_id)
        results.append(_labels_between(call, item))
    return batch_response(results, errors, started, ok_status=201)


def associate_default(call: Call) -> Response:
    """``POST .../batch/associate/default``: 200 listing both directions of each default association."""
    started = timestamp()
    results: list[dict[str, Any]] = []
    errors = []
    for item in _inputs(call, typed=False):
        problem = _missing_object(call, item)
        if problem is not None:
            errors.append(problem)
            continue
        kind = call.store.ordinary_type(call.from_type, call.to_type)
        call.store.associate(call.from_type, int(item.from_id), call.to_type, int(item.to_id), kind.type_id)
        inverse = call.store.type_by_id(call.to_type, call.from_type, kind.inverse_id)
        assert inverse is not None
        results += [_spec_result(item.from_id, item.to_id, kind), _spec_result(item.to_id, item.from_id, inverse)]
    return batch_response(results, errors, started)


def labels_archive(call: Call) -> Response:
    """``POST .../batch/labels/archive``: 204; only the named types go (absent ones are ignored)."""
    for item in _inputs(call, typed=True):
        from_id, to_id = object_id(item.from_id), object_id(item.to_id)
        if from_id is None or to_id is None:
            continue
        for _, type_id in item.types:
            call.store.archive(call.from_type, from_id, call.to_type, to_id, type_id)
    return Response(204)


def batch_archive(call: Call) -> Response:
    """``POST .../batch/archive`` ``{"inputs": [{"from": {"id"}, "to": [{"id"}]}]}``: 204; every type goes."""
    for index, item in enumerate(read_inputs(call, WRITE_INPUT_LIMIT)):
        from_raw, to_raws = _archive_input(item, index)
        from_id = object_id(from_raw)
        wanted = {object_id(raw) for raw in to_raws} - {None}
        if from_id is None:
            continue
        for to_id, type_id in call.store.targets(call.from_type, from_id, call.to_type):
            if to_id in wanted:
                call.store.archive(call.from_type, from_id, call.to_type, to_id, type_id)
    return Response(204)


def _archive_input(item: Any, index: int) -> tuple[str, list[str]]:
    source = item.get("from") if isinstance(item, dict) else None
    targets = item.get("to") if isinstance(item, dict) else None
    if not isinstance(source, dict) or "id" not in source or not isinstance(targets, list) \
            or not all(isinstance(t, dict) and "id" in t for t in targets):
        raise validation_error(f"Invalid input at inputs[{index}]: expected {{from: {{id}}, to: [{{id}}]}}.")
    return str(source["id"]), [str(t["id"]) for t in targets]


def _inputs(call: Call, *, typed: bool) -> list[_Input]:
    return [_parse(item, index, typed=typed) for index, item in enumerate(read_inputs(call, WRITE_INPUT_LIMIT))]


def _parse(item: Any, index: int, *, typed: bool) -> _Input:
    ends = [item.get(side) if isinstance(item, dict) else None for side in ("from", "to")]
    raw_types = item.get("types") if isinstance(item, dict) else None
    shape = "{from: {id}, to: {id}, types: [{associationCategory, associationTypeId}]}" if typed \
        else "{from: {id}, to: {id}}"
    if not all(isinstance(end, dict) and "id" in end for end in ends) or (typed and not _types_ok(raw_types)):
        raise validation_error(f"Invalid input at inputs[{index}]: expected {shape}.")
    types = tuple((str(t["associationCategory"]), int(t["associationTypeId"])) for t in raw_types or ()) \
        if typed else ()
    return _Input(str(ends[0]["id"]), str(ends[1]["id"]), types)


def _types_ok(raw: Any) -> bool:
    return isinstance(raw, list) and bool(raw) and all(
        isinstance(t, dict) and isinstance(t.get("associationCategory"), str)
        and object_id(t.get("associationTypeId")) is not None for t in raw)


def _missing_object(call: Call, item: _Input) -> dict[str, Any] | None:
    for object_type, raw in ((call.from_type, item.from_id), (call.to_type, item.to_id)):
        found = object_id(raw)
        if found is None or not call.store.has_object(object_type, found):
            return _invalid_object(call, item, object_type, raw)
    return None


def _invalid_types(call: Call, item: _Input) -> dict[str, Any] | None:
    """The error when a type is not the pair's, or is given with another category than its own."""
    for category, type_id in item.types:
        kind = call.store.type_by_id(call.from_type, call.to_type, type_id)
        if kind is None or kind.category != category:
            pair = f"{call.from_type.singular} to {call.to_type.singular}"
            context = _context(call, item, offending=[item.from_id, item.to_id])
            if call.config.error_context == "pair":
                context["associationTypeId"] = [str(type_id)]
            return {
                "status": "error", "category": "VALIDATION_ERROR",
                "subCategory": "crm.associations.INVALID_ASSOCIATION_TYPE",
                "message": f"{category} {type_id} is not a valid association type from {pair}.",
                "context": context,
            }
    return None


def _labels_between(call: Call, item: _Input) -> dict[str, Any]:
    """HubSpot's create result: the two objects (ids as numbers, types by id) and the labels between them."""
    from_id, to_id = int(item.from_id), int(item.to_id)
    kinds = {t.type_id: t for t in call.store.types(call.from_type, call.to_type)}
    labels = [kinds[t].label for other, t in call.store.targets(call.from_type, from_id, call.to_type)
              if other == to_id and kinds[t].label is not None]
    return {"fromObjectTypeId": call.from_type.path, "fromObjectId": from_id,
            "toObjectTypeId": call.to_type.path, "toObjectId": to_id, "labels": labels}


def _spec_result(from_id: str, to_id: str, kind: AssociationType) -> dict[str, Any]:
    return {"from": {"id": from_id}, "to": {"id": to_id},
            "associationSpec": {"associationCategory": kind.category, "associationTypeId": kind.type_id}}
