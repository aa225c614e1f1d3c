"""HubSpot's documented numeric limits: the client obeys them and the sandbox enforces them, from this one place."""

from __future__ import annotations

LIST_PAGE_LIMIT = 100  # GET /crm/v3/objects: limit is at most 100
BATCH_READ_PAGE = 100  # batch read returns at most 100 associations per object, then a paging cursor
PER_OBJECT_PAGE_LIMIT = 500  # per-object associations endpoint
READ_BATCH_LIMIT = 1000  # batch/read inputs
OBJECTS_READ_LIMIT = 100  # POST /crm/v3/objects/{type}/batch/read (also by idProperty): inputs a call
WRITE_BATCH_LIMIT = 2000  # batch/create inputs; archive's limit is undocumented, so the same
SEARCH_PAGE_LIMIT = 200  # POST /crm/v3/objects/{type}/search: limit is at most 200
SEARCH_MAX_RESULTS = 10_000  # search stops there, however many objects match
SEARCH_PER_SECOND = 5  # search's own limit, besides the window every request spends
TRANSIENT_5XX = (500, 502, 503, 504, 521, 523, 524)  # statuses HubSpot documents as retryable after a pause

# The rate-limit headers on every reply (hubspot-associations-api.md, "Rate limits"): the client reads them, the
# sandbox sends them.
LIMIT_INTERVAL_HEADER = "X-HubSpot-RateLimit-Interval-Milliseconds"
LIMIT_MAX_HEADER = "X-HubSpot-RateLimit-Max"
LIMIT_REMAINING_HEADER = "X-HubSpot-RateLimit-Remaining"
DAILY_LIMIT_HEADER = "X-HubSpot-RateLimit-Daily"
DAILY_REMAINING_HEADER = "X-HubSpot-RateLimit-Daily-Remaining"
