"""``python -m benchmarks.run [--quick | --full] [--only tap,target,cpu,scale] [--out DIR]``.

Starts its own sandbox on loopback for each scenario, runs the plugins as real processes against it, prints
Markdown tables and writes them, with every figure as JSON, to ``benchmarks/results/``. ``--quick`` (the
default) takes seconds and is what the test suite runs; ``--full`` uses the issue's sizes (about 15 minutes).
The exit status is 1 when a non-timing check fails (a failed request, a wrong call count, an unexpected
record count, a plugin that did not exit 0); timings never fail a run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.mirror import mirror_latency
from benchmarks.modes import MODES
from benchmarks.read_plan import peer_comparison, read_plan
from benchmarks.report import failed_checks, machine, markdown
from benchmarks.scenarios import SCENARIOS as MEASUREMENTS

SCENARIOS = {**MEASUREMENTS, "mirror": mirror_latency, "plan": read_plan}  # beside the four throughput measurements
# Run only when named in --only: it installs MeltanoLabs tap-hubspot from PyPI into a virtualenv of its own.
ON_REQUEST = {"peer": peer_comparison}

RESULTS = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[1])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="mode", action="store_const", const="quick", help="small sizes (default)")
    size.add_argument("--full", dest="mode", action="store_const", const="full", help="the issue's sizes")
    p.add_argument("--only", default=",".join(SCENARIOS),
                   help=f"comma-separated subset of {','.join(SCENARIOS)}, or peer (run only when named)")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON and Markdown results")
    return p


def run(mode: str, only: Sequence[str], out: Path, command: str) -> dict[str, Any]:
    """Run the chosen scenarios; write and return the results."""
    known = {**SCENARIOS, **ON_REQUEST}
    unknown = sorted(set(only) - set(known))
    if unknown:
        msg = f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(known)}"
        raise SystemExit(msg)
    info = machine()
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="hubassoc-bench-") as scratch:
        for name in (n for n in known if n in only):
            print(f"running {name} ({mode}) ...", file=sys.stderr, flush=True)
            workdir = Path(scratch) / name
            workdir.mkdir()
            results[name] = known[name](MODES[mode], workdir)
    report = markdown(mode, info, results, command)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{mode}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    document = {"mode": mode, "command": command, "machine": info, "results": results}
    (out / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / f"{stem}.md").write_text(report)
    print(report)
    print(f"results written to {out / stem}.json and .md", file=sys.stderr)
    return document


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when every non-timing check held."""
    args = _parser().parse_args(argv)
    mode = args.mode or "quick"
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    command = " ".join([".venv/bin/python -m benchmarks.run", f"--{mode}",
                        *([f"--only {','.join(only)}"] if set(only) != set(SCENARIOS) else [])])
    document = run(mode, only, args.out, command)
    return 1 if failed_checks(document["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
