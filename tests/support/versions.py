"""The association API versions (v3, v4, 2026-03): their path prefixes, and plugin settings for each on the
labelled CRM (tests.support.crm.labelled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hubassoc.sandbox import Sandbox
from tests.support.crm.labelled import PAIRS
from tests.support.runners import tap_config, target_config

# hubspot-associations-api.md, "v4 and the date-versioned API": only the prefix differs.
PREFIXES = {"v4": "/crm/v4/associations", "2026-03": "/crm/associations/2026-03"}
LABELLED = tuple(PREFIXES)
VERSIONS = ("v3", *LABELLED)


def version_tap_config(box: Sandbox, version: str, **settings: Any) -> dict[str, Any]:
    """A tap config reading every pair of the labelled CRM through ``version``."""
    pairs = [{"from": a, "to": b} for a, b in PAIRS]
    return tap_config(box.url, api_version=version, associations=pairs, **settings)


def version_target_config(box: Sandbox, version: str, dead_letters: Path, **settings: Any) -> dict[str, Any]:
    """A target config writing through ``version``, with the tap's fast pacing."""
    return target_config(box, dead_letters, requests_per_10s=1000, api_version=version, **settings)
