"""Reading back the target's dead-letter file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_dead_letters(path: Path | str) -> list[dict[str, Any]]:
    """The dead-letter file's lines, decoded; empty when no file was written."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
