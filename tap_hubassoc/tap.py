"""tap-hubassoc: HubSpot CRM association types and associations as Singer records."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from hubassoc.associations import AssociationsApi, associations_api
from hubassoc.client import HubSpotClient
from hubassoc.errors import HubSpotError, mark_reported, was_reported
from hubassoc.limits import READ_BATCH_LIMIT
from hubassoc.objects import ObjectType
from hubassoc.objects_api import ObjectsApi
from hubassoc.runtime import tune_gc
from hubassoc.settings import client_from_config
from hubassoc.types import PairTypes, PairTypesCache
from tap_hubassoc.output import RecordBufferingWriter
from tap_hubassoc.settings import (
    CONFIG_JSONSCHEMA,
    DEFAULT_PROGRESS_INTERVAL,
    Pair,
    config_problems,
    config_warnings,
    parse_from_ids,
    parse_pairs,
)
from tap_hubassoc.streams import AssociationsStream, AssociationTypesStream


@dataclass(frozen=True)
class Endpoints:
    """The endpoints over one client: a closed tap makes a new client, and new endpoints with it."""

    client: HubSpotClient
    objects: ObjectsApi
    associations: AssociationsApi


class TapHubAssoc(Tap):
    """HubSpot CRM associations (v3, v4 or 2026-03): the association types and every association of the pairs."""

    name = "tap-hubassoc"
    package_name = "hubassoc"
    config_jsonschema: ClassVar[dict[str, Any]] = CONFIG_JSONSCHEMA
    message_writer_class = RecordBufferingWriter  # records unflushed, each STATE flushes (see output.py)

    def __init__(self, **kwargs: Any) -> None:
        self._client: HubSpotClient | None = None
        self._endpoints: Endpoints | None = None
        self._client_lock = threading.Lock()
        self._closer: weakref.finalize | None = None
        super().__init__(**kwargs)
        if kwargs.get("validate_config", True):
            self._check_settings()

    def _check_settings(self) -> None:
        """Fail before any request when a setting cannot work (a plain-http api_url, an unknown type)."""
        problems = config_problems(self.config)
        if problems:
            raise ConfigValidationError("Config validation failed", errors=problems, schema=self.config_jsonschema)
        for warning in config_warnings(self.config):
            self.logger.warning(warning)

    # -- what the streams share -------------------------------------------------------------------------------

    @property
    def client(self) -> HubSpotClient:
        """The run's one client (one pacer, one token, one pool), made on first use, closed with the tap."""
        with self._client_lock:
            if self._client is None:
                self._client = client_from_config(dict(self.config))
                self._closer = weakref.finalize(self, self._client.close)
            return self._client

    def close(self) -> None:
        """Stop the client's worker threads now rather than when the tap is collected."""
        with self._client_lock:
            if self._closer is not None:
                self._closer()
            self._client = None

    @property
    def objects(self) -> ObjectsApi:
        """The objects endpoints (listing, search count) over the run's client."""
        return self._endpoints_of(self.client).objects

    @property
    def associations(self) -> AssociationsApi:
        """The association endpoints ``api_version`` speaks, over the run's client."""
        return self._endpoints_of(self.client).associations

    def _endpoints_of(self, client: HubSpotClient) -> Endpoints:
        with self._client_lock:
            if self._endpoints is None or self._endpoints.client is not client:
                version = str(self.config.get("api_version") or "")
                self._endpoints = Endpoints(client, ObjectsApi(client), associations_api(client, version))
            return self._endpoints

    @cached_property
    def pair_types(self) -> PairTypesCache:
        """Each pair's types, fetched once per run whichever stream asks first."""
        return PairTypesCache(self._fetch_types)

    def _fetch_types(self, from_type: ObjectType, to_type: ObjectType) -> PairTypes:
        return self.associations.types(from_type, to_type)  # over the current client, should the tap make a new one

    @cached_property
    def pairs(self) -> list[Pair]:
        """The configured pairs, canonical and each once, in configured order."""
        return parse_pairs(self.config)

    @cached_property
    def from_ids(self) -> dict[ObjectType, list[str]]:
        """Ids to read instead of listing, by from type."""
        return parse_from_ids(self.config)

    @property
    def batch_size(self) -> int:
        """Ids per batch read."""
        return int(self.config.get("batch_size") or READ_BATCH_LIMIT)

    @property
    def progress_interval(self) -> float:
        """Seconds between progress lines."""
        return float(self.config.get("progress_interval") or DEFAULT_PROGRESS_INTERVAL)

    # -- SDK hooks --------------------------------------------------------------------------------------------

    @override
    def discover_streams(self) -> list[Stream]:
        return [AssociationTypesStream(self), AssociationsStream(self)]

    @override
    def sync_all(self) -> None:
        """Sync as the SDK does; a HubSpot failure is logged with the run's API summary after it, as the last lines.

        A run that stops still says what it spent (calls, 429s, retries): that is what tells a daily limit spent by
        this run from one spent by another app.
        """
        try:
            self._plan_reads()
            super().sync_all()
        except HubSpotError as exc:
            self.logger.error("tap-hubassoc stopped: %s", exc)
            if self._client is not None:
                self._client.settle()  # other threads' requests still on the wire count too
                self.logger.info(self._client.stats.summary_line())
            mark_reported(exc)
            raise
        finally:
            self._flush_output()

    def _plan_reads(self) -> None:
        """The associations stream's read plan first: its counts and every pair's types go in one round trip."""
        stream = self.streams.get(AssociationsStream.name)
        if isinstance(stream, AssociationsStream) and stream.selected:
            stream.plan_now()

    @override
    def run_sync_dry_run(self, dry_run_record_limit: int | None = 1, streams: Iterable[Stream] | None = None) -> bool:
        try:
            return super().run_sync_dry_run(dry_run_record_limit, streams)
        finally:
            self._flush_output()

    def version_records(self, stream: str, version: int) -> None:
        """Give the stream's records from now on this table version (the SDK's records carry none)."""
        if isinstance(self.message_writer, RecordBufferingWriter):
            self.message_writer.version_records(stream, version)

    def _flush_output(self) -> None:
        """Write the records the writer still holds, whether the sync finished or failed (see output.py)."""
        if isinstance(self.message_writer, RecordBufferingWriter):
            self.message_writer.flush()

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls, *, about: bool = False, about_format: str | None = None, config: Any = None, state: Any = None,
        catalog: Any = None,
    ) -> None:
        """Run as the SDK does; a HubSpot failure ends the run with HubSpot's reason in one line, no traceback."""
        tune_gc()
        try:
            super().invoke(about=about, about_format=about_format, config=config, state=state, catalog=catalog)
        except HubSpotError as exc:
            if not was_reported(exc):
                cls.logger.error("tap-hubassoc stopped: %s", exc)
            raise click.exceptions.Exit(1) from None

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: read one pair's types and one listing page; say plainly what failed (token, scope)."""
        try:
            super().cb_test(ctx, param, value)
        except click.exceptions.Exit as done:
            if done.exit_code == 0 and value == "all":
                cls.logger.info("connection test passed: the token was accepted; the first pair's types and one "
                                "page of its objects were read")
            raise
        except (HubSpotError, ConfigValidationError) as exc:
            reasons = getattr(exc, "errors", None) or [str(exc)]
            for reason in reasons:
                cls.logger.error("connection test failed: %s", reason)
            ctx.exit(1)
