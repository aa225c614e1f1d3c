"""Run this project's Meltano pipelines against a sandbox: the demo's and the end-to-end tests' one harness.

Each run gets its own system database (so Meltano's state is the run's own) and its own output folder; the
plugins Meltano installed under .meltano/ are shared, which keeps a second run fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox environment's token, as meltano.yml sets it


@dataclass(frozen=True)
class MeltanoProject:
    """The repo's meltano.yml, pointed at one sandbox, with state and files kept under ``workdir``."""

    sandbox_url: str
    workdir: Path
    settings: Mapping[str, str] = field(default_factory=dict)  # more settings by environment variable

    def with_settings(self, settings: Mapping[str, str]) -> MeltanoProject:
        """The same project with more settings (a warehouse's connection, a stream_actions) on top."""
        return replace(self, settings={**self.settings, **settings})

    @property
    def output(self) -> Path:
        """Where the loaders write and the dead-letter file goes (beside Meltano's database)."""
        return self.workdir

    def env(self) -> dict[str, str]:
        """Meltano settings by environment variable: they override meltano.yml for this run only."""
        return {
            **os.environ,
            "HUBASSOC_SANDBOX_URL": self.sandbox_url,
            "MELTANO_ENVIRONMENT": "sandbox",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_DATABASE_URI": f"sqlite:///{self.workdir / 'meltano.db'}",
            "TARGET_CSV_OUTPUT_PATH": str(self.output / "warehouse"),
            "TARGET_JSONL_DESTINATION_PATH": str(self.output / "backup"),
            "TAP_ASSOCIATION_BACKUP_PATH": str(self.output / "backup" / "associations.jsonl"),
            "TARGET_HUBASSOC_DEAD_LETTER_PATH": str(self.output / "hubassoc-rejected.jsonl"),
            **self.settings,
        }

    def install(self) -> None:
        """Install the plugins into .meltano/ (fast when they already are)."""
        self.meltano("install", check=True)

    def run(self, *blocks: str, full_refresh: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``meltano run`` the blocks; the state id is Meltano's own, kept in this project's database."""
        args = ["run", *(["--full-refresh"] if full_refresh else []), *blocks]
        return self.meltano(*args, check=check)

    def meltano(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """One Meltano command from the project root, output captured for the caller to show or inspect."""
        self.output.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(  # noqa: S603 - our own meltano, our own arguments
            [meltano_executable(), *args], cwd=PROJECT_ROOT, env=self.env(), capture_output=True, text=True,
            check=False, timeout=900,
        )
        if check and done.returncode != 0:
            msg = f"meltano {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}"
            raise RuntimeError(msg)
        return done


def meltano_executable() -> str:
    """The meltano installed beside this interpreter (the project venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("meltano")
    found = str(beside) if beside.exists() else shutil.which("meltano")
    if found is None:
        msg = "meltano is not installed: run `make demo` or `make test`, which install it into .venv"
        raise RuntimeError(msg)
    return found
