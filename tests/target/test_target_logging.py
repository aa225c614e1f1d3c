"""Warnings and errors reach Meltano at their level, given Meltano's logging for a structured-logging plugin.

Meltano 4 parses a plugin's stderr by level only when meltano.yml lists ``structured-logging`` among the plugin's
capabilities: it then points SINGER_SDK_LOG_CONFIG at a config using the SDK's StructuredFormatter (one JSON
object a line). Without the capability every line is logged at INFO.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.runners import run_target_cli, target_config
from tests.support.sandbox_api import SandboxFactory
from tests.support.singer import contact_company, record, schema

# What Meltano 4 writes for a plugin with the structured-logging capability (meltano.core.plugin.singer.base).
MELTANO_SDK_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"singer_formatter": {"()": "singer_sdk.logging.StructuredFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "singer_formatter",
                             "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}


# The fields Meltano's Singer SDK log parser requires before it takes a line's level (meltano.core.logging.parsers).
MELTANO_REQUIRED_FIELDS = {"level", "pid", "logger_name", "ts", "thread_name", "app_name", "message"}


def levels_as_meltano_reads_them(log: str) -> dict[str, str]:
    """Each message's level, as Meltano reads it from a structured-logging plugin's stderr."""
    parsed = [json.loads(line) for line in log.splitlines()]
    assert all(entry.keys() >= MELTANO_REQUIRED_FIELDS for entry in parsed), log
    return {entry["message"]: entry["level"] for entry in parsed}


def test_a_rejected_record_is_a_warning_and_the_failure_an_error_in_meltanos_log(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    logging_config = tmp_path / "logging.json"
    logging_config.write_text(json.dumps(MELTANO_SDK_LOGGING))
    bad = record(from_object_type="contacts", from_id="12a", to_object_type="companies", to_id="201")
    run = run_target_cli(target_config(box, dead_letters), [schema(), bad, contact_company(101, 201)], tmp_path,
                         SINGER_SDK_LOG_CONFIG=str(logging_config))
    assert run.returncode == 1
    levels = levels_as_meltano_reads_them(run.log)
    rejected = [level for message, level in levels.items() if message.startswith("rejected a create record")]
    stopped = [level for message, level in levels.items() if message.startswith("target-hubassoc stopped")]
    summary = [level for message, level in levels.items() if message.startswith("Summary: 2 records read")]
    assert (rejected, stopped, summary) == (["warning"], ["error"], ["info"])
