"""The one scan every reliability test runs over what a run left behind: it must find what it looks for."""

from __future__ import annotations

import pytest

from tests.support.credentials import CLIENT_SECRET, MARKED_TOKEN, MARKER, REFRESH_TOKEN, assert_no_secrets, leaks
from tests.support.recorded_runs import Run


@pytest.mark.parametrize("secret", [MARKED_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, f"...{MARKER}...",
                                    "Bearer sandbox-access-" + "0f" * 16, "sandbox-refresh-" + "a1" * 16])
def test_the_scan_finds_any_credential_or_part_of_one(secret: str) -> None:
    assert leaks({"stderr": f"line one\nerror: {secret} rejected\n", "state": "{}"}) == ["stderr"]


def test_a_failure_names_the_place_never_the_secret() -> None:
    run = Run(0, stdout='{"bookmarks": {}}\n', stderr=f"retrying with {MARKED_TOKEN}\n", dead_letter_text="")
    with pytest.raises(AssertionError) as failed:
        assert_no_secrets(None, run)
    assert "run 0 stderr" in str(failed.value)
    assert MARKER not in str(failed.value)


def test_text_without_credentials_passes() -> None:
    assert leaks({"stderr": "Summary: 3 API calls, 0 429s, 0 retries", "request log": "/crm/v3/objects/0-1"}) == []
