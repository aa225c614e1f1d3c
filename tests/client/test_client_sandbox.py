"""The client against the sandbox over real HTTP: exact results, paging, pacing, retries, auth, secrecy."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from hubassoc.associations_v3 import AssociationInput, AssociationsV3
from hubassoc.auth import Credentials
from hubassoc.client import ClientSettings, HubSpotClient
from hubassoc.errors import AuthenticationError, DailyLimitError, MissingScopesError, RetriesExhaustedError
from hubassoc.objects_api import ObjectsApi
from tests.support.clients import CLIENT_TOKEN, make_client
from tests.support.waiting import wait_until

READ = "POST /crm/v3/associations/contacts/companies/batch/read"
DEAL_CONTACT_READ = "POST /crm/v3/associations/deals/contacts/batch/read"


def expected_edges(store: Any, from_type: str, to_type: str, ids: list[str]) -> set[tuple[str, str, str]]:
    wanted = set(ids)
    return {(r["from_id"], r["to_id"], r["association_type"]) for r in store.records(from_type, to_type)
            if r["from_id"] in wanted}


@pytest.fixture
def crm(sandbox: Callable[..., Any]) -> Any:
    """Deals with 0, 1, 100, 101 and 250 contacts: HubSpot truncates batch reads at 100 per object."""
    box = sandbox(tokens=[CLIENT_TOKEN])
    store = box.store
    contacts = list(range(50_000_000_001, 50_000_000_301))
    store.add_objects("contacts", contacts)
    deals = {0: 90_000_000_001, 1: 90_000_000_002, 100: 90_000_000_003, 101: 90_000_000_004, 250: 90_000_000_005}
    store.add_objects("deals", deals.values())
    deal_to_contact = store.ordinary_type("deals", "contacts").type_id
    for count, deal in deals.items():
        for contact in contacts[:count]:
            store.associate("deals", deal, "contacts", contact, deal_to_contact)
    box.deals = deals
    return box


def test_batch_read_equals_the_store_whatever_the_input_order(crm: Any) -> None:
    ids = [str(d) for d in reversed(list(crm.deals.values()))]
    with make_client(crm.url) as client:
        edges = AssociationsV3(client).batch_read("deals", "contacts", ids)
    assert {(e.from_id, e.to_id, e.type_name) for e in edges} == expected_edges(crm.store, "deals", "contacts", ids)
    assert len(edges) == 0 + 1 + 100 + 101 + 250


def test_object_with_250_associations_comes_back_whole_through_per_object_paging(crm: Any) -> None:
    deal = str(crm.deals[250])
    with make_client(crm.url) as client:
        edges = AssociationsV3(client).batch_read("deals", "contacts", [deal])
    assert len({e.to_id for e in edges}) == 250
    counts = crm.counters()["requests"]
    assert counts[DEAL_CONTACT_READ] == 1
    # 100 came with the batch read; the other 150 fit one per-object page of up to 500.
    assert counts["GET /crm/v3/objects/deals/{id}/associations/contacts"] == 1


def test_objects_past_100_associations_are_paged_side_by_side_within_one_batch_read(crm: Any) -> None:
    """Each truncated object is a chain of its own (its cursor works only on its per-object endpoint), so a
    batch's objects past 100 are read at once, not one after another: one batch read is not a long chain."""
    crm.configure(latency_ms=100)
    ids = [str(crm.deals[101]), str(crm.deals[250])]
    with make_client(crm.url, max_workers=4) as client:
        edges = AssociationsV3(client).batch_read("deals", "contacts", ids)
    assert len(edges) == 101 + 250
    assert [e.from_id for e in edges] == [ids[0]] * 101 + [ids[1]] * 250  # still in input order, each whole
    counters = crm.counters()
    assert counters["requests"]["GET /crm/v3/objects/deals/{id}/associations/contacts"] == 2
    assert counters["peak_concurrency"] == 2


def test_ids_without_associations_give_no_rows_and_no_error(crm: Any) -> None:
    """HubSpot answers 207 NO_ASSOCIATIONS_FOUND for them: that is data, not a failure."""
    with make_client(crm.url) as client:
        assert AssociationsV3(client).batch_read("deals", "contacts", [str(crm.deals[0])]) == []
    assert crm.counters()["statuses"].get("207") or crm.counters()["statuses"].get(207)


def test_list_object_ids_pages_by_100_and_yields_every_id(crm: Any) -> None:
    with make_client(crm.url) as client:
        pages = list(ObjectsApi(client).list_object_ids("Contacts"))
    assert pages[0].after is None
    assert sum(len(p.ids) for p in pages) == 300
    assert crm.counters()["requests"]["GET /crm/v3/objects/contacts"] == 3


def test_budget_of_20_per_second_is_sustained_near_the_budget_without_429(sandbox: Callable[..., Any]) -> None:
    """100 concurrent requests, a 1-second window of 20: the sandbox's own clock measures the rate."""
    box = sandbox(tokens=[CLIENT_TOKEN], rate_limit=20, window_seconds=1.0, seed="demo")
    with make_client(box.url, requests_per_10s=200, window_seconds=1.0, max_workers=16) as client:
        v3 = AssociationsV3(client)
        results = list(client.map_ordered(lambda _: v3.association_types("contacts", "companies"), range(100)))
    assert len(results) == 100
    counters = box.counters()
    assert counters["rate_limited"] == 0
    times = sorted(e["time"] for e in counters["request_log"] if e["route"].endswith("/types"))
    # After the first window's allowance of 20, the rest are paced: 80 requests over the span since then.
    achieved = (len(times) - 20) / (times[-1] - times[0])
    print(f"achieved {achieved:.1f} requests/s against a budget of 20/s ({achieved / 20:.0%})")
    assert achieved >= 0.9 * 20


def test_429_bursts_and_10_percent_5xx_are_survived_with_exact_results(crm: Any) -> None:
    crm.configure(fault_5xx=0.10, fault_seed=7)
    crm.schedule_faults("429", 5)
    ids = [str(d) for d in crm.deals.values()]
    with make_client(crm.url, max_attempts=10) as client:
        runs = [AssociationsV3(client).batch_read("deals", "contacts", ids) for _ in range(5)]
        stats = client.stats.snapshot()
    want = expected_edges(crm.store, "deals", "contacts", ids)
    assert all({(e.from_id, e.to_id, e.type_name) for e in edges} == want for edges in runs)
    faults = crm.counters()["faults_injected"]
    assert sum(faults.values()) >= 5
    assert stats["retries"] == sum(faults.values())


def test_retry_after_is_honoured(sandbox: Callable[..., Any]) -> None:
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo", retry_after=1)
    box.schedule_faults("429", 1)
    with make_client(box.url, backoff_base=0.0, backoff_max=0.0) as client:
        AssociationsV3(client).association_types("contacts", "companies")
    log = [e for e in box.counters()["request_log"] if e["route"].endswith("/types")]
    assert [e["status"] for e in log] == [429, 200]
    assert log[1]["time"] - log[0]["time"] >= 1.0


def test_daily_limit_fails_fast_and_says_when_it_resets(sandbox: Callable[..., Any]) -> None:
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo")
    box.schedule_faults("429-daily", 1)
    with make_client(box.url) as client, pytest.raises(DailyLimitError, match="resets at midnight"):
        AssociationsV3(client).association_types("contacts", "companies")
    assert box.counters()["requests_total"] == 1


def test_after_the_daily_limit_no_request_is_sent_until_the_run_ends(sandbox: Callable[..., Any]) -> None:
    """Until midnight in the account's time zone every request would be one more 429 (HubSpot asks that error
    responses stay under 5 % of a day's requests): other threads' requests fail at once, without sending."""
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo")
    box.schedule_faults("429-daily", 1)
    with make_client(box.url) as client:
        the_next_call_fails_without_sending(box, client, DailyLimitError, "resets at midnight")
    assert box.counters()["requests_total"] == 1


def the_next_call_fails_without_sending(box: Any, client: HubSpotClient, error: type[Exception], says: str) -> None:
    """A call meets a final answer from HubSpot; the next one fails at once with it, and sends nothing."""
    with pytest.raises(error):
        AssociationsV3(client).association_types("contacts", "companies")
    sent = box.counters()["requests_total"]
    with pytest.raises(error, match=says):
        AssociationsV3(client).association_types("contacts", "deals")
    assert box.counters()["requests_total"] == sent


def test_missing_scope_is_named_and_not_retried(sandbox: Callable[..., Any]) -> None:
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo", token_scopes={CLIENT_TOKEN: ["crm.objects.companies.read"]})
    with make_client(box.url) as client, pytest.raises(MissingScopesError, match=r"crm\.objects\.contacts\.read"):
        AssociationsV3(client).association_types("contacts", "companies")
    assert box.counters()["requests_total"] == 1


def test_wrong_token_fails_once_without_a_retry_storm(sandbox: Callable[..., Any]) -> None:
    box = sandbox(tokens=["another-token"], seed="demo")
    with make_client(box.url) as client, pytest.raises(AuthenticationError):
        AssociationsV3(client).association_types("contacts", "companies")
    assert box.counters()["requests_total"] == 1


def test_oauth_token_is_refreshed_once_when_it_expires_under_concurrency(sandbox: Callable[..., Any]) -> None:
    box = sandbox(seed="demo", oauth_clients={"cid": "csecret"}, refresh_tokens={"rtoken"})
    creds = Credentials.from_config({"client_id": "cid", "client_secret": "csecret", "refresh_token": "rtoken"})
    with HubSpotClient(ClientSettings(api_url=box.url, max_workers=8), creds) as client:
        AssociationsV3(client).association_types("contacts", "companies")
        box.expire_access_tokens()
        barrier = threading.Barrier(8)

        def call(_: int) -> int:
            barrier.wait()
            return len(AssociationsV3(client).association_types("contacts", "companies"))

        assert len(list(client.map_ordered(call, range(8)))) == 8
    assert box.counters()["oauth_refreshes"] == 2  # the first token, then one refresh for all eight threads


def test_count_objects_is_the_search_total_in_one_request(crm: Any) -> None:
    with make_client(crm.url) as client:
        assert ObjectsApi(client).count_objects("contacts") == len(crm.store.object_ids("contacts"))
    assert crm.counters()["requests"] == {"POST /crm/v3/objects/contacts/search": 1}


def test_counting_more_types_than_search_allows_a_second_meets_no_429(crm: Any) -> None:
    """Search allows 5 requests a second (hubspot-associations-api.md), besides the window: the client waits."""
    with make_client(crm.url) as client:
        counts = list(client.map_ordered(ObjectsApi(client).count_objects, ["contacts", "deals"] * 4))
    assert counts == [300, 5] * 4
    assert crm.counters()["rate_limited"] == 0


def test_a_deferred_request_leaves_the_next_free_slot_to_a_request_waiting_beside_it(
    sandbox: Callable[..., Any],
) -> None:
    """The tap reads later partitions ahead as deferred work: the partition being read must not wait for it."""
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo")
    with make_client(box.url, requests_per_10s=20, window_seconds=0.5) as client:  # 1 request a window
        AssociationsV3(client).association_types("contacts", "companies")

        def early() -> None:
            with client.deferred():
                AssociationsV3(client).association_types("contacts", "deals")

        threads = [threading.Thread(target=early), threading.Thread(target=AssociationsV3(client).association_types,
                                                                    args=("deals", "contacts"))]
        for asked, thread in enumerate(threads, start=1):  # the deferred one waits first
            thread.start()
            wait_until(lambda asked=asked: client.pacer.waiting == asked, "each request to wait before the next asks")
        for thread in threads:
            thread.join()
    routes = [e["route"] for e in box.counters()["request_log"]]
    assert routes[1:] == ["GET /crm/v3/associations/deals/contacts/types",
                          "GET /crm/v3/associations/contacts/deals/types"]


OAUTH = {"client_id": "cid", "client_secret": "csecret", "refresh_token": "rtoken"}


def oauth_box(sandbox: Callable[..., Any]) -> Any:
    return sandbox(seed="demo", oauth_clients={"cid": "csecret"}, refresh_tokens={"rtoken"})


def test_a_rejected_token_is_never_sent_again(sandbox: Callable[..., Any]) -> None:
    """401 INVALID_AUTHENTICATION: the token is wrong or revoked and retrying cannot help, so every later
    request of the run fails at once with HubSpot's answer instead of meeting the same 401."""
    box = sandbox(tokens=["another-token"], seed="demo")
    with make_client(box.url) as client:
        the_next_call_fails_without_sending(box, client, AuthenticationError, "401 INVALID_AUTHENTICATION")
    assert box.counters()["requests_total"] == 1


def test_after_hubspot_refuses_the_refresh_no_request_is_sent(sandbox: Callable[..., Any]) -> None:
    """The expired access token is not sent again once the refresh token is refused (the app was uninstalled)."""
    box = oauth_box(sandbox)
    with HubSpotClient(ClientSettings(api_url=box.url), Credentials.from_config(OAUTH)) as client:
        AssociationsV3(client).association_types("contacts", "companies")
        box.configure(refresh_tokens=frozenset())
        box.expire_access_tokens()
        the_next_call_fails_without_sending(box, client, AuthenticationError, "refresh refused")


def test_a_request_that_waited_for_budget_sends_the_token_current_when_it_goes(
    sandbox: Callable[..., Any],
) -> None:
    """A request may wait seconds for budget; if the token is refreshed meanwhile, it must not send the old one
    (HubSpot would answer 401 EXPIRED_AUTHENTICATION to a token that is already replaced)."""
    box = oauth_box(sandbox)
    settings = ClientSettings(api_url=box.url, requests_per_10s=6, window_seconds=1.5)  # 1 request a window
    with HubSpotClient(settings, Credentials.from_config(OAUTH)) as client:
        v3 = AssociationsV3(client)
        v3.association_types("contacts", "companies")  # the window's one request: the next one waits
        waiting = threading.Thread(target=v3.association_types, args=("contacts", "deals"))
        waiting.start()
        # its next slot frees 1.5 s after the first request
        wait_until(lambda: client.pacer.waiting == 1, "the request to wait for the window")
        box.expire_access_tokens()
        client.tokens.refresh_after_expiry(client.tokens.bearer())  # as another thread would on its 401
        waiting.join()
    counters = box.counters()
    assert counters["oauth_refreshes"] == 2
    assert counters["statuses"].get(401, 0) == 0


def test_create_and_archive_write_the_store_and_report_refused_inputs(crm: Any) -> None:
    contact, deal = "50000000299", str(crm.deals[0])
    inputs = [AssociationInput(deal, contact, "deal_to_contact"), AssociationInput(deal, "123", "deal_to_contact")]
    with make_client(crm.url) as client:
        refused = AssociationsV3(client).batch_create("deals", "contacts", inputs)
        assert [e.input for e in refused] == [inputs[1]]
        assert expected_edges(crm.store, "deals", "contacts", [deal]) == {(deal, contact, "deal_to_contact")}
        assert AssociationsV3(client).batch_archive("deals", "contacts", inputs[:1]) == []
    assert expected_edges(crm.store, "deals", "contacts", [deal]) == set()


def test_a_create_refusing_half_its_inputs_names_exactly_those_in_batch_order(crm: Any) -> None:
    """HubSpot answers 207 with one error per id it does not know, beside the results of the rest."""
    deal = str(crm.deals[0])
    known = [str(50_000_000_001 + n) for n in range(300)]
    unknown = [str(60_000_000_001 + n) for n in range(300)]
    pairs = zip(known, unknown, strict=True)
    inputs = [AssociationInput(deal, contact, "deal_to_contact") for pair in pairs for contact in pair]
    with make_client(crm.url) as client:
        refused = AssociationsV3(client).batch_create("deals", "contacts", inputs)
    assert [e.input.to_id for e in refused if e.input is not None] == unknown
    assert len(refused) == len(unknown)
    assert expected_edges(crm.store, "deals", "contacts", [deal]) == {(deal, c, "deal_to_contact") for c in known}


def test_token_never_appears_in_logs_or_errors(sandbox: Callable[..., Any], caplog: pytest.LogCaptureFixture,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo", fault_5xx=0.5, fault_seed=3)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with make_client(box.url, max_attempts=2) as client:
        for _ in range(10):
            try:
                AssociationsV3(client).association_types("contacts", "companies")
            except RetriesExhaustedError as exc:
                texts += [str(exc), repr(exc)]
        texts.append(repr(client.tokens.bearer()))
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err, str(box.counters())]
    assert all(CLIENT_TOKEN not in text for text in texts)


# -- the environment -------------------------------------------------------------------------------------------


def test_a_proxy_in_the_environment_carries_the_requests(
    crm: Any, sandbox: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The client reads proxies from the environment once, not per request; it must still use them.

    A second sandbox plays the proxy: given the absolute URL a client sends a proxy, it answers it itself.
    """
    proxy = sandbox(tokens=[CLIENT_TOKEN])
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with make_client(crm.url) as client:
        AssociationsV3(client).association_types("deals", "contacts")
    assert proxy.counters()["requests_total"] == 1
    assert crm.counters()["requests_total"] == 0


def test_a_netrc_entry_for_the_host_does_not_replace_the_bearer_token(
    crm: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """requests, trusting the environment, sends a ~/.netrc login as basic auth in place of the token."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-the-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with make_client(crm.url) as client:
        AssociationsV3(client).association_types("deals", "contacts")  # a 401 would raise AuthenticationError
    assert crm.counters()["requests_total"] == 1


def test_requests_waiting_for_the_budget_are_sent_in_the_order_they_asked(sandbox: Callable[..., Any]) -> None:
    """The tap emits a batch's records after every earlier batch's, so its reads and pages must go in order."""
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo")
    pairs = [("contacts", "deals"), ("deals", "contacts"), ("companies", "deals"), ("deals", "companies")]
    with make_client(box.url, requests_per_10s=20, window_seconds=0.5) as client:  # 1 request a window
        AssociationsV3(client).association_types("contacts", "companies")
        threads = [threading.Thread(target=AssociationsV3(client).association_types, args=pair) for pair in pairs]
        for asked, thread in enumerate(threads, start=1):
            thread.start()
            wait_until(lambda asked=asked: client.pacer.waiting == asked, "each request to wait before the next asks")
        for thread in threads:
            thread.join()
    routes = [e["route"] for e in box.counters()["request_log"]]
    assert routes[1:] == [f"GET /crm/v3/associations/{a}/{b}/types" for a, b in pairs]


def test_a_request_long_in_flight_does_not_hold_back_the_slots_freed_after_it(
    sandbox: Callable[..., Any],
) -> None:
    """Replies come in any order; a slot frees one window after its own reply, not after every earlier one's."""
    box = sandbox(tokens=[CLIENT_TOKEN], seed="demo", slow_seconds=2.0)
    box.schedule_faults("slow", 1)
    with make_client(box.url, requests_per_10s=40, window_seconds=0.5, max_workers=2) as client:  # 2 a window
        slow = threading.Thread(target=AssociationsV3(client).association_types, args=("contacts", "companies"))
        slow.start()
        wait_until(lambda: box.counters()["peak_concurrency"] >= 1, "the slow request to be in flight")
        v3 = AssociationsV3(client)
        v3.association_types("contacts", "deals")
        v3.association_types("deals", "contacts")  # the window is full until the one before leaves it
        slow.join()
    log = {e["route"]: e for e in box.counters()["request_log"]}
    slow_reply = log["GET /crm/v3/associations/contacts/companies/types"]["time"]
    assert log["GET /crm/v3/associations/deals/contacts/types"]["started"] < slow_reply
