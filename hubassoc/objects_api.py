"""The objects endpoints every API version reads through: listing a type's ids, and counting them by search."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hubassoc.client import HubSpotClient
from hubassoc.errors import HubSpotError
from hubassoc.limits import LIST_PAGE_LIMIT, SEARCH_PER_SECOND
from hubassoc.objects import parse_object_type
from hubassoc.pacing import Pacer
from hubassoc.replies import next_after_cursor


@dataclass(frozen=True)
class IdPage:
    """One page of object ids and the cursor that fetched it (None for the first), for resuming."""

    after: str | None
    ids: list[str]
    next_after: str | None


class ObjectsApi:
    """``/crm/v3/objects``: one per client, as it holds search's own limit on top of the client's window."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._search_pacer = Pacer(SEARCH_PER_SECOND, 1.0)

    def list_object_ids(self, object_type: str, after: str | None = None, *, rank: int = 0) -> Iterator[IdPage]:
        """Page through an object type's ids, 100 at a time, asking for no properties beyond the id.

        Each page's cursor comes from the previous reply: the pages are a chain, paced first (pacing.py). When
        several listings run at once, those of lower ``rank`` go first.
        """
        path = f"/crm/v3/objects/{parse_object_type(object_type).path}"
        pacer = self.client.pacer
        with pacer.chain(rank):
            while True:
                params = {"limit": LIST_PAGE_LIMIT, "archived": "false", "properties": "hs_object_id"}
                if after is not None:
                    params["after"] = after
                with self.client.chain_link(rank):
                    body = self.client.request("GET", path, params=params)
                ids = [str(result["id"]) for result in body.get("results", [])]
                next_after = next_after_cursor(body)
                with pacer.chain_paused(rank):
                    yield IdPage(after, ids, next_after)
                if next_after is None:
                    return
                after = next_after

    def count_objects(self, object_type: str) -> int:
        """How many objects of a type exist, in one call: the listing tells no total, search does."""
        path = f"/crm/v3/objects/{parse_object_type(object_type).path}/search"
        body = self.client.request("POST", path, json_body={"limit": 1, "properties": ["hs_object_id"]},
                                   also_paced_by=self._search_pacer)
        total = body.get("total") if isinstance(body, dict) else None
        if type(total) is not int or total < 0:
            raise HubSpotError("HubSpot's search reply has no total", route=f"POST {path}")
        return total
