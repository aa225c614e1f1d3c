"""The demo's business rule, in SQL over the replicated associations: the changes to send back to HubSpot.

Rule: a company is linked to every deal of the contacts it is the primary company of. The warehouse keeps the
links it wants in ``desired_links``, then compares them with the replicated ``associations`` table (rows with
``_sdc_deleted_at IS NULL`` are the current ones) into ``links_to_add`` and ``links_to_remove``, the two tables
tap-postgres reads (as streams ``public-links_to_add`` and ``public-links_to_remove``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from demo.pipeline import MeltanoProject
from demo.warehouse import Database

# target-hubassoc's stream_actions, keyed by the tables' names (streams are named <schema>-<table>).
STREAM_ACTIONS = {"links_to_add": "create", "links_to_remove": "archive"}

# companies->contacts type 2 is "primary company of the contact"; companies->deals 342 is the unlabeled link
# this rule owns (labeled and primary links are left alone).
DESIRED_LINKS = """
DROP TABLE IF EXISTS desired_links;
CREATE TABLE desired_links (
    from_object_type text NOT NULL, from_id bigint NOT NULL, to_object_type text NOT NULL, to_id bigint NOT NULL,
    PRIMARY KEY (from_object_type, from_id, to_object_type, to_id)
);
INSERT INTO desired_links
SELECT DISTINCT 'companies', company.from_id::bigint, 'deals', deal.to_id::bigint
FROM hubspot.associations AS company
JOIN hubspot.associations AS deal
  ON deal.from_object_type = 'contacts' AND deal.to_object_type = 'deals' AND deal.from_id = company.to_id
 AND deal._sdc_deleted_at IS NULL
WHERE company.from_object_type = 'companies' AND company.to_object_type = 'contacts'
  AND company.association_type_id = 2 AND company._sdc_deleted_at IS NULL;
"""

# Without a type column the target creates the pair's unlabeled association.
LINKS_TO_ADD = """
DROP TABLE IF EXISTS links_to_add;
CREATE TABLE links_to_add (
    from_object_type text NOT NULL, from_id bigint NOT NULL, to_object_type text NOT NULL, to_id bigint NOT NULL,
    PRIMARY KEY (from_object_type, from_id, to_object_type, to_id)
);
INSERT INTO links_to_add
SELECT want.* FROM desired_links AS want
WHERE NOT EXISTS (
    SELECT 1 FROM hubspot.associations AS have
    WHERE have._sdc_deleted_at IS NULL AND have.from_object_type = want.from_object_type
      AND have.from_id = want.from_id::text AND have.to_object_type = want.to_object_type
      AND have.to_id = want.to_id::text
);
"""

LINKS_TO_REMOVE = """
DROP TABLE IF EXISTS links_to_remove;
CREATE TABLE links_to_remove (
    from_object_type text NOT NULL, from_id bigint NOT NULL, to_object_type text NOT NULL, to_id bigint NOT NULL,
    association_type_id bigint NOT NULL,
    PRIMARY KEY (from_object_type, from_id, to_object_type, to_id, association_type_id)
);
INSERT INTO links_to_remove
SELECT have.from_object_type, have.from_id::bigint, have.to_object_type, have.to_id::bigint, have.association_type_id
FROM hubspot.associations AS have
WHERE have._sdc_deleted_at IS NULL AND have.from_object_type = 'companies' AND have.to_object_type = 'deals'
  AND have.association_type_id = 342
  AND NOT EXISTS (
    SELECT 1 FROM desired_links AS want
    WHERE want.from_id::text = have.from_id AND want.to_id::text = have.to_id
);
"""

# What the rule still finds wrong in the replicated table: desired links missing, unwanted links present.
STILL_MISSING = """
SELECT count(*) FROM desired_links AS want
WHERE NOT EXISTS (
    SELECT 1 FROM hubspot.associations AS have
    WHERE have._sdc_deleted_at IS NULL AND have.from_object_type = want.from_object_type
      AND have.from_id = want.from_id::text AND have.to_object_type = want.to_object_type
      AND have.to_id = want.to_id::text
)
"""
STILL_PRESENT = """
SELECT count(*) FROM links_to_remove AS gone
JOIN hubspot.associations AS have
  ON have._sdc_deleted_at IS NULL AND have.from_object_type = gone.from_object_type
 AND have.from_id = gone.from_id::text AND have.to_object_type = gone.to_object_type
 AND have.to_id = gone.to_id::text AND have.association_type_id = gone.association_type_id
"""


@dataclass(frozen=True)
class WarehouseCounts:
    """Rows in the replicated table and what the rule makes of them."""

    current: int
    soft_deleted: int
    desired: int
    missing: int
    unwanted: int

    @property
    def as_wanted(self) -> bool:
        """Whether the replicated table holds every desired link and none of the unwanted ones."""
        return self.missing == 0 and self.unwanted == 0


def compute_changes(db: Database) -> None:
    """(Re)build desired_links, links_to_add and links_to_remove from the replicated associations."""
    db.execute(DESIRED_LINKS + LINKS_TO_ADD + LINKS_TO_REMOVE)


def count(db: Database) -> WarehouseCounts:
    """The warehouse as the rule sees it now (the change tables as last computed)."""
    return WarehouseCounts(
        current=db.scalar("SELECT count(*) FROM hubspot.associations WHERE _sdc_deleted_at IS NULL"),
        soft_deleted=db.scalar("SELECT count(*) FROM hubspot.associations WHERE _sdc_deleted_at IS NOT NULL"),
        desired=db.scalar("SELECT count(*) FROM desired_links"),
        missing=db.scalar(STILL_MISSING),
        unwanted=db.scalar(STILL_PRESENT),
    )


def load_changes(project: MeltanoProject) -> None:
    """`meltano run tap-postgres target-hubassoc`: the change tables meltano.yml selects, with their actions."""
    project.with_settings({"TARGET_HUBASSOC_STREAM_ACTIONS": json.dumps(STREAM_ACTIONS)}).run(
        "tap-postgres", "target-hubassoc")


@dataclass(frozen=True)
class ReverseEtlTraffic:
    """What the reverse-ETL run sent to the sandbox, which is what HubSpot would have seen."""

    creates: int
    archives: int
    api_calls: int
    rate_limited: int

    @classmethod
    def from_counters(cls, counters: dict[str, Any]) -> ReverseEtlTraffic:
        """Inputs by write endpoint, from the sandbox's counters."""
        inputs = counters["inputs"]
        return cls(
            creates=sum(n for route, n in inputs.items() if route.endswith("/batch/create")),
            archives=sum(n for route, n in inputs.items() if route.endswith("/batch/archive")),
            api_calls=counters["requests_total"], rate_limited=counters["rate_limited"],
        )
