"""Bearer auth (401 INVALID / EXPIRED_AUTHENTICATION), scopes (403 MISSING_SCOPES) and the OAuth token endpoint."""

from __future__ import annotations

import requests

from hubassoc.sandbox import Sandbox
from tests.support.sandbox_api import TOKEN, UUID, ApiFactory, Matches, SandboxFactory

TYPES = "/crm/v3/associations/contacts/companies/types"
OAUTH = {"oauth_clients": {"cid": "csecret"}, "refresh_tokens": {"rtoken"}}


def _refresh(box: Sandbox, refresh_token: str = "rtoken", client_secret: str = "csecret") -> requests.Response:
    form = {"grant_type": "refresh_token", "client_id": "cid", "client_secret": client_secret,
            "refresh_token": refresh_token}
    return requests.post(f"{box.url}/oauth/v1/token", data=form, timeout=10)


def test_a_missing_token_is_a_401_invalid_authentication(sandbox: SandboxFactory, api: ApiFactory) -> None:
    response = api(sandbox(), token=None).get(TYPES)
    assert response.status_code == 401
    assert response.json() == {"status": "error", "message": Matches(r"Authentication credentials not found\. .+"),
                               "correlationId": UUID, "category": "INVALID_AUTHENTICATION"}


def test_an_unknown_token_is_a_401_invalid_authentication(sandbox: SandboxFactory, api: ApiFactory) -> None:
    response = api(sandbox(), token="pat-na1-wrong").get(TYPES)
    assert (response.status_code, response.json()["category"]) == (401, "INVALID_AUTHENTICATION")


def test_every_error_body_carries_a_fresh_correlation_id(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(), token=None)
    assert caller.get(TYPES).json()["correlationId"] != caller.get(TYPES).json()["correlationId"]


def test_any_configured_token_is_accepted(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(tokens=["pat-a", "pat-b"])
    assert [api(box, token=t).get(TYPES).status_code for t in ("pat-a", "pat-b", TOKEN)] == [200, 200, 401]


def test_a_token_without_a_needed_scope_is_a_403_missing_scopes(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(token_scopes={TOKEN: ["crm.objects.companies.read"]})
    response = api(box).get(TYPES)
    assert response.status_code == 403
    assert response.json() == {
        "status": "error",
        "message": Matches(r"This app hasn't been granted all required scopes to make this call\..*"),
        "correlationId": UUID,
        "errors": [{"message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": ["crm.objects.contacts.read"]}}],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }


def test_writing_needs_the_write_scope_of_the_from_type(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(token_scopes={TOKEN: ["crm.objects.contacts.read", "crm.objects.companies.read"]})
    body = api(box).post("/crm/v3/associations/contacts/companies/batch/create", {"inputs": []}).json()
    assert body["errors"][0]["context"] == {"requiredGranularScopes": ["crm.objects.contacts.write"]}


def test_custom_objects_need_the_custom_scope(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(token_scopes={TOKEN: ["crm.objects.contacts.read"]})
    body = api(box).get("/crm/v3/objects/2-123").json()
    assert body["errors"][0]["context"] == {"requiredGranularScopes": ["crm.objects.custom.read"]}


def test_a_token_with_every_needed_scope_passes(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(token_scopes={TOKEN: ["crm.objects.contacts.read", "crm.objects.companies.read"]})
    assert api(box).get(TYPES).status_code == 200


def test_the_token_endpoint_exchanges_a_refresh_token_for_an_access_token(
    sandbox: SandboxFactory, api: ApiFactory,
) -> None:
    box = sandbox(access_token_ttl=900, **OAUTH)
    response = _refresh(box)
    body = response.json()
    assert response.status_code == 200
    assert body == {"access_token": Matches(r"\S+"), "refresh_token": "rtoken", "expires_in": 900,
                    "token_type": "bearer"}
    assert api(box, token=body["access_token"]).get(TYPES).status_code == 200
    assert box.counters()["oauth_refreshes"] == 1


def test_the_token_endpoint_uses_no_rate_limit_budget(sandbox: SandboxFactory) -> None:
    box = sandbox(**OAUTH)
    _refresh(box).close()
    assert box.counters()["requests_total"] == 0


def test_an_expired_access_token_is_a_401_expired_authentication(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(**OAUTH)
    access = _refresh(box).json()["access_token"]
    box.expire_access_tokens()
    response = api(box, token=access).get(TYPES)
    assert response.status_code == 401
    assert response.json() == {"status": "error", "message": Matches(r"The OAuth token used to make this call .+"),
                               "correlationId": UUID, "category": "EXPIRED_AUTHENTICATION"}


def test_a_refresh_after_expiry_gives_a_working_token(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(**OAUTH)
    _refresh(box).close()
    box.expire_access_tokens()
    assert api(box, token=_refresh(box).json()["access_token"]).get(TYPES).status_code == 200


def test_rotation_returns_a_new_refresh_token_and_invalidates_the_old(sandbox: SandboxFactory) -> None:
    box = sandbox(rotate_refresh_tokens=True, **OAUTH)
    rotated = _refresh(box).json()["refresh_token"]
    assert rotated != "rtoken"
    stale = _refresh(box, "rtoken")
    assert (stale.status_code, stale.json()["status"]) == (400, "BAD_REFRESH_TOKEN")
    assert _refresh(box, rotated).status_code == 200


def test_an_unknown_refresh_token_is_a_400_bad_refresh_token(sandbox: SandboxFactory) -> None:
    response = _refresh(sandbox(**OAUTH), "other")
    assert response.status_code == 400
    assert response.json() == {"status": "BAD_REFRESH_TOKEN", "message": Matches(".+"), "correlationId": UUID}


def test_a_wrong_client_secret_is_a_400_bad_client_id(sandbox: SandboxFactory) -> None:
    response = _refresh(sandbox(**OAUTH), client_secret="wrong")
    assert (response.status_code, response.json()["status"]) == (400, "BAD_CLIENT_ID")


def test_no_token_appears_in_counters_or_the_request_log(sandbox: SandboxFactory, api: ApiFactory) -> None:
    secret = "pat-na1-very-secret"
    box = sandbox(tokens=[secret], **OAUTH)
    api(box, token=secret).get(TYPES)
    api(box, token="pat-na1-wrong-secret").get(TYPES)
    access = _refresh(box).json()["access_token"]
    inspected = requests.get(f"{box.url}/_sandbox/counters", timeout=10).text
    config = requests.get(f"{box.url}/_sandbox/config", timeout=10).text
    for text in (str(box.counters()), inspected, config):
        assert all(s not in text for s in (secret, "pat-na1-wrong-secret", access, "rtoken", "csecret"))
