"""A local HubSpot-compatible server for the demo, the tests and the benchmarks."""

from __future__ import annotations

from hubassoc.sandbox.config import SandboxConfig
from hubassoc.sandbox.seed import PRESETS, LabelSpec, SeedSpec, UniquePropertySpec, preset, seed_store
from hubassoc.sandbox.server import Sandbox
from hubassoc.sandbox.store import Store

__all__ = ["PRESETS", "LabelSpec", "Sandbox", "SandboxConfig", "SeedSpec", "Store", "UniquePropertySpec", "preset",
           "seed_store"]
