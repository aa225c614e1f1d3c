"""The server itself: lifecycle, latency, concurrency, counters, runtime knobs and the inspection routes."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from hubassoc.sandbox import Sandbox, SandboxConfig
from tests.support.crm.conformance import CONTACTS, DEAL_WITHOUT_ASSOCIATIONS
from tests.support.sandbox_api import ApiFactory, SandboxFactory

TYPES = "/crm/v3/associations/contacts/companies/types"
TYPES_ROUTE = "GET /crm/v3/associations/contacts/companies/types"


def test_start_binds_a_free_loopback_port_and_stop_releases_it() -> None:
    with Sandbox() as box:
        url = box.url
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/_sandbox/counters", timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_sandbox/counters", timeout=10)


def test_stop_closes_idle_keep_alive_connections(api: ApiFactory) -> None:
    box = Sandbox()
    box.start()
    caller = api(box)
    assert caller.get(TYPES).status_code == 200  # leaves a pooled connection open
    started = time.monotonic()
    box.stop()
    assert time.monotonic() - started < 2


def test_latency_delays_every_reply(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(latency_ms=200))
    started = time.monotonic()
    assert caller.get(TYPES).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_jitter_varies_latency_within_its_bounds(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(latency_ms=60, jitter_ms=40))
    spent = []
    for _ in range(5):
        started = time.monotonic()
        caller.get(TYPES)
        spent.append(time.monotonic() - started)
    assert min(spent) >= 0.02
    assert max(spent) - min(spent) > 0.005


def test_the_log_tells_the_latency_given_from_the_time_the_sandbox_spent(
    sandbox: SandboxFactory, api: ApiFactory,
) -> None:
    """Benchmarks split a round trip into latency, the sandbox's own time and the client's time between requests."""
    box = sandbox(latency_ms=60, jitter_ms=40)
    caller = api(box)
    for _ in range(3):
        caller.get(TYPES)
    log = box.counters()["request_log"]
    assert [entry["route"] for entry in log] == [TYPES_ROUTE] * 3
    for entry in log:
        assert 0.02 <= entry["latency_s"] <= 0.1
        assert entry["time"] - entry["started"] >= entry["latency_s"]
    assert len({entry["latency_s"] for entry in log}) > 1  # the jitter drawn for each, not the setting
    assert log[0]["time"] <= log[1]["started"]  # one request after another


def test_requests_run_concurrently_and_peak_concurrency_counts_them(
    sandbox: SandboxFactory, api: ApiFactory,
) -> None:
    box = sandbox(latency_ms=300)
    callers = [api(box) for _ in range(6)]
    threads = [threading.Thread(target=c.get, args=(TYPES,)) for c in callers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 1.0  # six 300 ms requests, not one after another
    assert box.counters()["peak_concurrency"] == 6


def test_counters_report_requests_by_route_statuses_inputs_and_a_log(
    sandbox: SandboxFactory, api: ApiFactory,
) -> None:
    box = sandbox(seed="demo")
    caller = api(box)
    caller.get(TYPES)
    caller.post("/crm/v3/associations/Contact/0-3/batch/read", {"inputs": [{"id": "1"}, {"id": "2"}]})
    caller.get("/crm/v3/objects/0-3/1/associations/contacts")
    counters = box.counters()
    assert counters == {
        "requests_total": 3,
        "requests": {TYPES_ROUTE: 1, "POST /crm/v3/associations/contacts/deals/batch/read": 1,
                     "GET /crm/v3/objects/deals/{id}/associations/contacts": 1},
        "statuses": {200: 2, 207: 1},
        "rate_limited": 0,
        "peak_concurrency": 1,
        "faults_injected": {},
        "oauth_refreshes": 0,
        "inputs": {"POST /crm/v3/associations/contacts/deals/batch/read": 2},
        "request_log": [
            {"method": "GET", "route": TYPES_ROUTE, "path": TYPES, "status": 200,
             **_timing(counters["request_log"][0])},
            {"method": "POST", "route": "POST /crm/v3/associations/contacts/deals/batch/read",
             "path": "/crm/v3/associations/Contact/0-3/batch/read", "status": 207,
             **_timing(counters["request_log"][1])},
            {"method": "GET", "route": "GET /crm/v3/objects/deals/{id}/associations/contacts",
             "path": "/crm/v3/objects/0-3/1/associations/contacts", "status": 200,
             **_timing(counters["request_log"][2])},
        ],
    }


def _timing(entry: dict) -> dict:
    """A log entry's times, which the test cannot know, after checking they are in order."""
    assert entry["started"] <= entry["time"]
    assert entry["latency_s"] >= 0
    return {key: entry[key] for key in ("time", "started", "latency_s")}


def test_counters_are_a_copy_and_reset_starts_afresh(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    api(box).get(TYPES)
    snapshot = box.counters()
    snapshot["requests"].clear()
    assert box.counters()["requests"] == {TYPES_ROUTE: 1}
    box.reset_counters()
    assert (box.counters()["requests_total"], box.counters()["request_log"]) == (0, [])


def test_the_request_log_keeps_the_last_entries(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(request_log_size=2)
    caller = api(box)
    for _ in range(3):
        caller.get(TYPES)
    assert len(box.counters()["request_log"]) == 2
    assert box.counters()["requests_total"] == 3


def test_configure_changes_a_knob_while_running(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(tokens=["t"])
    box.store.add_objects("deals", [DEAL_WITHOUT_ASSOCIATIONS])
    box.store.add_objects("contacts", CONTACTS[:1])
    box.configure(create_status=201)
    edge = {"from": {"id": str(DEAL_WITHOUT_ASSOCIATIONS)}, "to": {"id": str(CONTACTS[0])}, "type": "deal_to_contact"}
    response = api(box, token="t").post("/crm/v3/associations/deals/contacts/batch/create", {"inputs": [edge]})
    assert response.status_code == 201


def test_configure_refuses_unknown_knobs_and_invalid_values(sandbox: SandboxFactory) -> None:
    box = sandbox()
    with pytest.raises(ValueError, match="unknown sandbox knob"):
        box.configure(speed=11)
    with pytest.raises(ValueError, match="create_status"):
        box.configure(create_status=202)
    with pytest.raises(ValueError, match="cannot change while the sandbox runs"):
        box.configure(port=1)


def test_config_accepts_lists_for_its_collections() -> None:
    config = SandboxConfig(tokens=["a", "b"], refresh_tokens=["r"], fault_5xx_statuses=[503])
    assert (config.tokens, config.refresh_tokens, config.fault_5xx_statuses) == (
        frozenset({"a", "b"}), frozenset({"r"}), (503,))


def test_inspection_routes_change_knobs_and_schedule_faults(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    caller = api(box, token=None)
    assert caller.post("/_sandbox/config", {"rate_limit": 7}).json()["rate_limit"] == 7
    assert box.config.rate_limit == 7
    assert caller.post("/_sandbox/faults", {"kind": "5xx:502", "count": 1, "route": TYPES_ROUTE}).status_code == 204
    assert api(box).get(TYPES).status_code == 502
    assert caller.post("/_sandbox/config", {"nope": 1}).status_code == 400


def test_inspection_routes_report_counters_and_associations(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(seed="demo")
    caller = api(box, token=None)
    api(box).get(TYPES)
    assert caller.get("/_sandbox/counters").json()["statuses"] == {"200": 1}  # JSON keys are strings
    records = caller.get("/_sandbox/associations", **{"from": "contact", "to": "0-2"}).json()["results"]
    assert records == box.store.records("contacts", "companies")
    assert caller.post("/_sandbox/reset-counters").status_code == 204
    assert box.counters()["requests_total"] == 0


def test_inspection_can_clear_every_association(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(seed="demo")
    assert api(box, token=None).post("/_sandbox/clear-associations").status_code == 204
    assert box.store.records() == []
    assert box.store.object_ids("contacts")  # objects stay


def test_inspection_routes_are_not_counted(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    api(box, token=None).get("/_sandbox/counters")
    assert box.counters()["requests_total"] == 0
