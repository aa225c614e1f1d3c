"""Bad input to the target: every case ends as a clear error naming its line, or as a dead letter with its reason.

The corpus is tests/reliability/bad_input/ (one file per case) and its manifest, which says what each case must
end as; two cases too big to commit are built here. Never a traceback, never a silent drop: for every case
the summary reconciles (read = created + archived + duplicates + rejected, rejected = the dead-letter file's
lines), HubSpot holds exactly what the good records ask for, the STATE printed covers only written records, no
record value reaches a URL, and no credential appears anywhere.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.credentials import private_app, secret_places, start_sandbox
from tests.support.crm.small import new_store
from tests.support.recorded_runs import Run, start_plugin, target_states, write_input
from tests.support.runners import TARGET
from tests.support.singer import association, schema, state

CORPUS = Path(__file__).parent / "bad_input"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]
GOOD = [[101, 201], [102, 202]]  # the records around the bad line (see the manifest's "about")
LOG_LIMIT = 20_000  # characters of stderr: a 10 MB line must never be repeated in full


def ten_mb_line() -> list[dict[str, Any] | str]:
    return framed(association("contacts", 103, "companies", 203) | {"record": {
        "from_object_type": "contacts", "from_id": "9" * 10_000_000, "to_object_type": "companies", "to_id": "203"}})


def deeply_nested() -> list[dict[str, Any] | str]:
    depth = 100_000
    return framed('{"type": "RECORD", "stream": "associations", "record": {"x": ' + "[" * depth + "]" * depth + "}}")


def framed(bad: dict[str, Any] | str) -> list[dict[str, Any] | str]:
    return [schema(), association("contacts", 101, "companies", 201), state(n=1), bad,
            association("contacts", 102, "companies", 202), state(n=2)]


GENERATED = {"ten_mb_line": ten_mb_line, "deeply_nested": deeply_nested}


def input_file(case: dict[str, Any], workdir: Path) -> Path:
    if case["file"] is None:
        return write_input(workdir / "input.singer", GENERATED[case["name"]]())
    return CORPUS / case["file"]


@dataclass
class Result:
    """One case's run, and what HubSpot and its request log held afterwards."""

    run: Run
    edges: list[list[int]]
    paths: list[str]
    leaks: list[str]
    source: Path


def run_case(case: dict[str, Any], workdir: Path) -> Result:
    with start_sandbox(new_store()) as box:  # contacts 101..130, companies 201..210, Billing contact
        settings = private_app(box, dead_letter_path=str(workdir / "rejected.jsonl"), max_rejected_records=10)
        source = input_file(case, workdir)
        run = start_plugin(TARGET, workdir, settings, name="target", stdin=source).wait()
        edges = sorted([e.from_id, e.to_id] for e in box.store.edges("contacts", "companies"))
        paths = [entry["path"] for entry in box.counters()["request_log"]]
        return Result(run, edges, paths, secret_places(box, run), source)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Every case, three at a time (each is a process start and a few requests)."""
    with ThreadPoolExecutor(4) as pool:
        futures = {case["name"]: pool.submit(run_case, case, tmp_path_factory.mktemp(case["name"]))
                   for case in CASES}
        return {name: future.result() for name, future in futures.items()}


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What the manifest's outcome means, unless the case says otherwise."""
    if case["outcome"] == "error":  # stops at the line: the record before it written, its STATE printed
        defaults = {"read": 1, "created": 1, "rejected": 0, "states": [{"n": 1}], "edges": GOOD[:1]}
    else:  # the bad record dead-lettered, both good ones written, the last STATE printed
        defaults = {"read": 3, "created": 2, "rejected": 1, "states": [{"n": 2}], "edges": GOOD}
    return {**defaults, **{k: case[k] for k in defaults if k in case}}


def test_the_corpus_has_a_case_for_every_kind_of_bad_input_the_issue_names() -> None:
    assert len(CASES) >= 30
    assert len({case["name"] for case in CASES}) == len(CASES)
    for case in CASES:
        assert case["outcome"] in ("error", "dead_letter")
        assert case["file"] is None or (CORPUS / case["file"]).is_file()
    assert {case["file"] for case in CASES} - {None} == {p.name for p in CORPUS.glob("*.singer")}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bad_input_ends_as_a_clear_error_or_a_dead_letter_and_the_counts_reconcile(
    case: dict[str, Any], results: dict[str, Result],
) -> None:
    result = results[case["name"]]
    run, want = result.run, expected(case)
    assert "Traceback" not in run.stderr
    assert len(run.stderr) < LOG_LIMIT
    counts = run.summary().records
    assert counts["read"] == counts["created"] + counts["archived"] + counts["duplicates"] + counts["rejected"]
    assert counts["rejected"] == len(run.dead_letters())
    assert (counts["read"], counts["created"], counts["rejected"]) == (want["read"], want["created"], want["rejected"])
    assert target_states(run) == want["states"]
    assert result.edges == want["edges"]
    if case["outcome"] == "error":
        assert run.returncode == 1
        [stop] = [line for line in run.stderr.splitlines() if "target-hubassoc stopped at" in line]
        assert f"stopped at input line {case['line']}: " in stop
        assert case["reason"] in stop
    else:
        assert run.returncode == 0, run.stderr[-3000:]
        [letter] = run.dead_letters()
        assert case["reason"] in letter["reason"]
        assert letter["stream"] == "associations"
        if "letter_record" not in case:  # the record as it came in (a NaN is written as text: JSON has none)
            assert letter["record"] == bad_record(result.source, case.get("bad_line", 4))


def bad_record(source: Path, line: int) -> dict[str, Any]:
    with source.open("rb") as lines:
        for number, text in enumerate(lines, start=1):
            if number == line:
                return json.loads(text)["record"]
    raise AssertionError(line)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_no_record_value_reaches_a_url_and_no_credential_leaks(
    case: dict[str, Any], results: dict[str, Result],
) -> None:
    result = results[case["name"]]
    if expected(case)["read"]:
        assert result.paths, "the run made no request: the check below would prove nothing"
    assert all(".." not in path and "oauth" not in path and "%2" not in path.lower() for path in result.paths)
    assert result.leaks == []
