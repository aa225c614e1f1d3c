"""The association record: the tap's output and the target's input, one schema for both."""

from __future__ import annotations

from typing import NamedTuple

from singer_sdk import typing as th

ASSOCIATION_KEY = ("from_object_type", "from_id", "to_object_type", "to_id", "association_type_id")

ASSOCIATION_SCHEMA = th.PropertiesList(
    th.Property("from_object_type", th.StringType, required=True,
                description="Canonical lowercase plural name (contacts) or custom object type id (2-123456)."),
    th.Property("from_id", th.StringType, required=True, description="Object id: digits, may exceed 32 bits."),
    th.Property("to_object_type", th.StringType, required=True),
    th.Property("to_id", th.StringType, required=True),
    th.Property("association_type_id", th.IntegerType, required=True, description="Numeric type id (1, 279, ...)."),
    th.Property("association_type", th.StringType, description="v3 type name where known."),
    th.Property("association_category", th.StringType,
                description="HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED where known."),
    th.Property("association_label", th.StringType, description="Label where known (v3 has none)."),
).to_dict()

ASSOCIATION_TYPE_KEY = ("from_object_type", "to_object_type", "association_type_id")

ASSOCIATION_TYPE_SCHEMA = th.PropertiesList(
    th.Property("from_object_type", th.StringType, required=True),
    th.Property("to_object_type", th.StringType, required=True),
    th.Property("association_type_id", th.IntegerType, required=True),
    th.Property("association_type", th.StringType),
    th.Property("association_category", th.StringType),
    th.Property("association_label", th.StringType),
).to_dict()


class AssociationKey(NamedTuple):
    """What identifies one association: for one key, the last record a target sees wins."""

    from_object_type: str
    from_id: str
    to_object_type: str
    to_id: str
    association_type_id: int
