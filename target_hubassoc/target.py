"""target-hubassoc: each record is a desired association change, applied to HubSpot as if one by one in order."""

from __future__ import annotations

from typing import IO, Any, ClassVar

import click
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalSyncError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from hubassoc.dead_letters import DeadLetterFile
from hubassoc.errors import HubSpotError
from hubassoc.settings import CONNECTION_PROPERTIES, client_from_config
from hubassoc.writer import AssociationWriter, WriterFailedError
from target_hubassoc.reader import NumberedSingerReader
from target_hubassoc.settings import TARGET_PROPERTIES, TargetSettings
from target_hubassoc.sinks import AssociationSink

_REPORTED = "hubassoc_reported"  # set on an exception once the run has logged it and the summary
# Failures whose message says it all; anything else is logged with its traceback.
_EXPECTED_FAILURES = (HubSpotError, FatalSyncError, InvalidInputLine, WriterFailedError)


class TooManyRejectedError(FatalSyncError):
    """More records were rejected than ``max_rejected_records`` allows; everything else was written."""


class TargetHubAssoc(Target):
    """Writes association records to HubSpot: create or archive, last record per association wins."""

    name = "target-hubassoc"
    package_name = "hubassoc"  # the distribution both plugins ship in, for --version and --about
    config_jsonschema = th.PropertiesList(*CONNECTION_PROPERTIES, *TARGET_PROPERTIES).to_dict()
    default_sink_class = AssociationSink
    message_reader_class = NumberedSingerReader
    # No VALIDATE_RECORDS: the writer validates what HubSpot needs and dead-letters the rest (see the sink).
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = TargetSettings.from_config(self.config)
        self.client = client_from_config(dict(self.config))
        self.writer = AssociationWriter(
            self.client, DeadLetterFile(self.settings.dead_letter_path),
            batch_size=self.settings.batch_size_rows, dry_run=self.settings.dry_run,
        )
        self._finished = False
        if isinstance(self.message_reader, NumberedSingerReader):
            self.message_reader.on_failure = self.finish

    @override
    def process_endofpipe(self) -> None:
        """Write what is left and emit the final STATE; then summarise, and fail if too much was rejected."""
        try:
            super().process_endofpipe()
        except Exception as exc:
            self.finish(exc, "the final flush")
            raise
        failure = self._too_many_rejected()
        self.finish(failure, "the end of input")
        if failure is not None:
            raise failure

    def finish(self, failure: BaseException | None, where: str) -> None:
        """Log why the run stopped (if it did), then the summary as the last lines; release the client. Once."""
        if self._finished:
            return
        self._finished = True
        if failure is not None:
            self.logger.error("target-hubassoc stopped at %s: %s", where, failure,
                              exc_info=not isinstance(failure, _EXPECTED_FAILURES))
            setattr(failure, _REPORTED, True)
        lines = self.writer.stats.summary_lines(
            self.client.stats, dry_run=self.settings.dry_run, dead_letter_path=self.settings.dead_letter_path,
        )
        for line in lines:
            self.logger.info(line)
        self.writer.close()
        self.client.close()

    def _too_many_rejected(self) -> TooManyRejectedError | None:
        rejected, allowed = self.writer.stats.rejected, self.settings.max_rejected_records
        if rejected <= allowed:
            return None
        return TooManyRejectedError(
            f"{rejected} records were rejected, more than max_rejected_records ({allowed}); everything else "
            f"was written and the final STATE emitted. See {self.settings.dead_letter_path} for each reason."
        )

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls, *, about: bool = False, about_format: str | None = None, config: Any = None,
        file_input: IO[str] | None = None,
    ) -> None:
        """Run as the SDK does; a failure the run already logged exits 1 quietly, so the summary stays last."""
        try:
            super().invoke(about=about, about_format=about_format, config=config, file_input=file_input)
        except Exception as exc:
            if not getattr(exc, _REPORTED, False):
                raise
            raise click.exceptions.Exit(1) from None
