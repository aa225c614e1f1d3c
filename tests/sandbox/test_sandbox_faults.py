"""Injected faults: scheduled ones are deterministic, random ones seeded; a faulted request never changes the store."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

import pytest
import requests

from hubassoc.sandbox import Sandbox
from tests.support.crm.conformance import CONTACTS, DEAL_WITHOUT_ASSOCIATIONS
from tests.support.sandbox_api import UUID, ApiFactory, SandboxFactory

TYPES = "/crm/v3/associations/contacts/companies/types"
CREATE = "/crm/v3/associations/deals/contacts/batch/create"
CREATE_ROUTE = "POST /crm/v3/associations/deals/contacts/batch/create"
NEW_EDGE = {"inputs": [{"from": {"id": str(DEAL_WITHOUT_ASSOCIATIONS)}, "to": {"id": str(CONTACTS[299])},
                        "type": "deal_to_contact"}]}


def test_scheduled_5xx_hit_exactly_the_next_requests(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    box.schedule_faults("5xx:503", 2)
    caller = api(box)
    answers = [caller.get(TYPES) for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 200]
    assert answers[0].json() == {"status": "error", "message": "Service Unavailable", "correlationId": UUID,
                                 "category": "INTERNAL_ERROR"}
    assert box.counters()["faults_injected"] == {"5xx:503": 2}


def test_scheduled_faults_can_target_one_route(sandbox: SandboxFactory, api: ApiFactory) -> None:
    """Routes are named as in counters(); any type spelling is accepted when scheduling."""
    box = sandbox()
    box.schedule_faults("423", 1, route="POST /crm/v3/associations/Deal/0-1/batch/create")
    caller = api(box)
    assert caller.get(TYPES).status_code == 200
    response = caller.post(CREATE, {"inputs": []})
    assert (response.status_code, response.json()["correlationId"]) == (423, UUID)


def test_a_faulted_create_does_not_change_the_store(crm: Callable[..., Sandbox], api: ApiFactory) -> None:
    box = crm()
    before = box.store.records()
    kinds = ("5xx:500", "429", "423", "malformed", "drop")
    for kind in kinds:
        box.schedule_faults(kind, 1, route=CREATE_ROUTE)
        with contextlib.suppress(requests.ConnectionError):
            api(box).post(CREATE, NEW_EDGE)
    assert box.store.records() == before
    assert box.counters()["faults_injected"] == dict.fromkeys(kinds, 1)


def test_a_scheduled_429_has_the_rate_limit_body_and_spends_no_budget(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(rate_limit=2, window_seconds=10.0)
    box.schedule_faults("429", 1)
    caller = api(box)
    first = caller.get(TYPES)
    assert (first.status_code, first.json()["policyName"]) == (429, "TEN_SECONDLY_ROLLING")
    assert [caller.get(TYPES).status_code for _ in range(3)] == [200, 200, 429]


def test_a_scheduled_daily_429_names_the_daily_policy(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    box.schedule_faults("429-daily", 1)
    assert api(box).get(TYPES).json()["policyName"] == "DAILY"


def test_a_dropped_connection_sends_no_response(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    box.schedule_faults("drop", 1)
    with pytest.raises(requests.ConnectionError):
        api(box).get(TYPES)
    assert api(box).get(TYPES).status_code == 200
    assert [e["status"] for e in box.counters()["request_log"]] == [None, 200]


def test_a_cut_reply_changes_the_store_then_breaks_off_mid_body(
    crm: Callable[..., Sandbox], api: ApiFactory,
) -> None:
    """A connection that breaks mid-response: HubSpot did the work, the client never reads the whole answer."""
    box = crm()
    before = len(box.store.records())
    box.schedule_faults("cut", 1, route=CREATE_ROUTE)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api(box).post(CREATE, NEW_EDGE)
    assert len(box.store.records()) == before + 2  # the edge and its inverse
    assert [e["status"] for e in box.counters()["request_log"]] == [None]
    assert box.counters()["faults_injected"] == {"cut": 1}


def test_a_slow_reply_arrives_normally_after_slow_seconds(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(slow_seconds=0.3)
    box.schedule_faults("slow", 1)
    started = time.monotonic()
    response = api(box).get(TYPES)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_malformed_reply_is_a_200_with_truncated_json(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    box.schedule_faults("malformed", 1)
    response = api(box).get(TYPES)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_random_5xx_use_hubspots_transient_statuses(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(fault_5xx=1.0))
    assert {caller.get(TYPES).status_code for _ in range(30)} <= {500, 502, 503, 504, 521, 523, 524}


def test_random_faults_repeat_for_the_same_fault_seed(sandbox: SandboxFactory, api: ApiFactory) -> None:
    runs = []
    for _ in range(2):
        caller = api(sandbox(fault_5xx=0.3, fault_429=0.2, fault_seed=11))
        runs.append([caller.get(TYPES).status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert {200, 429} <= set(runs[0])


def test_an_unknown_fault_kind_is_refused(sandbox: SandboxFactory) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox().schedule_faults("explode", 1)


def test_a_route_that_does_not_exist_is_refused(sandbox: SandboxFactory) -> None:
    with pytest.raises(ValueError, match="not a sandbox route"):
        sandbox().schedule_faults("drop", 1, route="GET /crm/v3/nowhere")
