"""The sizes and sandbox settings of each benchmark mode: ``full`` is what the README reports, ``quick`` a smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    """Everything that differs between a quick and a full run."""

    name: str
    # 1. tap, latency-bound
    tap_contacts: int
    tap_companies: int
    tap_workers: tuple[int, ...]
    tap_budget: int
    tap_reversed_workers: tuple[int, ...]  # the same pairs listed the other way round: companies read first
    # 2. target, latency-bound
    target_contacts: int
    target_companies: int
    target_creates: int
    target_archives: int
    target_budget: int
    target_workers: int
    # both latency-bound benchmarks
    latency_ms: float
    jitter_ms: float
    # 3. CPU cost (no latency, no limit)
    cpu_tap_contacts: int
    cpu_tap_companies: int
    cpu_target_creates: int
    cpu_runs: int  # each CPU row is the median of this many runs
    # 4. scale
    scale_sizes: tuple[int, ...]


FULL = Mode(
    name="full",
    tap_contacts=50_000, tap_companies=10_000, tap_workers=(1, 4, 8, 16), tap_budget=100, tap_reversed_workers=(8,),
    target_contacts=50_000, target_companies=20, target_creates=1_000_000, target_archives=200_000,
    target_budget=150, target_workers=8,
    latency_ms=150.0, jitter_ms=50.0,
    cpu_tap_contacts=20_000, cpu_tap_companies=4_000, cpu_target_creates=200_000, cpu_runs=3,
    scale_sizes=(200_000, 1_000_000),
)

QUICK = Mode(
    name="quick",
    tap_contacts=2_000, tap_companies=400, tap_workers=(1, 8), tap_budget=100, tap_reversed_workers=(),
    target_contacts=500, target_companies=20, target_creates=8_000, target_archives=2_000,
    target_budget=150, target_workers=8,
    latency_ms=10.0, jitter_ms=3.0,
    cpu_tap_contacts=2_000, cpu_tap_companies=400, cpu_target_creates=5_000, cpu_runs=2,
    scale_sizes=(2_000, 6_000),
)

MODES = {mode.name: mode for mode in (QUICK, FULL)}
