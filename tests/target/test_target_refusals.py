"""HubSpot refusing the run (token, scope, daily limit): the error says what to do and does not blame the input."""

from __future__ import annotations

from pathlib import Path

from tests.support.runners import CliRun, run_target_cli, target_config
from tests.support.sandbox_api import TOKEN, SandboxFactory
from tests.support.singer import contact_company, schema, state

MISTYPED = "pat-na1-mistyped-token"


def stop_line(run: CliRun) -> str:
    """The message of the run's one 'target-hubassoc stopped' log line."""
    [line] = [line for line in run.log.splitlines() if "target-hubassoc stopped" in line]
    return line.split(" | ")[-1]


def test_a_refused_access_token_names_the_setting_and_the_next_step(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    settings = target_config(box, dead_letters, access_token=MISTYPED)
    run = run_target_cli(settings, [schema(), contact_company(101, 201)], tmp_path)
    assert run.returncode == 1
    assert stop_line(run).startswith(
        "target-hubassoc stopped: HubSpot refused the access token (revoked, mistyped or from another account): "
        "check access_token; create a new private app token and set access_token to it -- HubSpot 401 "
        "INVALID_AUTHENTICATION on GET /crm/v3/associations/0-1/0-2/types: ")
    assert stop_line(run).endswith("(while writing the records read up to input line 2)")
    assert MISTYPED not in run.log


def test_a_missing_scope_names_the_scope_to_grant_in_the_apps_scopes(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm(token_scopes={TOKEN: ("crm.objects.contacts.read", "crm.objects.companies.read")})
    run = run_target_cli(target_config(box, dead_letters), [schema(), contact_company(101, 201), state(n=1)], tmp_path)
    assert run.returncode == 1
    assert run.states == []
    assert stop_line(run).startswith(
        "target-hubassoc stopped: HubSpot refused the request because the app's scopes lack one it needs: grant the "
        "app the scope(s): crm.objects.contacts.write (in the private app's or the OAuth app's settings in HubSpot; "
        "an OAuth app is then re-authorised) -- HubSpot 403 MISSING_SCOPES on POST "
        "/crm/v3/associations/0-1/0-2/batch/create: ")
    assert stop_line(run).endswith("(while writing the records read up to input line 3)")


def test_the_daily_limit_says_when_to_run_again_and_does_not_blame_the_input(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm(daily_limit=1)  # the types read is the day's last request; the create is refused
    run = run_target_cli(target_config(box, dead_letters), [schema(), contact_company(101, 201), state(n=1)], tmp_path)
    assert run.returncode == 1
    assert run.states == []
    assert stop_line(run).startswith(
        "target-hubassoc stopped: HubSpot 429 RATE_LIMIT on POST /crm/v3/associations/0-1/0-2/batch/create: "
        "HubSpot's daily request limit (1 requests) is spent: it resets at midnight in the HubSpot "
        "account's time zone; run again after that")
    assert stop_line(run).endswith("(while writing the records read up to input line 3)")
