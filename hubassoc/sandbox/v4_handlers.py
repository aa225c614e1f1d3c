"""Which function answers each v4 / 2026-03 route: the same one for both versions."""

from __future__ import annotations

from collections.abc import Callable

from hubassoc.sandbox import v4_reads, v4_writes
from hubassoc.sandbox.call import Call
from hubassoc.sandbox.v4_routes import NAMES, kind_of
from hubassoc.sandbox.wire import Response

_BY_KIND: dict[str, Callable[[Call], Response]] = {
    "labels": v4_reads.list_labels,
    "create_label": v4_writes.create_label,
    "batch_read": v4_reads.batch_read,
    "batch_create": v4_writes.batch_create,
    "associate_default": v4_writes.associate_default,
    "labels_archive": v4_writes.labels_archive,
    "batch_archive": v4_writes.batch_archive,
}
HANDLERS: dict[str, Callable[[Call], Response]] = {name: _BY_KIND[kind_of(name)] for name in NAMES}
