"""Full-table versions: a run's records carry one version, and ACTIVATE_VERSION follows only a complete read.

A loader such as target-postgres deletes (or marks deleted) every row of an older version when ACTIVATE_VERSION
arrives. The SDK sends it at the start of a sync, versioned by the start second: the table is then partial while
the run is in flight, a resumed run deletes what the interrupted one loaded, and two runs in one second delete
nothing. Here the version is chosen once per run in milliseconds, kept in the state while a read is unfinished
(so a resumed run keeps it), and activated once every record of the read has been written.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

SETTING = "emit_activate_version_messages"
STATE_KEY = "table_version"

VERSIONING_PROPERTY = th.Property(
    SETTING, th.BooleanType, default=True,
    description="Full-table versioning: every record carries the run's table version, and ACTIVATE_VERSION is "
    "sent once a read is complete, so a loader that follows it (target-postgres with activate_version) removes "
    "associations removed in HubSpot. An interrupted run resumed from its state keeps its version. Not with "
    "batch_config, whose BATCH messages carry no version.",
)


def new_version() -> int:
    """A version later than any an earlier run chose: the current time in milliseconds."""
    return time.time_ns() // 1_000_000


def saved_version(stream_state: Mapping[str, Any]) -> int | None:
    """The version of the unfinished run this one resumes, if the state holds one."""
    value = stream_state.get(STATE_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
