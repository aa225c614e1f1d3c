"""api_version is one shared connection setting: v3 (default), v4 or 2026-03, refused otherwise by both plugins."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from hubassoc.settings import CONNECTION_PROPERTIES
from tap_hubassoc.tap import TapHubAssoc
from target_hubassoc.target import TargetHubAssoc
from tests.support.sandbox_api import TOKEN


def test_the_setting_lists_the_three_versions_and_defaults_to_v3() -> None:
    schema = CONNECTION_PROPERTIES.to_dict()["properties"]["api_version"]
    assert (schema["enum"], schema["default"]) == (["v3", "v4", "2026-03"], "v3")


@pytest.mark.parametrize("plugin", [TapHubAssoc, TargetHubAssoc])
def test_an_unknown_version_is_refused_before_any_request(plugin: type) -> None:
    config = {"access_token": TOKEN, "api_url": "http://127.0.0.1:9", "api_version": "v5"}
    with pytest.raises(ConfigValidationError) as refused:
        plugin(config=config)
    assert refused.value.errors == ["'v5' is not one of ['v3', 'v4', '2026-03'] in config['api_version']"]
