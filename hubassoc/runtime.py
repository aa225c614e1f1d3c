"""Process-wide tuning for a plugin run from its command line (never when a plugin is embedded, as in tests)."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (20_000, 20, 20)  # Python's defaults are (700, 10, 10)


def tune_gc() -> None:
    """Collect cycles less often, and never again walk the objects alive at start (the SDK and its modules).

    A run keeps up to a flush's worth of records alive and replaces them over and over; with Python's default
    thresholds the collector walks every live object again and again. Reference counting still frees records at
    once; only cycles wait longer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
