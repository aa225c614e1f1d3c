"""The target's own settings (the connection settings are shared with the tap, in hubassoc.settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from singer_sdk import typing as th

from hubassoc.limits import WRITE_BATCH_LIMIT
from hubassoc.progress import DEFAULT_PROGRESS_INTERVAL
from target_hubassoc.mirror import DEFAULT_MAX_ARCHIVE_FRACTION
from target_hubassoc.stream_actions import STREAM_MODES, StreamMode
from target_hubassoc.writer import ACTIONS, Action

DEFAULT_DEAD_LETTER_PATH = "hubassoc-rejected.jsonl"
DEFAULT_MAX_WORKERS = 8  # hubassoc.settings' default for max_workers

TARGET_PROPERTIES = th.PropertiesList(
    th.Property(
        "stream_actions",
        th.ObjectType(additional_properties=th.StringType(allowed_values=list(STREAM_MODES))),
        description="What each stream's records mean: \"create\", \"archive\", or \"mirror\" (the complete "
        "desired set of associations of every object the stream names toward each to type; needs api_version v4 "
        "or 2026-03; see mirror_max_archive_fraction). A key is a stream's name or its "
        "table part (after the last '-': links_to_remove matches tap-postgres's public-links_to_remove); an exact "
        "name wins. A key matching two streams stops the run at the second one's SCHEMA; a key matching none fails "
        "the run at the end of input. Streams not matched use default_action. A record with a non-null "
        "_sdc_deleted_at is archived whatever its stream says.",
    ),
    th.Property(
        "mirror_max_archive_fraction", th.NumberType(minimum=0, maximum=1), default=DEFAULT_MAX_ARCHIVE_FRACTION,
        description="A mirror stream that would archive more than this share of the to-objects its covered objects "
        "are associated with now writes none of its changes, logs why (counts per pair, samples) and the run exits "
        "non-zero; other streams' writes stand. 1.0 turns the check off.",
    ),
    th.Property(
        "id_properties", th.ObjectType(additional_properties=th.StringType),
        description="Object types whose ends are values of a unique property, not HubSpot record ids: "
        "{object type: property} in any type spelling, e.g. {\"contacts\": \"email\", \"0-3\": \"erp_id\"}. "
        "A record's from_id_property / to_id_property overrides it for that record (null: this applies). Values "
        "are read 100 a call (each distinct value once a run; emails in any case); a value with no record sends "
        "its record to the dead-letter file; a property HubSpot refuses as an id property (not unique) stops the "
        "run before any write.",
    ),
    th.Property(
        "default_action", th.StringType(allowed_values=list(ACTIONS)), default="create",
        description="The action for streams not named in stream_actions.",
    ),
    th.Property(
        "batch_size_rows", th.IntegerType(minimum=1, maximum=WRITE_BATCH_LIMIT), default=WRITE_BATCH_LIMIT,
        description="Inputs per HubSpot batch call, per (pair, action); HubSpot takes at most 2000. A full batch "
        "goes out at once (up to max_workers at a time) while reading goes on; every batch_size_rows x max_workers "
        "records the rest is sent and, once everything is written, a STATE message follows.",
    ),
    th.Property(
        "dead_letter_path", th.StringType, default=DEFAULT_DEAD_LETTER_PATH,
        description="JSON-lines file (appended to) for every rejected record: the record, its stream, the "
        "reason, and HubSpot's category, message and correlationId where it gave them. Relative paths are "
        "relative to the working directory.",
    ),
    th.Property(
        "max_rejected_records", th.IntegerType(minimum=0), default=0,
        description="The run exits non-zero when more records than this were rejected (after writing "
        "everything else and emitting the final STATE).",
    ),
    th.Property(
        "progress_interval", th.NumberType(minimum=0.01), default=DEFAULT_PROGRESS_INTERVAL,
        description="Seconds between progress lines on stderr: records read, written (created/archived), "
        "dead-lettered, records/s, API calls against the request budget and 429s.",
    ),
    th.Property(
        "dry_run", th.BooleanType, default=False,
        description="Validate and resolve every record (reading association types is allowed) and log what "
        "would be created and archived per pair, without calling any write endpoint. Invalid records still go "
        "to the dead-letter file and count against max_rejected_records.",
    ),
    th.Property(
        "add_record_metadata", th.BooleanType, default=False,
        description="Keep the SDK's _sdc_* metadata fields on dead-letter records. Archiving by "
        "_sdc_deleted_at works whether this is on or off.",
    ),
)


@dataclass(frozen=True)
class TargetSettings:
    """The target's settings, read once from a validated config (defaults repeated for unvalidated ones)."""

    stream_actions: Mapping[str, StreamMode] = field(default_factory=dict)
    id_properties: Mapping[str, str] = field(default_factory=dict)
    default_action: Action = "create"
    batch_size_rows: int = WRITE_BATCH_LIMIT
    max_workers: int = DEFAULT_MAX_WORKERS
    dead_letter_path: str = DEFAULT_DEAD_LETTER_PATH
    max_rejected_records: int = 0
    dry_run: bool = False
    add_record_metadata: bool = False
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL
    mirror_max_archive_fraction: float = DEFAULT_MAX_ARCHIVE_FRACTION

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        """Pick the target's settings out of the plugin config, ignoring the rest."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in config.items() if k in names and v is not None})

    @property
    def buffer_limit(self) -> int:
        """Records buffered before a flush: enough for every worker to carry a full batch at once."""
        return self.batch_size_rows * self.max_workers
