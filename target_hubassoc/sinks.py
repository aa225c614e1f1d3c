"""One thin sink per stream: every record goes to the run's one shared writer, which does the HubSpot work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from singer_sdk.helpers.conform import DatetimeErrorTreatmentEnum
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_hubassoc.mirror import MIRROR, Mirror
from target_hubassoc.settings import TargetSettings
from target_hubassoc.stream_actions import StreamActions
from target_hubassoc.writer import Action, AssociationWriter

if TYPE_CHECKING:
    from singer_sdk import Target

DELETED_AT = "_sdc_deleted_at"
SDC_PREFIX = "_sdc_"


class WriterOwner(Protocol):
    """What a sink needs from its target: the shared writer, the settings and each stream's action."""

    writer: AssociationWriter
    mirror: Mirror
    settings: TargetSettings
    stream_actions: StreamActions

    def drain_all(self, *, is_endofpipe: bool = False) -> None:
        """Drain every sink, then emit the latest STATE."""

    def note_activate_version(self, stream: str) -> None:
        """Say once per stream what an ACTIVATE_VERSION means here."""


class AssociationSink(BatchSink):
    """Hands each record, with its stream and action, to the shared writer; a drain flushes that writer.

    The writer is shared by all streams so that, for one association, the last record wins across streams.
    """

    def __init__(
        self, target: Target, stream_name: str, schema: dict, key_properties: Sequence[str] | None,
    ) -> None:
        owner = cast("WriterOwner", target)
        self.writer = owner.writer
        self.mirror = owner.mirror
        self.settings = owner.settings
        self._drain_target = owner.drain_all
        self._note_activate_version = owner.note_activate_version
        super().__init__(target, stream_name, schema, key_properties)
        # The SDK parses every date-time field of every record against this schema. The writer reads none of
        # them but _sdc_deleted_at (only whether it is null), so that is all the sink keeps: parsing the rest is
        # pure cost, and dead letters now show them as they came.
        self.schema = {"type": "object", "additionalProperties": True,
                       "properties": {DELETED_AT: self.schema["properties"][DELETED_AT]}}
        # Asked for every record, and fixed for the run: settings are read once.
        mode = owner.stream_actions.for_stream(stream_name).action
        self._mirrors = mode == MIRROR
        self._action: Action = "create" if mode == MIRROR else mode
        self._buffer_limit = self.settings.buffer_limit

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Always on, so ``_sdc_deleted_at`` reaches ``process_record`` whatever ``add_record_metadata`` says.

        With it off the SDK strips every ``_sdc_*`` field before any sink hook sees the record; the setting
        only decides whether the metadata stays on dead-letter records (see ``as_received``).
        """
        return True

    @property
    @override
    def datetime_error_treatment(self) -> DatetimeErrorTreatmentEnum:
        """An unparseable ``_sdc_deleted_at`` is still non-null (so: archive); stopping the run would be worse."""
        return DatetimeErrorTreatmentEnum.MAX

    @property
    @override
    def max_size(self) -> int:
        """Enough records for every worker to carry a full batch, so the batches go out concurrently."""
        return self._buffer_limit

    @override
    def get_validator(self) -> None:
        """No JSON-schema validation: the writer checks what HubSpot needs and dead-letters the rest.

        Other fields are ignored, so a record that breaks its stream's schema elsewhere is still written, and
        one that cannot be written (a missing id, say) is rejected alone instead of stopping the run.
        """
        return

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Give the record to the writer; when the shared buffer is full, drain everything (and emit STATE)."""
        if self._mirrors:  # applied at the end of input, after every other stream's records
            self.mirror.add(record, self.stream_name)
            return
        action: Action = self._action if record.get(DELETED_AT) is None else "archive"
        self.writer.add(record, self.stream_name, action)  # shown in a dead letter through ``as_received``
        if self.writer.waiting >= self._buffer_limit:
            # drain_all, not the SDK's drain of this one sink: the writer holds every stream's records, and the
            # target's drain hands the latest STATE to a writer checkpoint, emitted once they are written.
            self._drain_target()

    @override
    def activate_version(self, new_version: int) -> None:
        """Taken quietly: HubSpot has no table versions, and removing what a record did not name would be a guess."""
        self._note_activate_version(self.stream_name)

    @override
    def process_batch(self, context: dict) -> None:
        """Nothing to do here: the writer has every record, and the target's ``drain_all`` sends them.

        Only the target knows whether a drain must wait for HubSpot (the end of input) or not (a checkpoint).
        """



def as_received(record: dict[str, Any], *, keep_metadata: bool) -> dict[str, Any]:
    """A record as it came in, for its dead letter: SDK metadata only when ``add_record_metadata`` is on.

    The writer applies it to rejected records only, not to every record on its way in.
    """
    if keep_metadata:
        return record
    deleted = record.get(DELETED_AT) is not None
    return {k: v for k, v in record.items() if not k.startswith(SDC_PREFIX) or (k == DELETED_AT and deleted)}
