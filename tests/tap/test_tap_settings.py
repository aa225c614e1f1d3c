"""Settings: names, defaults, spellings, and failing early with a message a user can act on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_hubassoc.settings import DEFAULT_PAIRS, config_problems, parse_from_ids, parse_pairs
from tap_hubassoc.tap import TapHubAssoc
from tests.support.runners import TAP, write_json
from tests.support.sandbox_api import TOKEN

SETTINGS = ("access_token", "client_id", "client_secret", "refresh_token", "api_url", "associations", "from_ids",
            "batch_size", "max_workers", "requests_per_10s")


def test_about_documents_every_setting_the_issue_names() -> None:
    """``--about --format json`` lists each setting with a description; secrets are marked secret."""
    done = subprocess.run([str(TAP), "--about", "--format", "json"], capture_output=True, text=True,
                          timeout=60, check=True)
    settings = json.loads(done.stdout)["settings"]["properties"]
    for name in SETTINGS:
        assert settings[name].get("description"), name
    for name in ("access_token", "client_secret", "refresh_token"):
        assert settings[name].get("secret") is True
    assert settings["api_url"]["default"] == "https://api.hubapi.com"
    assert settings["batch_size"]["default"] == 1000
    assert settings["batch_size"]["maximum"] == 1000
    assert settings["max_workers"]["default"] == 8
    assert settings["requests_per_10s"]["default"] == 100


def test_default_pairs_are_the_six_pairs_both_directions() -> None:
    pairs = {(p["from"], p["to"]) for p in DEFAULT_PAIRS}
    assert len(pairs) == 12
    for a, b in [("contacts", "companies"), ("contacts", "deals"), ("contacts", "tickets"),
                 ("companies", "deals"), ("companies", "tickets"), ("deals", "tickets")]:
        assert {(a, b), (b, a)} <= pairs


def test_pairs_accept_any_spelling_hubspot_accepts_and_collapse_duplicates() -> None:
    """``Contacts``, ``contact`` and ``0-1`` are one type; custom objects stay by type id."""
    pairs = parse_pairs({"associations": [
        {"from": "Contacts", "to": "company"}, {"from": "0-1", "to": "0-2"}, {"from": "deal", "to": "2-123456"},
    ]})
    assert [p.name for p in pairs] == ["contacts->companies", "deals->2-123456"]


def test_from_ids_are_strings_by_canonical_type() -> None:
    ids = parse_from_ids({"from_ids": {"Contact": [10_000_000_001, "10000000002", 10_000_000_001]}})
    assert {k.name: v for k, v in ids.items()} == {"contacts": ["10000000001", "10000000002"]}


@pytest.mark.parametrize("url", ["http://api.hubapi.com", "http://10.0.0.1:8080", "ftp://127.0.0.1"])
def test_plain_http_is_refused_unless_loopback(url: str) -> None:
    """A token must not travel in clear text: http only to a loopback host (the sandbox)."""
    problems = config_problems({"api_url": url})
    assert any("refused" in p for p in problems)


@pytest.mark.parametrize("url", ["https://api.hubapi.com", "http://127.0.0.1:5000", "http://localhost:1"])
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert config_problems({"api_url": url, "access_token": TOKEN}) == []


def test_a_config_without_credentials_names_the_settings_to_set() -> None:
    assert config_problems({"api_url": "https://api.hubapi.com"}) == [
        "no credentials: set access_token (private app) or client_id, client_secret and refresh_token"]


def test_tap_fails_before_any_request_on_a_bad_setting() -> None:
    """Unknown object types and non-numeric ids stop the tap at start, naming the setting."""
    config = {"access_token": TOKEN, "api_url": "http://127.0.0.1:9",
              "associations": [{"from": "contacts", "to": "widgets"}]}
    with pytest.raises(ConfigValidationError) as raised:
        TapHubAssoc(config=config)
    assert "widgets" in " ".join(raised.value.errors)
    config = {"access_token": TOKEN, "from_ids": {"contacts": ["12a"]}}
    with pytest.raises(ConfigValidationError) as raised:
        TapHubAssoc(config=config)
    assert "12a" in " ".join(raised.value.errors)


def test_batch_size_over_hubspot_limit_is_refused() -> None:
    """v3 batch read takes at most 1,000 inputs."""
    with pytest.raises(ConfigValidationError):
        TapHubAssoc(config={"access_token": TOKEN, "batch_size": 1001})


def test_cli_refuses_plain_http_with_one_clear_line(tmp_path: Path) -> None:
    config = write_json(tmp_path / "config.json", {"access_token": "pat-secret-123", "api_url": "http://example.com"})
    done = subprocess.run([str(TAP), "--config", str(config)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "api_url http://example.com refused: use https" in done.stderr
    assert "pat-secret-123" not in done.stderr
    assert done.stdout == ""
