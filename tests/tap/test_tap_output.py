"""The tap's output writer: the SDK's own lines, records written in blocks, none held back after a sync."""

from __future__ import annotations

import contextlib
import datetime
import io
from decimal import Decimal

import pytest
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import Message, RecordMessage, StateMessage

from hubassoc.errors import RetriesExhaustedError
from hubassoc.sandbox import Sandbox, SandboxConfig
from tap_hubassoc.output import RecordBufferingWriter
from tap_hubassoc.tap import TapHubAssoc
from tests.support.crm import v3_records
from tests.support.crm.paged import build_crm
from tests.support.runners import tap_config
from tests.support.singer import parse_messages, row

EXTRACTED = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)


def _record(i: int, **extra: object) -> RecordMessage:
    record = {"from_object_type": "contacts", "from_id": str(10_000_000_000 + i), "association_type_id": 279,
              "association_label": None, **extra}
    return RecordMessage(stream="associations", record=record, time_extracted=EXTRACTED)


def _written(messages: list[Message]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        writer = RecordBufferingWriter()
        for message in messages:
            writer.write_message(message)
    return out.getvalue()


def test_lines_are_exactly_the_sdk_writers_in_the_same_order() -> None:
    messages: list[Message] = [_record(1), _record(2), StateMessage(value={"bookmarks": {}}), _record(3),
                               StateMessage(value={"done": True})]
    assert _written(messages) == "".join(SingerWriter().format_message(m) + "\n" for m in messages)


def test_records_wait_for_the_next_message_which_never_overtakes_them() -> None:
    assert _written([_record(1), _record(2)]) == ""
    lines = _written([_record(1), _record(2), StateMessage(value={"n": 2})]).splitlines()
    assert [m["type"] for m in parse_messages(lines)] == ["RECORD", "RECORD", "STATE"]


def test_a_value_the_sdk_writes_its_own_way_is_written_the_sdks_way() -> None:
    """A stream map can put a Decimal in a record: the SDK writes it as a JSON number, not a string."""
    message = _record(1, amount=Decimal("1.50"))
    assert _written([message, StateMessage(value={})]).splitlines()[0] == SingerWriter().format_message(message)
    assert '"amount":1.50' in SingerWriter().format_message(message)


@pytest.mark.parametrize(
    "value",
    [True, 2**70, "Zoë", "\u2028 \x00 \x1f \x7f \" \\ /", 1.5, float("nan"), [1, "x"], {"nested": None},
     datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))],
    ids=["bool", "big-int", "non-ascii", "escapes", "float", "nan", "list", "object", "datetime"],
)
def test_any_value_a_stream_map_may_add_is_written_as_the_sdk_writes_it(value: object) -> None:
    """Records go through msgspec only when its line is sure to be the SDK's; any other value takes a slower path."""
    message = _record(1, extra=value)
    assert _written([message, StateMessage(value={})]).splitlines()[0] == SingerWriter().format_message(message)


def test_time_extracted_is_written_as_the_sdk_writes_it_across_seconds_and_zones() -> None:
    """The text of a whole second is reused for the records stamped within it (see output._isoformat)."""
    utc, india = datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    stamps = [EXTRACTED, EXTRACTED.replace(microsecond=1), EXTRACTED.replace(microsecond=0),
              EXTRACTED + datetime.timedelta(seconds=1), EXTRACTED.replace(tzinfo=india),
              datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=utc), EXTRACTED]
    messages: list[Message] = [
        RecordMessage(stream="associations", record={"n": n}, time_extracted=stamp) for n, stamp in enumerate(stamps)]
    expected = "".join(SingerWriter().format_message(m) + "\n" for m in messages)
    assert _written([*messages, StateMessage(value={})]) == expected + '{"type":"STATE","value":{}}\n'


def test_records_emitted_before_a_failure_are_written_though_no_state_follows_them() -> None:
    """A batch's records are emitted pair by pair; when its second pair's read fails, the first pair's records
    (no STATE after them yet) still reach stdout before the run fails."""
    out = io.StringIO()
    crm = build_crm()
    pairs = [{"from": "contacts", "to": "deals"}, {"from": "contacts", "to": "companies"}]
    with Sandbox(SandboxConfig(rate_limit=10_000), crm) as box:
        box.schedule_faults("5xx:500", count=1, route="POST /crm/v3/associations/contacts/companies/batch/read")
        tap = TapHubAssoc(config=tap_config(box.url, associations=pairs, max_attempts=1, read_each_pair_once=False))
        try:
            with pytest.raises(RetriesExhaustedError), contextlib.redirect_stdout(out):
                tap.sync_all()
        finally:
            tap.close()
    messages = parse_messages(out.getvalue().splitlines())
    emitted = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "associations"]
    assert messages[-1]["type"] == "RECORD"
    assert {row(r) for r in emitted} == {row(r) for r in v3_records(crm, "contacts", "deals")}
