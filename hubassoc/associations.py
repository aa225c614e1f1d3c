"""One interface to a pair's association endpoints, whatever the API version, chosen once from ``api_version``.

Callers (the tap's streams, the target's writer) hold an :class:`AssociationsApi` and never ask which version
it speaks: v3 (:mod:`hubassoc.associations_v3`) or v4 and 2026-03 (:mod:`hubassoc.associations_v4`).
"""

from __future__ import annotations

from typing import Any, Protocol

from hubassoc.api_version import is_labelled, parse_api_version
from hubassoc.associations_v3 import AssociationsV3
from hubassoc.associations_v4 import AssociationsV4
from hubassoc.client import HubSpotClient
from hubassoc.objects import ObjectType
from hubassoc.replies import InputError, WriteInput
from hubassoc.types import AssociationType, PairTypes


class AssociationsApi(Protocol):
    """A pair's types, its associations read as records, and batch writes of inputs made by ``write_input``."""

    def types(self, from_type: ObjectType, to_type: ObjectType) -> PairTypes:
        """The pair's types in this account (one request; cache them: :class:`hubassoc.types.PairTypesCache`)."""
        ...

    def records(self, types: PairTypes, ids: list[str]) -> list[dict[str, Any]]:
        """Every association of ``ids`` toward the pair's to type, as association records, in input order."""
        ...

    def write_input(self, kind: AssociationType | None, from_id: str, to_id: str) -> WriteInput:
        """The batch input that writes ``kind`` (a record's type, or None for none) between two objects."""
        ...

    def batch_create(self, from_type: str, to_type: str, inputs: list[Any]) -> list[InputError]:
        """Create associations; returns the inputs HubSpot refused."""
        ...

    def batch_archive(self, from_type: str, to_type: str, inputs: list[Any]) -> list[InputError]:
        """Archive associations; returns the inputs HubSpot refused."""
        ...


def associations_api(client: HubSpotClient, api_version: str) -> AssociationsApi:
    """The endpoints ``api_version`` speaks, over ``client``'s one transport."""
    version = parse_api_version(api_version)
    return AssociationsV4(client, version) if is_labelled(version) else AssociationsV3(client)
