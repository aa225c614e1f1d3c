"""The read routes: objects listing, types, v3 batch read and the per-object associations endpoint.

These reproduce HubSpot's traps on purpose: batch read results out of input order, ids without
associations reported as 207 errors, 100 entries per object then a cursor only the per-object endpoint
honours, and only the primary company toward companies.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from hubassoc.limits import (
    BATCH_READ_PAGE,
    LIST_PAGE_LIMIT,
    OBJECTS_READ_LIMIT,
    PER_OBJECT_PAGE_LIMIT,
    READ_BATCH_LIMIT,
    SEARCH_MAX_RESULTS,
    SEARCH_PAGE_LIMIT,
)
from hubassoc.objects import ObjectType
from hubassoc.sandbox import paging
from hubassoc.sandbox.call import Call, batch_response, object_id, read_inputs
from hubassoc.sandbox.store import PRIMARY_TARGETS, Store
from hubassoc.sandbox.wire import Request, Response, json_body, timestamp, validation_error

OBJECTS_DEFAULT_LIMIT = 10
OBJECTS_MAX_LIMIT = LIST_PAGE_LIMIT
ASSOCIATIONS_MAX_LIMIT = PER_OBJECT_PAGE_LIMIT  # also the per-object endpoint's default
READ_INPUT_LIMIT = READ_BATCH_LIMIT
SEARCH_DEFAULT_LIMIT = 10
CREATED_AT = "2024-01-01T00:00:00.000Z"  # seeded objects all claim one creation time


def list_objects(call: Call) -> Response:
    """``GET /crm/v3/objects/{type}``: ids ascending; ``after`` is the id the next page starts at."""
    limit = _limit(call.request, OBJECTS_DEFAULT_LIMIT, OBJECTS_MAX_LIMIT)
    after = call.request.param("after")
    first = None if after is None else object_id(after)
    if after is not None and first is None:
        raise validation_error(f"Invalid after: {after!r} is not an object id.")
    if call.request.param("archived") == "true":
        return Response(200, {"results": []})  # nothing in the sandbox is archived
    ids, following = call.store.object_page(call.from_type, first, limit)
    body: dict[str, Any] = {"results": [_object(i) for i in ids]}
    if following is not None:
        query = urlencode({"after": str(following), "limit": limit})
        link = f"{call.base_url}/crm/v3/objects/{quote(call.route.params['from'])}?{query}"
        body["paging"] = {"next": {"after": str(following), "link": link}}
    return Response(200, body)


def search_objects(call: Call) -> Response:
    """``POST /crm/v3/objects/{type}/search`` without filters: every object, ids ascending, and the ``total``.

    HubSpot pages search 200 at a time and stops at 10,000 results per query; ``after`` is an offset.
    Filters, sorts and a query are not modelled: a body with any of them is refused, not answered wrongly.
    """
    body = json_body(call.request)
    if not isinstance(body, dict) or any(body.get(k) for k in ("filterGroups", "filters", "sorts", "query")):
        raise validation_error("The sandbox searches without filterGroups, sorts or query.")
    limit, offset = body.get("limit", SEARCH_DEFAULT_LIMIT), body.get("after", "0")
    if type(limit) is not int or not 0 < limit <= SEARCH_PAGE_LIMIT:
        raise validation_error(f"Invalid limit: {limit!r}; it must be between 1 and {SEARCH_PAGE_LIMIT}.")
    if not str(offset).isdigit() or int(offset) + limit > SEARCH_MAX_RESULTS:
        raise validation_error(f"Invalid after: {offset!r}; search returns at most {SEARCH_MAX_RESULTS} results.")
    ids = call.store.object_ids(call.from_type)
    start = int(offset)
    page: dict[str, Any] = {"total": len(ids), "results": [_object(i) for i in ids[start:start + limit]]}
    following = start + limit
    if following < min(len(ids), SEARCH_MAX_RESULTS):
        page["paging"] = {"next": {"after": str(following)}}
    return Response(200, page)


def read_objects(call: Call) -> Response:
    """``POST /crm/v3/objects/{type}/batch/read``: objects by record id, or by a unique ``idProperty``.

    At most 100 inputs; results out of input order (when shuffling is on); values with no object come back in
    one 207 OBJECT_NOT_FOUND error listing them in ``context.ids``; a property that is not unique is a 400.
    """
    started = timestamp()
    body = json_body(call.request)
    inputs = read_inputs(call, OBJECTS_READ_LIMIT)
    id_property = body.get("idProperty")
    asked = body.get("properties") or []
    if id_property is not None and not call.store.is_unique_property(call.from_type, str(id_property)):
        raise validation_error(
            f"Property {id_property!r} is not a unique identifier of {call.from_type.name}: idProperty must name "
            "a property with unique values.", subCategory="crm.objects.PROPERTY_NOT_UNIQUE")
    results, missing = [], []
    for value in dict.fromkeys(_input_id(item) for item in inputs):
        found = object_id(value) if id_property is None else call.store.find_by_property(
            call.from_type, str(id_property), value)
        if found is None or not call.store.has_object(call.from_type, found):
            missing.append(value)
            continue
        stored = call.store.properties(call.from_type, found)
        result = _object(found)
        shown = result["properties"]
        shown.update({p: stored.get(p, shown.get(p)) for p in asked if isinstance(p, str)})
        results.append(result)
    errors = [] if not missing else [{
        "status": "error", "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {call.from_type.singular.upper()} objects, they may be deleted or not "
                   "exist. Check that ids are valid.",
        "context": {"ids": missing}, "links": {},
    }]
    shuffled = _shuffled(results, lambda r: r["id"]) if call.config.shuffle_results else results
    return batch_response(shuffled, errors, started)


def _object(object_id: int) -> dict[str, Any]:
    text = str(object_id)
    return {"id": text, "properties": {"hs_object_id": text}, "createdAt": CREATED_AT, "updatedAt": CREATED_AT,
            "archived": False}


def list_types(call: Call) -> Response:
    """``GET /crm/v3/associations/{from}/{to}/types``: defaults and custom labels, ids as strings."""
    types = call.store.types(call.from_type, call.to_type)
    return Response(200, {"results": [{"id": str(t.type_id), "name": t.name} for t in types]})


def batch_read(call: Call) -> Response:
    """``POST .../batch/read``: per distinct id, its first 100 entries; an ``after`` in the inputs is ignored."""
    started = timestamp()
    inputs = read_inputs(call, READ_INPUT_LIMIT)
    names = _names(call)
    results, errors = [], []
    ids = dict.fromkeys(_input_id(item) for item in inputs)
    with call.store.batch():
        for raw in ids:
            found = object_id(raw)
            entries = [] if found is None else visible(call.store, call.from_type, found, call.to_type)
            if found is None:
                errors.append(_invalid_id(raw))
            elif not entries:
                errors.append(_no_associations(call, raw))
            else:
                results.append(_batch_result(call, found, entries, names))
    return batch_response(_shuffled(results) if call.config.shuffle_results else results, errors, started)


def _input_id(item: Any) -> str:
    if not isinstance(item, dict) or "id" not in item:
        raise validation_error("Invalid input: every input must be an object with an id.")
    return str(item["id"])


def _batch_result(call: Call, from_id: int, entries: list[paging.Entry], names: dict[int, str]) -> dict[str, Any]:
    chunk, cursor = paging.page(entries, None, BATCH_READ_PAGE)
    result: dict[str, Any] = {"from": {"id": str(from_id)}, "to": _entries(chunk, names)}
    if cursor is not None:
        result["paging"] = {"next": {"after": cursor, "link": _object_link(call, from_id, cursor)}}
    return result


def object_associations(call: Call) -> Response:
    """``GET /crm/v3/objects/{from}/{id}/associations/{to}``: continues any cursor this sandbox gave out."""
    raw = call.route.params["id"]
    from_id = object_id(raw)
    if from_id is None:
        raise validation_error(f"Invalid object id: {raw!r}.")
    limit = _limit(call.request, ASSOCIATIONS_MAX_LIMIT, ASSOCIATIONS_MAX_LIMIT)
    after_text = call.request.param("after")
    after = None if after_text is None else paging.decode(after_text)
    if after_text is not None and after is None:
        raise validation_error(f"Invalid after: {after_text!r} is not a paging cursor.")
    entries = visible(call.store, call.from_type, from_id, call.to_type)
    chunk, cursor = paging.page(entries, after, limit)
    body: dict[str, Any] = {"results": _entries(chunk, _names(call))}
    if cursor is not None:
        body["paging"] = {"next": {"after": cursor, "link": _object_link(call, from_id, cursor)}}
    return Response(200, body)


def visible(store: Store, from_type: ObjectType, from_id: int, to_type: ObjectType) -> list[paging.Entry]:
    """What v3 shows of an object's associations: toward companies, only those with its primary company."""
    entries = store.targets(from_type, from_id, to_type)
    primary = store.primary_type(from_type, to_type)
    if to_type.name not in PRIMARY_TARGETS or primary is None:
        return entries
    primaries = {to_id for to_id, type_id in entries if type_id == primary.type_id}
    return [entry for entry in entries if entry[0] in primaries]


def _names(call: Call) -> dict[int, str]:
    return {t.type_id: t.name for t in call.store.types(call.from_type, call.to_type)}


def _entries(chunk: list[paging.Entry], names: dict[int, str]) -> list[dict[str, str]]:
    return [{"id": str(to_id), "type": names[type_id]} for to_id, type_id in chunk]


def _object_link(call: Call, from_id: int, cursor: str) -> str:
    path = f"/crm/v3/objects/{call.from_type.path}/{from_id}/associations/{call.to_type.path}"
    return f"{call.base_url}{path}?after={cursor}"


def _limit(request: Request, default: int, maximum: int) -> int:
    text = request.param("limit")
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise validation_error(f"Invalid limit: {text!r}; it must be an integer from 1 to {maximum}.")
    return int(text)


def _invalid_id(raw: str) -> dict[str, Any]:
    return {"status": "error", "category": "VALIDATION_ERROR", "message": f"Invalid object id: {raw!r}.",
            "context": {"ids": [raw]}, "links": {}}


def _no_associations(call: Call, raw: str) -> dict[str, Any]:
    a, b = call.from_type.singular, call.to_type.singular
    return {
        "status": "error", "category": "OBJECT_NOT_FOUND", "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": f"No {b} is associated with {a} {raw}.",
        "context": {"fromObjectId": [raw], "fromObjectType": [a], "toObjectType": [b]}, "links": {},
    }


def _shuffled(
    results: list[dict[str, Any]], result_id: Callable[[dict[str, Any]], str] = lambda r: r["from"]["id"],
) -> list[dict[str, Any]]:
    """A deterministic permutation of the results, never input order when there are two or more."""
    if len(results) < 2:
        return results
    ids = ",".join(result_id(r) for r in results)
    order = list(range(len(results)))
    random.Random(zlib.crc32(ids.encode())).shuffle(order)  # noqa: S311 - ordering, not security
    if order == sorted(order):
        order = order[1:] + order[:1]
    return [results[i] for i in order]
