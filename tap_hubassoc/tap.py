"""tap-hubassoc: HubSpot CRM association types and associations as Singer records."""

from __future__ import annotations

import threading
import weakref
from functools import cached_property
from typing import Any, ClassVar

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from hubassoc.client import READ_BATCH_LIMIT, HubSpotClient
from hubassoc.errors import HubSpotError
from hubassoc.objects import ObjectType
from hubassoc.settings import client_from_config
from hubassoc.types import PairTypesCache
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


class TapHubAssoc(Tap):
    """HubSpot CRM associations (v3): the association types and every association of the configured pairs."""

    name = "tap-hubassoc"
    package_name = "hubassoc"
    config_jsonschema: ClassVar[dict[str, Any]] = CONFIG_JSONSCHEMA

    def __init__(self, **kwargs: Any) -> None:
        self._client: HubSpotClient | None = None
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

    @cached_property
    def pair_types(self) -> PairTypesCache:
        """Each pair's types, fetched once per run whichever stream asks first."""
        return PairTypesCache(self.client)

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
