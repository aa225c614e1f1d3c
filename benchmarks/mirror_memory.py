"""``python -m benchmarks.mirror_memory [--associations N] [--per-object K]``: peak RSS of a mirror's desired sets.

Feeds N mirror records (K companies per contact) into the target's Mirror in this process, generated one at a
time so only the mirror holds them, and prints the peak RSS before and after, and the bytes per association.
The only request is the pair's labels, answered by a sandbox on loopback.
"""

from __future__ import annotations

import argparse
import resource
import sys

from hubassoc.api_version import V4
from hubassoc.associations import associations_api
from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from hubassoc.sandbox.config import DEFAULT_TOKEN
from hubassoc.settings import client_from_config
from target_hubassoc.dead_letters import DeadLetterFile
from target_hubassoc.mirror import Mirror
from target_hubassoc.writer import RecordResolver


def peak_rss_mb() -> float:
    """This process's peak resident set so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(associations: int, per_object: int) -> dict[str, float]:
    """Peak RSS before and after taking ``associations`` desired associations."""
    with Sandbox(SandboxConfig(), Store()) as box:
        client = client_from_config({"access_token": DEFAULT_TOKEN, "api_url": box.url})
        api = associations_api(client, V4)
        mirror = Mirror(client, api, RecordResolver(api), DeadLetterFile("/dev/null"), batch_size=2000)
        record = {"from_object_type": "contacts", "from_id": "1", "to_object_type": "companies", "to_id": "1",
                  "association_type_id": 279}
        mirror.add(dict(record), "desired")  # the labels call and its cache, before the baseline
        before = peak_rss_mb()
        for n in range(associations):
            record["from_id"] = str(10_000_000_001 + n // per_object)
            record["to_id"] = str(30_000_000_001 + n % per_object + n // per_object % 7)
            mirror.add(record, "desired")
        after = peak_rss_mb()
        client.close()
    return {"associations": associations, "per_object": per_object, "objects": -(-associations // per_object),
            "peak_rss_before_mb": round(before, 1), "peak_rss_after_mb": round(after, 1),
            "bytes_per_association": round((after - before) * 1024 * 1024 / associations, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mirror_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--associations", type=int, default=1_000_000)
    parser.add_argument("--per-object", type=int, default=4)
    args = parser.parse_args(argv)
    print(measure(args.associations, args.per_object))
    return 0


if __name__ == "__main__":
    sys.exit(main())
