"""The lower bound on a run's wall time, as the issue defines it: no client could finish sooner.

It is the largest of three limits:

* pacing: calls beyond the first window's allowance, at the budget's rate;
* the chain: requests that must follow one another, each one round trip (listing pages of one object type,
  since each cursor comes from the previous reply, then at least one read; a write is a chain of one);
* parallelism: the calls spread over ``max_workers`` connections, each one round trip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    """HubSpot's rolling-window request budget."""

    requests: int
    window_s: float = 10.0

    @property
    def rate(self) -> float:
        """Requests per second once the first window's allowance is spent."""
        return self.requests / self.window_s


@dataclass(frozen=True)
class LowerBound:
    """The three limits in seconds; ``seconds`` is the binding one."""

    pacing_s: float
    chain_s: float
    parallel_s: float

    @property
    def seconds(self) -> float:
        """The bound itself."""
        return max(self.pacing_s, self.chain_s, self.parallel_s)

    @property
    def binding(self) -> str:
        """Which limit binds (pacing, chain or parallel)."""
        limits = {"pacing": self.pacing_s, "chain": self.chain_s, "parallel": self.parallel_s}
        return max(limits, key=lambda name: limits[name])

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, with the bound and which limit binds."""
        return {**asdict(self), "seconds": self.seconds, "binding": self.binding}


def window_floor(calls: int, budget: Budget) -> float:
    """The least time ``calls`` requests take under a *rolling* window, as HubSpot (and the sandbox) count them.

    The issue's pacing term treats the budget as a bucket refilled at its rate, so the first window's allowance
    comes free; under a rolling window request k + budget can go no sooner than one window after request k, so
    the last request goes at least ``(calls - 1) // budget`` windows after the first. For 601 calls at 150 per
    10 s that is 40 s, not 30 s: no client can come within 0.75 of the issue's bound there.
    """
    return (max(0, calls - 1) // budget.requests) * budget.window_s


def lower_bound(calls: int, chain: int, max_workers: int, latency_s: float, budget: Budget) -> LowerBound:
    """The bound for ``calls`` requests, ``chain`` of which must follow one another."""
    return LowerBound(
        pacing_s=max(0, calls - budget.requests) / budget.rate,
        chain_s=chain * latency_s,
        parallel_s=calls / max_workers * latency_s,
    )
