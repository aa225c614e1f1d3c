"""The README's commands and recipes, run as written against the sandbox and a real PostgreSQL.

A reader's project is a copy of this repo's meltano.yml with `meltano init`'s default environment and the README's
recipe for a plugin merged into that plugin's definition; the installed plugins under .meltano/ are shared.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.pipeline import PROJECT_ROOT, meltano_executable
from demo.reverse_etl import ReverseEtlTraffic, compute_changes
from demo.warehouse import Database
from hubassoc.sandbox import Sandbox
from tests.support.warehouse import current_rows, store_edges

pytestmark = pytest.mark.e2e

README = PROJECT_ROOT / "README.md"
QUICKSTART_TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"


def fenced_blocks(language: str) -> list[str]:
    """The README's code blocks in ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def recipe_block(plugin: str) -> str:
    """The README's YAML recipe whose plugins include ``plugin``: ``{"loaders": [...], ...}`` as text."""
    for block in fenced_blocks("yaml"):
        recipe = yaml.safe_load(block)
        if isinstance(recipe, dict) and any(p.get("name") == plugin for kind in recipe.values() for p in kind):
            return block
    pytest.fail(f"the README has no YAML recipe for {plugin}")


def commands_in(block: str) -> list[str]:
    """A block's meltano commands: its lines, and comment lines that are a meltano command."""
    lines = [line.removeprefix("#").strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("meltano ")]


@dataclass(frozen=True)
class ReadersProject:
    """A Meltano project as a reader builds it from the README, pointed at a sandbox and a database."""

    root: Path
    env: dict[str, str]

    def merge(self, block: str) -> None:
        """Merge a README recipe's plugin config and select into the project's definitions of those plugins."""
        recipe: dict[str, Any] = yaml.safe_load(block)
        path = self.root / "meltano.yml"
        project = yaml.safe_load(path.read_text(encoding="utf-8"))
        for kind, plugins in recipe.items():
            for given in plugins:
                defined = next(p for p in project["plugins"][kind] if p["name"] == given["name"])
                defined["config"] = {**defined.get("config", {}), **given.get("config", {})}
                if "select" in given:
                    defined["select"] = given["select"]
        path.write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """One README command line, as written; ``meltano`` is the one installed beside the tests."""
        args = shlex.split(command)
        done = subprocess.run([meltano_executable(), *args[1:]], cwd=self.root, env=self.env,
                              capture_output=True, text=True, check=False, timeout=900)
        assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr[-3000:]}"
        return done


@pytest.fixture
def readers_project(tmp_path: Path, installed: None) -> Callable[[Sandbox, Database], ReadersProject]:
    def build(box: Sandbox, db: Database) -> ReadersProject:
        root = tmp_path / "project"
        root.mkdir()
        definitions = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text(encoding="utf-8"))
        definitions["default_environment"] = "dev"  # as `meltano init` makes it: no sandbox to default to
        definitions["environments"].append({"name": "dev"})
        (root / "meltano.yml").write_text(yaml.safe_dump(definitions, sort_keys=False), encoding="utf-8")
        (root / ".meltano").symlink_to(PROJECT_ROOT / ".meltano")  # the plugins the tests installed
        shutil.copytree(PROJECT_ROOT / "demo", root / "demo")  # the file plugins' paths point here
        env = {**os.environ, **db.env(), "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
               "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
               "TAP_HUBASSOC_API_URL": box.url,  # stands in for api.hubapi.com
               "TARGET_HUBASSOC_API_URL": box.url, "TARGET_HUBASSOC_ACCESS_TOKEN": QUICKSTART_TOKEN,
               "TARGET_HUBASSOC_DEAD_LETTER_PATH": str(tmp_path / "rejected.jsonl")}
        return ReadersProject(root, env)

    return build


@pytest.fixture
def readers_sandbox(sandbox: Callable[..., Sandbox]) -> Sandbox:
    """The demo CRM, taking the README's placeholder token as a real account would take a real one."""
    return sandbox(seed="demo", tokens=frozenset({QUICKSTART_TOKEN}))


def test_quickstart_replicates_into_postgres_with_the_readme_recipe(
    readers_project: Callable[[Sandbox, Database], ReadersProject], readers_sandbox: Sandbox, db: Database,
) -> None:
    project = readers_project(readers_sandbox, db)
    project.merge(recipe_block("target-postgres"))
    [quickstart] = [block for block in fenced_blocks("sh") if "meltano config set" in block]
    for command in commands_in(quickstart):
        project.run(command)
    assert f"TAP_HUBASSOC_ACCESS_TOKEN='{QUICKSTART_TOKEN}'" in (project.root / ".env").read_text()
    assert set(current_rows(db)) == store_edges(readers_sandbox.store)


def test_reverse_etl_recipe_creates_and_archives_from_the_change_tables(
    readers_project: Callable[[Sandbox, Database], ReadersProject], readers_sandbox: Sandbox, db: Database,
) -> None:
    project = readers_project(readers_sandbox, db)
    project.merge(recipe_block("target-postgres"))
    project.run(f"meltano config set tap-hubassoc access_token {QUICKSTART_TOKEN}")
    project.run("meltano run tap-hubassoc target-postgres")
    compute_changes(db)
    to_add = db.scalar("SELECT count(*) FROM links_to_add")
    to_remove = db.scalar("SELECT count(*) FROM links_to_remove")
    recipe = recipe_block("tap-postgres")
    project.merge(recipe)
    [command] = commands_in(recipe)
    readers_sandbox.reset_counters()
    project.run(command)
    traffic = ReverseEtlTraffic.from_counters(readers_sandbox.counters())
    assert (traffic.creates, traffic.archives) == (to_add, to_remove)


def test_sandbox_by_hand_serves_the_tap_as_written(tmp_path: Path) -> None:
    [by_hand] = [block for block in fenced_blocks("sh") if "hubassoc-sandbox --port" in block]
    server_line, tap_line = by_hand.strip().splitlines()
    with subprocess.Popen(shlex.split(server_line), cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            assert "listening on" in server.stdout.readline()
            done = subprocess.run(["bash", "-c", tap_line], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                  check=False, timeout=300)
        finally:
            server.terminate()
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"type":"ACTIVATE_VERSION","stream":"associations"' in done.stdout
