"""The v4 / 2026-03 read routes: the labels of a pair, and batch read with labels and per-object paging.

Unlike v3, batch read shows every association (all companies, not only the primary), names each type by
category, type id and label, sends ``toObjectId`` as a JSON number, and honours an ``after`` in its inputs: an
object with more than one page of associated objects is continued by sending ``{"id", "after"}`` again. The
traps v3 has and v4 keeps are kept too: results out of input order, and ids without associations reported
as NO_ASSOCIATIONS_FOUND errors in a 207.
"""

from __future__ import annotations

from typing import Any

from hubassoc.sandbox import paging
from hubassoc.sandbox.call import Call, batch_response, object_id, read_inputs
from hubassoc.sandbox.reads import BATCH_READ_PAGE, READ_INPUT_LIMIT, _invalid_id, _no_associations, _shuffled
from hubassoc.sandbox.store import AssociationType
from hubassoc.sandbox.wire import Response, timestamp, validation_error


def list_labels(call: Call) -> Response:
    """``GET .../{from}/{to}/labels``: every type of the pair, HubSpot's (label None or Primary) and custom."""
    return Response(200, {"results": [_spec(t) for t in call.store.types(call.from_type, call.to_type)]})


def _spec(kind: AssociationType) -> dict[str, Any]:
    return {"category": kind.category, "typeId": kind.type_id, "label": kind.label}


def batch_read(call: Call) -> Response:
    """``POST .../batch/read``: per distinct input, up to 100 associated objects after its ``after``."""
    started = timestamp()
    inputs = [_input(item) for item in read_inputs(call, READ_INPUT_LIMIT)]
    kinds = {t.type_id: t for t in call.store.types(call.from_type, call.to_type)}
    results, errors = [], []
    for raw, after in dict.fromkeys(inputs):
        found = object_id(raw)
        targets = {} if found is None else _by_target(call, found)
        if found is None:
            errors.append(_invalid_id(raw))
        elif not targets:
            errors.append(_no_associations(call, raw))
        else:
            results.append(_result(found, targets, after, kinds))
    return batch_response(_shuffled(results) if call.config.shuffle_results else results, errors, started)


def _input(item: Any) -> tuple[str, paging.Entry | None]:
    """An input's id and the entry its ``after`` continues after (None: from the start)."""
    if not isinstance(item, dict) or "id" not in item:
        raise validation_error("Invalid input: every input must be an object with an id (and optionally after).")
    after = item.get("after")
    if after in (None, ""):
        return str(item["id"]), None
    entry = paging.decode(str(after))
    if entry is None:
        raise validation_error(f"Invalid after: {after!r} is not a paging cursor.")
    return str(item["id"]), entry


def _by_target(call: Call, from_id: int) -> dict[int, list[int]]:
    """An object's associations grouped by associated object (ascending), each with its type ids."""
    grouped: dict[int, list[int]] = {}
    for to_id, type_id in call.store.targets(call.from_type, from_id, call.to_type):
        grouped.setdefault(to_id, []).append(type_id)
    return grouped


def _result(
    from_id: int, targets: dict[int, list[int]], after: paging.Entry | None, kinds: dict[int, AssociationType],
) -> dict[str, Any]:
    # A page holds associated objects, each with all its types: cursors name the last object (type 0).
    chunk, cursor = paging.page([(to_id, 0) for to_id in targets], after, BATCH_READ_PAGE)
    to = [{"toObjectId": to_id, "associationTypes": [_spec(kinds[t]) for t in targets[to_id]]} for to_id, _ in chunk]
    result: dict[str, Any] = {"from": {"id": str(from_id)}, "to": to}
    if cursor is not None:
        result["paging"] = {"next": {"after": cursor}}
    return result
