"""The plugins with the SDK's per-record checks switched back on, to measure what leaving them off saves.

``python -m benchmarks.variants tap-conforming --config ...``: the tap conforming every record to its schema
(the SDK's default ``TYPE_CONFORMANCE_LEVEL``); ``target-validating``: the target validating every record
against its stream's JSON schema (the SDK's default ``get_validator``). Not shipped: benchmark-only.
"""

from __future__ import annotations

import sys

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from typing_extensions import override

from tap_hubassoc.streams import AssociationsStream, AssociationTypesStream
from tap_hubassoc.tap import TapHubAssoc
from target_hubassoc.sinks import AssociationSink
from target_hubassoc.target import TargetHubAssoc


class ConformingAssociationsStream(AssociationsStream):
    """Associations conformed to the schema record by record, as the SDK does by default."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE


class ConformingTap(TapHubAssoc):
    """tap-hubassoc with the SDK's record conformance."""

    @override
    def discover_streams(self) -> list[Stream]:
        return [AssociationTypesStream(self), ConformingAssociationsStream(self)]


class ValidatingSink(AssociationSink):
    """The shipped sink, but every record is validated against its stream's JSON schema first."""

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:  # type: ignore[override]
        return BatchSink.get_validator(self)


class ValidatingTarget(TargetHubAssoc):
    """target-hubassoc with the SDK's JSON-schema record validation (so every record takes the SDK's path)."""

    default_sink_class = ValidatingSink
    direct_records = False


VARIANTS = {"tap-conforming": ConformingTap, "target-validating": ValidatingTarget}


def main() -> None:
    """Run the named variant's CLI with the remaining arguments."""
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in VARIANTS:
        raise SystemExit(f"usage: python -m benchmarks.variants {{{','.join(VARIANTS)}}} --config CONFIG")
    sys.argv = [f"{sys.argv[0]} {name}", *sys.argv[2:]]
    VARIANTS[name].cli()


if __name__ == "__main__":
    main()
