"""The SDK's standard target tests, hand-picked, each fed association records and checking the sandbox.

Subclasses of the SDK's tests (as MeltanoLabs target-postgres and target-snowflake do): each reads its own
``standard_streams/<name>.singer`` with the same intent as the SDK's file, and ``validate()`` asserts what
HubSpot holds afterwards. The suite runs with batch_size_rows=2 and max_workers=1, so flushes (and STATE
checkpoints) happen every two records.

Left out, and why:
- TargetArrayData, TargetCamelcaseTest, TargetCamelcaseComplexSchema, TargetSpecialCharsInAttributes: they
  check how a target stores arbitrary columns and nested or array values. This target stores no columns: it
  reads six fixed association fields and ignores the rest (their own ``a5`` array and ``info`` strings ride
  along in schema_updates and encoded_string_data here), so those files would only exercise dead-lettering of
  records that are not associations, which TargetRecordMissingRequiredProperty already covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.target_tests import (
    TargetCliPrintsTest,
    TargetDuplicateRecords,
    TargetEncodedStringData,
    TargetInvalidSchemaTest,
    TargetMultipleStateMessages,
    TargetNoPrimaryKeys,
    TargetOptionalAttributes,
    TargetPrimaryKeyUpdates,
    TargetRecordBeforeSchemaTest,
    TargetRecordMissingKeyProperty,
    TargetRecordMissingOptionalFields,
    TargetRecordMissingRequiredProperty,
    TargetSchemaNoProperties,
    TargetSchemaUpdates,
)

from hubassoc.sandbox import Sandbox
from target_hubassoc.target import TargetHubAssoc
from tests.support.crm import UNLABELED
from tests.support.crm.small import billing_type_id
from tests.support.dead_letters import read_dead_letters
from tests.support.runners import target_config
from tests.support.sandbox_api import SandboxFactory, assert_only

STREAMS = Path(__file__).parent / "standard_streams"
CREATE_ROUTE = "POST /crm/v3/associations/contacts/companies/batch/create"


@dataclass
class Crm:
    """What a suite test's ``validate()`` looks at: the sandbox and the dead-letter file."""

    box: Sandbox
    dead_letters: Path

    def letters(self) -> list[dict[str, Any]]:
        """The dead letters written so far."""
        return read_dead_letters(self.dead_letters)


def _unlabeled(*pairs: tuple[int, int]) -> set[tuple[int, int, int]]:
    return {(contact, company, UNLABELED) for contact, company in pairs}


class DuplicateRecords(TargetDuplicateRecords):
    singer_filepath = STREAMS / "duplicate_records.singer"

    def setup(self) -> None:
        """One flush for all five records, so duplicates meet in one buffer."""
        self.runner.config.update(batch_size_rows=2000)

    def validate(self) -> None:
        """The last record per key wins and each association is sent once."""
        assert_only(self.resource.box, _unlabeled((101, 201), (102, 202)))
        assert self.resource.box.counters()["inputs"][CREATE_ROUTE] == 2


class EncodedStringData(TargetEncodedStringData):
    singer_filepath = STREAMS / "encoded_string_data.singer"

    def validate(self) -> None:
        """Non-ASCII and escaped strings survive into the dead-letter file exactly as they came in."""
        assert_only(self.resource.box, _unlabeled(*((101 + i, 201 + i) for i in range(8))))
        letters = self.resource.letters()
        assert [letter["record"]["association_type"] for letter in letters] == [
            letter["record"]["info"] for letter in letters]
        assert letters[1]["record"]["info"] == "απλή συμβολοσειρά"
        assert letters[7]["record"]["info"] == "Control Characters in string: \u0000 \u0041 \u0001"


class InvalidSchema(TargetInvalidSchemaTest):
    def validate(self) -> None:
        """The SDK's own file: a schema without properties stops the run before anything is sent."""
        assert self.resource.box.counters()["requests_total"] == 0


class MultipleStateMessages(TargetMultipleStateMessages):
    singer_filepath = STREAMS / "multiple_state_messages.singer"

    def test(self) -> None:
        """A STATE comes out after each flush, and only the latest one seen before the flush."""
        self.runner.sync_all()
        a, b = "test_multiple_state_messages_a", "test_multiple_state_messages_b"
        assert self.runner.state_messages == [{a: 2, b: 1}, {a: 3, b: 2}, {a: 4, b: 3}]

    def validate(self) -> None:
        assert_only(self.resource.box, _unlabeled(*((101 + i, 201 + i) for i in range(6))))


class NoPrimaryKeys(TargetNoPrimaryKeys):
    singer_filepath = STREAMS / "no_primary_keys.singer"

    def validate(self) -> None:
        assert_only(self.resource.box, _unlabeled((101, 201), (102, 202), (103, 203)))


class OptionalAttributes(TargetOptionalAttributes):
    singer_filepath = STREAMS / "optional_attributes.singer"

    def validate(self) -> None:
        """The type is optional: by name, by id, or absent (the ordinary type)."""
        billing = billing_type_id(self.resource.box)
        assert_only(self.resource.box, {(101, 201, billing), *_unlabeled((102, 202), (103, 203), (104, 204))})


class PrimaryKeyUpdates(TargetPrimaryKeyUpdates):
    singer_filepath = STREAMS / "pk_updates.singer"

    def validate(self) -> None:
        """A new sink after the key change shares the writer: its archive follows the old sink's create."""
        assert_only(self.resource.box, _unlabeled((102, 202), (103, 203)))


class RecordBeforeSchema(TargetRecordBeforeSchemaTest):
    def validate(self) -> None:
        """The SDK's own file: the run stops at the first line, nothing is sent."""
        assert self.resource.box.counters()["requests_total"] == 0


class RecordMissingKeyProperty(TargetRecordMissingKeyProperty):
    singer_filepath = STREAMS / "record_missing_key_property.singer"

    def validate(self) -> None:
        """A record without its stream's key properties breaks the Singer contract: stop at it.

        What was read before the bad line is written first (so its STATE can follow); nothing after it is.
        """
        assert_only(self.resource.box, _unlabeled((101, 201)))


class RecordMissingOptionalFields(TargetRecordMissingOptionalFields):
    singer_filepath = STREAMS / "record_missing_fields.singer"

    def validate(self) -> None:
        assert_only(self.resource.box, _unlabeled((101, 201), (102, 202)))


class RecordMissingRequiredProperty(TargetRecordMissingRequiredProperty):
    singer_filepath = STREAMS / "record_missing_required_property.singer"

    def validate(self) -> None:
        """A record without to_id is dead-lettered with the reason; the stream goes on."""
        assert_only(self.resource.box, _unlabeled((102, 202)))
        [letter] = self.resource.letters()
        assert letter["reason"].startswith("missing to_id")
        assert letter["stream"] == "test_record_missing_required_property"


class SchemaNoProperties(TargetSchemaNoProperties):
    singer_filepath = STREAMS / "schema_no_properties.singer"

    def validate(self) -> None:
        """The fields a record carries count, whatever its schema declares."""
        assert_only(self.resource.box, _unlabeled((101, 201), (102, 202), (103, 203)))


class SchemaUpdates(TargetSchemaUpdates):
    singer_filepath = STREAMS / "schema_updates.singer"

    def validate(self) -> None:
        billing = billing_type_id(self.resource.box)
        assert_only(self.resource.box, {*_unlabeled((101, 201), (102, 202)), (103, 203, billing)})


hand_picked = SingerTestSuite(kind="target", tests=[
    TargetCliPrintsTest, DuplicateRecords, EncodedStringData, InvalidSchema, MultipleStateMessages, NoPrimaryKeys,
    OptionalAttributes, PrimaryKeyUpdates, RecordBeforeSchema, RecordMissingKeyProperty,
    RecordMissingOptionalFields, RecordMissingRequiredProperty, SchemaNoProperties, SchemaUpdates,
])

StandardTargetTests = get_target_test_class(
    TargetHubAssoc, config={}, custom_suites=[hand_picked], include_target_tests=False,
)


class TestTargetHubAssocStandard(StandardTargetTests):  # type: ignore[misc,valid-type]
    """The hand-picked suite against a fresh sandbox per test."""

    @pytest.fixture
    def resource(self, crm: SandboxFactory, dead_letters: Path) -> Crm:
        return Crm(crm(), dead_letters)

    @pytest.fixture
    def runner(self, resource: Crm) -> TargetTestRunner:
        settings = target_config(resource.box, resource.dead_letters, batch_size_rows=2, max_workers=1,
                                 max_rejected_records=100)
        return TargetTestRunner(TargetHubAssoc, config=settings)
