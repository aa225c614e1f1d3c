"""target-hubassoc: each record is a desired association change, applied to HubSpot as if one by one in order."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, ClassVar, NoReturn

import click
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, FatalSyncError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import serialize_json
from singer_sdk.sinks import Sink
from typing_extensions import override

from hubassoc.api_version import DEFAULT_API_VERSION, is_labelled, parse_api_version
from hubassoc.errors import HubSpotError, mark_reported, was_reported
from hubassoc.progress import PeriodicReporter, RequestRate
from hubassoc.runtime import tune_gc
from hubassoc.settings import CONNECTION_PROPERTIES, client_from_config
from target_hubassoc.dead_letters import DeadLetterFile
from target_hubassoc.id_resolution import IdResolver
from target_hubassoc.mirror import Mirror, MirrorRefusedError
from target_hubassoc.progress import LoadProgress
from target_hubassoc.reader import NumberedSingerReader
from target_hubassoc.settings import TARGET_PROPERTIES, TargetSettings
from target_hubassoc.sinks import AssociationSink, as_received
from target_hubassoc.stream_actions import StreamActions
from target_hubassoc.termination import GracefulStop
from target_hubassoc.writer import AssociationWriter, WriterFailedError

# Failures whose message says it all; anything else is logged with its traceback.
_EXPECTED_FAILURES = (HubSpotError, FatalSyncError, InvalidInputLine, WriterFailedError, MirrorRefusedError)
_MESSAGE_CHARS = 1000  # the SDK repeats a bad line in its messages: a 10 MB line must not become 10 MB of log


class TooManyRejectedError(FatalSyncError):
    """More records were rejected than ``max_rejected_records`` allows; everything else was written."""


@dataclass(frozen=True)
class DirectSink:
    """Whether a stream's records may skip the SDK's record path, decided for the stream maps it had then."""

    maps: object  # the stream's maps when decided: new maps (a new SCHEMA) decide again
    sink: Sink | None  # None: its records go the SDK's way
    keys: frozenset[str]  # the sink's key properties, which a record must have to go direct


class TargetHubAssoc(Target):
    """Writes association records to HubSpot: create or archive, last record per association wins."""

    name = "target-hubassoc"
    package_name = "hubassoc"  # the distribution both plugins ship in, for --version and --about
    config_jsonschema = th.PropertiesList(*CONNECTION_PROPERTIES, *TARGET_PROPERTIES).to_dict()
    default_sink_class = AssociationSink
    message_reader_class = NumberedSingerReader
    # No VALIDATE_RECORDS: the writer validates what HubSpot needs and dead-letters the rest (see the sink).
    # Records skip the SDK's per-record path when it would leave them as they are (see take_record).
    direct_records: ClassVar[bool] = True
    # Records waiting longer than this are sent, as the SDK drains its sinks after 5 minutes.
    max_record_age_s: ClassVar[float] = 300.0
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Every sink's drain flushes the one shared writer: draining sinks on parallel threads (the SDK's default)
        # only adds a thread pool per drain, and a flush per sink waiting on the first one.
        self.max_parallelism = 1
        self.settings = TargetSettings.from_config(self.config)
        self.stream_actions = StreamActions(self.settings.stream_actions, self.settings.default_action)
        api_version = str(self.config.get("api_version") or DEFAULT_API_VERSION)
        if self.stream_actions.mirrors and not is_labelled(parse_api_version(api_version)):
            # Singer names streams only at their SCHEMA, but stream_actions says at start that one will mirror.
            raise ConfigValidationError("Config validation failed", errors=[
                f"stream_actions asks for a mirror, which api_version {api_version} cannot do: v3 shows only the "
                "primary company toward companies, so it cannot know what to archive. Set api_version to v4 or "
                "2026-03."], schema=self.config_jsonschema)
        try:
            self.client = client_from_config(dict(self.config))
            # An id_properties type HubSpot has no such name for: one clear line, like the credentials.
            ids = IdResolver.from_setting(self.client, self.settings.id_properties, api_version=api_version)
        except ValueError as exc:  # no credentials, or an api_url a token must not be sent to: one clear line
            raise ConfigValidationError("Config validation failed", errors=[str(exc)],
                                        schema=self.config_jsonschema) from None
        self.writer = AssociationWriter(
            self.client, DeadLetterFile(self.settings.dead_letter_path),
            batch_size=self.settings.batch_size_rows, dry_run=self.settings.dry_run,
            api_version=api_version,
            as_received=functools.partial(as_received, keep_metadata=self.settings.add_record_metadata), ids=ids,
        )
        self.mirror = Mirror(
            self.client, self.writer.api, self.writer.resolver, self.writer.dead_letters,
            batch_size=self.settings.batch_size_rows, dry_run=self.settings.dry_run,
            max_archive_fraction=float(self.settings.mirror_max_archive_fraction), as_received=self.writer.as_received,
            ids=ids,
        )
        self._finished = False
        progress = LoadProgress(self.writer.stats, RequestRate(self.client), dry_run=self.settings.dry_run,
                                resolutions=ids.stats)
        # float(): a config file's numbers arrive as Decimal, which a thread wait cannot take
        self.reporter = PeriodicReporter(float(self.settings.progress_interval), progress.lines, self.logger.info)
        self._versions_noted: set[str] = set()
        self.latest_state: Any = None  # the last STATE message's value; emitted once what came before is written
        self._state_before_mirror: Any = None  # the last STATE before a mirror record: all that may pass until then
        self._emitted_state: Any = None
        self._drained_at = time.monotonic()
        self._direct: dict[str, DirectSink] = {}  # by stream
        self.stopper: GracefulStop | None = None
        if isinstance(self.message_reader, NumberedSingerReader):
            self.message_reader.on_failure = self.stop_at_failure
            self.message_reader.on_state = self.take_state
            if self.direct_records:
                self.message_reader.on_record = self.take_record
            self.stopper = GracefulStop(self.message_reader, self.stop_on_signal)
            self.stopper.install()

    def note_activate_version(self, stream: str) -> None:
        """One info line per stream: versions are not applied, and the SDK's "not implemented" warning is not due."""
        if stream in self._versions_noted:
            return
        self._versions_noted.add(stream)
        self.logger.info(
            "stream %s: ACTIVATE_VERSION taken; target-hubassoc writes only what records say, so nothing else is "
            "removed (removals come from archive records or a non-null _sdc_deleted_at)", stream)

    @override
    def listen(self, file_input: IO[str] | None = None) -> None:
        """Read and write everything, with a progress line every ``progress_interval`` seconds meanwhile."""
        self.reporter.start()
        try:
            super().listen(file_input)
        finally:
            self.reporter.stop()

    def take_state(self, message: dict) -> None:
        """Keep a STATE message's value: the next drain emits it once every record read before it is written."""
        self.message_reader.assert_line_requires(message, requires={"value"})
        self.latest_state = message["value"]
        if not self.mirror.started:
            self._state_before_mirror = self.latest_state

    def take_record(self, message: dict, sdk_path: Callable[[dict], None]) -> None:
        """A RECORD message: given straight to its sink when the SDK's record path would leave it as it is.

        That path (stream maps, flattening, ``_sdc`` metadata, JSON-schema validation, date-time parsing) costs
        more CPU per record than the writer. With no map, no flattening and no metadata configured it changes
        nothing this target reads; then only its bookkeeping is kept. Everything else, and anything
        odd (a stream without SCHEMA, a record missing a key property), goes the SDK's way, with its errors.
        """
        sink, keys = self._direct_sink(message.get("stream"))
        record = message.get("record")
        if sink is None or type(record) is not dict or not record.keys() >= keys:
            sdk_path(message)
            return
        sink.tally_record_read()
        sink.process_record(record, {})
        sink.record_counter_metric.increment()
        if time.monotonic() - self._drained_at > self.max_record_age_s:
            self.drain_all()

    def _direct_sink(self, stream: object) -> tuple[Sink | None, frozenset[str]]:
        """The stream's sink, with its key properties, when its records may skip the SDK's record path.

        Re-checked whenever the stream's maps change (a new SCHEMA message makes new ones).
        """
        if not isinstance(stream, str):
            return None, frozenset()
        maps = self.mapper.stream_maps.get(stream)
        known = self._direct.get(stream)
        if known is not None and known.maps is maps:
            return known.sink, known.keys
        direct = (
            maps is not None and len(maps) == 1 and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == stream and not maps[0].flattening_enabled
            and not self.settings.add_record_metadata and self.sink_exists(stream)
        )
        sink = self.get_sink(stream) if direct else None
        keys = frozenset(sink.key_properties or ()) if sink is not None else frozenset()
        self._direct[stream] = DirectSink(maps, sink, keys)
        return sink, keys

    @override
    def drain_all(self, *, is_endofpipe: bool = False) -> None:
        """Send every buffered record; emit the latest STATE once they, and every record before, are written.

        The SDK emits STATE right after draining, which for a target that writes while it reads means waiting
        for the last batch's round trip at every drain. A mid-run drain only hands the STATE to a writer
        checkpoint and reading goes on; the end of input, a stop or a failure waits for every batch, then emits it.
        """
        super().drain_all(is_endofpipe=is_endofpipe)  # the sinks' part is bookkeeping: the writer has the records
        self._drained_at = time.monotonic()
        self._direct.clear()  # a drain may retire a sink whose schema changed
        # A mirror's records are written only at the end of input: no STATE read after its first one passes before.
        state = self._state_before_mirror if self.mirror.started else self.latest_state
        if is_endofpipe:
            self.writer.flush()
            self.emit_state(state)
        else:
            self.writer.checkpoint(functools.partial(self.emit_state, state))

    def emit_state(self, state: Any) -> None:
        """Write a STATE value to stdout, as Singer targets do; one equal to the last written is not repeated."""
        if state is None or state == self._emitted_state:
            return
        self._emitted_state = state
        sys.stdout.write(serialize_json(state) + "\n")
        sys.stdout.flush()

    @override
    def process_endofpipe(self) -> None:
        """Write what is left and emit the final STATE; then summarise, and fail if too much was rejected."""
        if self.stopper is not None:
            self.stopper.ending = True
        try:
            super().process_endofpipe()
        except Exception as exc:
            self.finish(exc, "the final flush")
            raise
        try:
            self.mirror.apply()  # after every other stream's records, so the mirror's desired state wins
        except Exception as exc:
            self.finish(exc, "the mirror")
            raise
        self.emit_state(self.latest_state)
        failure = self._end_of_input_failure()
        self.finish(failure, "the end of input")
        if failure is not None:
            raise failure

    def stop_on_signal(self, signum: int) -> NoReturn:
        """At a safe point after SIGTERM/SIGINT: write what was read, emit the latest STATE, summarise, exit."""
        self.logger.info("Received termination signal %d: writing the records read so far, then stopping", signum)
        try:
            self.drain_all(is_endofpipe=True)
        except Exception as exc:
            self.finish(exc, f"termination signal {signum}")
            raise SystemExit(1) from None
        self.finish(None, f"termination signal {signum}")
        raise SystemExit(0)

    def stop_at_failure(self, failure: BaseException, where: str) -> None:
        """A line could not be processed: write the records read before it (their STATE follows), then finish.

        Not after a HubSpot failure or a failed flush: HubSpot refused to go on, and another flush would only
        spend requests on the same answer. Either way no STATE passes a record that was not written.
        """
        if not isinstance(failure, (HubSpotError, WriterFailedError)):
            try:
                self.drain_all(is_endofpipe=True)
            except Exception as exc:  # reported; the line's own failure is what stops the run
                self.logger.error("target-hubassoc could not write the records read before %s: %s", where,
                                  _brief(exc))
        self.finish(failure, where)

    def finish(self, failure: BaseException | None, where: str) -> None:
        """Log why the run stopped (if it did), then the summary as the last lines; release the client. Once."""
        if self._finished:
            return
        self._finished = True
        self.reporter.stop()  # the summary is the last word
        if failure is not None:
            self.logger.error("%s", self._stop_line(failure, where),
                              exc_info=not isinstance(failure, _EXPECTED_FAILURES))
            mark_reported(failure)
        lines = self.writer.stats.summary_lines(
            self.client.stats, dry_run=self.settings.dry_run, dead_letter_path=self.settings.dead_letter_path,
        )
        if self.mirror.started:
            lines.insert(1, self.mirror.stats.summary_line(dry_run=self.settings.dry_run))
        if self.writer.ids.stats.calls:
            lines.insert(1, self.writer.ids.stats.summary_line())
        for line in lines:
            self.logger.info(line)
        self.writer.close()
        self.client.close()

    def _stop_line(self, failure: BaseException, where: str) -> str:
        """Why the run stopped: HubSpot's refusal is not the input's fault, so only an input failure names a place."""
        if isinstance(failure, (HubSpotError, WriterFailedError)):
            line = self.message_reader.line_number if isinstance(self.message_reader, NumberedSingerReader) else 0
            return f"target-hubassoc stopped: {_brief(failure)} (while writing the records read up to input line " \
                   f"{line})"
        return f"target-hubassoc stopped at {where}: {_brief(failure)}"

    def _end_of_input_failure(self) -> FatalSyncError | None:
        """What makes a run that wrote everything fail: keys that matched no stream, too many rejected records."""
        failures = [f for f in (self.stream_actions.unmatched_error(), self._too_many_rejected()) if f is not None]
        if len(failures) > 1:
            return FatalSyncError(" Also: ".join(str(f) for f in failures))
        return failures[0] if failures else None

    def _too_many_rejected(self) -> TooManyRejectedError | None:
        rejected, allowed = self.writer.stats.rejected + self.mirror.stats.rejected, self.settings.max_rejected_records
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
        tune_gc()
        try:
            super().invoke(about=about, about_format=about_format, config=config, file_input=file_input)
        except Exception as exc:
            if not was_reported(exc):
                raise
            raise click.exceptions.Exit(1) from None


def _brief(failure: BaseException) -> str:
    text = str(failure)
    return text if len(text) <= _MESSAGE_CHARS else f"{text[:_MESSAGE_CHARS]}... ({len(text)} characters)"
