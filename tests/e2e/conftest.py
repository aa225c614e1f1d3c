"""End-to-end fixtures: Meltano's plugins installed once per session, one PostgreSQL per test module."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from demo.pipeline import MeltanoProject
from demo.warehouse import Database, Warehouse
from hubassoc.sandbox import Sandbox

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`meltano install` once: every test then reuses the plugins' virtualenvs under .meltano/."""
    MeltanoProject("http://127.0.0.1:9", tmp_path_factory.mktemp("install")).install()


@pytest.fixture(scope="module")
def warehouse_server() -> Iterator[Warehouse]:
    """A real PostgreSQL for the module's tests, stopped after its last test (also when one fails).

    Not under pytest's own temporary folder: every pytest run makes that private again, and under root the
    server runs as another user who must keep reaching its directory.
    """
    with tempfile.TemporaryDirectory(prefix="hubassoc-warehouse-") as directory, Warehouse(Path(directory)) as server:
        yield server


@pytest.fixture
def db(warehouse_server: Warehouse) -> Database:
    """A fresh database of the module's PostgreSQL: no test sees another's tables."""
    return warehouse_server.create_database(f"test_{next(_database_numbers)}")


@pytest.fixture
def demo_sandbox(sandbox: Callable[..., Sandbox], installed: None) -> Sandbox:
    return sandbox(seed="demo")


@pytest.fixture
def project(demo_sandbox: Sandbox, tmp_path: Path) -> MeltanoProject:
    return MeltanoProject(demo_sandbox.url, tmp_path)
