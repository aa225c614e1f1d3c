"""How HubSpot's association replies are read, whatever the API version: cursors, 207 errors, write replies.

These are rules of HubSpot as a whole: v3 and v4 (and 2026-03) page with the same ``paging.next.after``, report
per-input failures of a batch in the same 207 ``errors`` list, and name the offending ids the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from hubassoc.errors import BatchReadError
from hubassoc.limits import WRITE_BATCH_LIMIT
from hubassoc.objects import is_object_id

NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"


class WriteInput(Protocol):
    """One input of a batch write, in any API version's terms: a 207 error is matched to it by its ids."""

    @property
    def from_id(self) -> str:
        """The from object's id."""
        ...

    @property
    def to_id(self) -> str:
        """The to object's id."""
        ...


@dataclass(frozen=True)
class InputError:
    """HubSpot's reason for refusing one input of a batch (from a 207 body)."""

    input: WriteInput | None  # None: the error named no input of the batch
    category: str | None
    sub_category: str | None
    message: str
    correlation_id: str | None = None


def next_after_cursor(body: Any) -> str | None:
    """HubSpot's ``paging.next.after``, or None on the last page (an absent or empty cursor both mean that)."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after") if isinstance(body, dict) else None
    return None if after in (None, "") else str(after)


def raise_on_read_errors(body: Any, route: str) -> None:
    """NO_ASSOCIATIONS_FOUND is data ("no rows"); any other per-input error fails the read."""
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    real = [e for e in errors if isinstance(e, dict) and e.get("subCategory") != NO_ASSOCIATIONS]
    if real:
        first = real[0]
        ids = ", ".join(_context_ids(first)) or "?"
        msg = f"{len(real)} input(s) failed; first, for id(s) {ids}: {first.get('message', 'no message')}"
        raise BatchReadError(msg, status=207, category=first.get("category"),
                             sub_category=first.get("subCategory"), route=route)


def _context_ids(error: dict[str, Any]) -> list[str]:
    context = error.get("context") or {}
    return [str(v) for values in context.values() if isinstance(values, list) for v in values
            if is_object_id(v)]


def match_input_errors(body: Any, inputs: list[WriteInput]) -> list[InputError]:
    """Attach each 207 error to the inputs its ``context`` names.

    HubSpot names offending ids in ``context`` under ``fromObjectId``/``toObjectId`` or a bare ``ids`` list;
    an error whose ids match no input is still returned (input None), so nothing is silently dropped.
    """
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    if not errors:
        return []
    found: list[InputError] = []
    index = _InputIndex(inputs)
    for error in errors:
        if not isinstance(error, dict):
            continue
        context = error.get("context")
        matched = index.named_by(context) if isinstance(context, dict) else []
        fields = {"category": error.get("category"), "sub_category": error.get("subCategory"),
                  "message": str(error.get("message") or "rejected by HubSpot"),
                  "correlation_id": error.get("correlationId")}
        found += [InputError(i, **fields) for i in matched] or [InputError(None, **fields)]
    return found


class _InputIndex:
    """A batch's inputs by position, found by from id and by to id, so that each error is matched in one look."""

    def __init__(self, inputs: list[WriteInput]) -> None:
        self.inputs = inputs
        self.by_from: dict[str, list[int]] = {}
        self.by_to: dict[str, list[int]] = {}
        for position, i in enumerate(inputs):
            self.by_from.setdefault(i.from_id, []).append(position)
            self.by_to.setdefault(i.to_id, []).append(position)

    def named_by(self, context: dict[str, Any]) -> list[WriteInput]:
        """The inputs, in batch order, whose ids match every id list the context gives."""
        from_ids, to_ids, any_ids = _named_ids(context, "fromObjectId"), _named_ids(context, "toObjectId"), \
            _named_ids(context, "ids")
        if from_ids is not None:
            positions = self._positions(self.by_from, from_ids)
        elif to_ids is not None:
            positions = self._positions(self.by_to, to_ids)
        elif any_ids is not None:
            positions = self._positions(self.by_from, any_ids) | self._positions(self.by_to, any_ids)
        else:
            return []
        return [
            i for i in (self.inputs[p] for p in sorted(positions))
            if (from_ids is None or i.from_id in from_ids)
            and (to_ids is None or i.to_id in to_ids)
            and (any_ids is None or i.from_id in any_ids or i.to_id in any_ids)
        ]

    @staticmethod
    def _positions(by_id: dict[str, list[int]], ids: set[str]) -> set[int]:
        return {p for named in ids for p in by_id.get(named, ())}


def _named_ids(context: dict[str, Any], key: str) -> set[str] | None:
    values = context.get(key)
    return {str(v) for v in values} if isinstance(values, list) else None


class _WriteReply(msgspec.Struct):
    """A batch write's 2xx reply as it is read: only its ``errors``, as its ``results`` echo every input."""

    errors: list[dict[str, Any]] = []


_WRITE_REPLY = msgspec.json.Decoder(_WriteReply)


def read_write_reply(content: bytes) -> dict[str, list[dict[str, Any]]]:
    """A batch write's 2xx body with ``errors`` alone.

    A body of any other shape (no JSON object, ``errors`` not a list of objects) raises
    ``msgspec.ValidationError``, a ``DecodeError``: the reply is malformed and retried, as truncated JSON is.
    Read as "no errors", it would count refused records as written.
    """
    return {"errors": _WRITE_REPLY.decode(content).errors}


def inputs_to_send(endpoint: str, inputs: list[Any]) -> bool:
    """Whether a batch write has inputs to send; more than HubSpot takes in one call is a caller's error."""
    if len(inputs) > WRITE_BATCH_LIMIT:
        msg = f"{endpoint} takes at most {WRITE_BATCH_LIMIT} inputs, got {len(inputs)}"
        raise ValueError(msg)
    return bool(inputs)
