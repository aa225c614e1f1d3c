"""The v4 and 2026-03 association routes: one set of templates per version, the same handlers for both.

Only the path prefix differs between the two APIs (:func:`hubassoc.api_version.associations_prefix`), so
each route kind is listed once here and stamped out per version. Route names carry the version
(``batch_read@2026-03``) so counters keep the two apart; ``v4_handlers`` maps both to one function.
This module imports no handler, so :mod:`hubassoc.sandbox.routes` can include it.
"""

from __future__ import annotations

from hubassoc.api_version import LABELLED_VERSIONS, associations_prefix

# kind -> (method, path after "{prefix}/{from}/{to}/", whether it writes)
KINDS: dict[str, tuple[str, str, bool]] = {
    "labels": ("GET", "labels", False),
    "create_label": ("POST", "labels", True),
    "batch_read": ("POST", "batch/read", False),
    "batch_create": ("POST", "batch/create", True),
    "associate_default": ("POST", "batch/associate/default", True),
    "labels_archive": ("POST", "batch/labels/archive", True),
    "batch_archive": ("POST", "batch/archive", True),
}


def route_name(kind: str, version: str) -> str:
    """The route name of one kind in one version, e.g. ``batch_read@v4``."""
    return f"{kind}@{version}"


def kind_of(name: str) -> str:
    """The kind of a route name (``batch_read@v4`` -> ``batch_read``)."""
    return name.partition("@")[0]


def _template(name: str) -> tuple[str, str]:
    kind, _, version = name.partition("@")
    method, tail, _ = KINDS[kind]
    return method, f"{associations_prefix(version)}/{{from}}/{{to}}/{tail}"


NAMES = [route_name(kind, version) for version in LABELLED_VERSIONS for kind in KINDS]
TEMPLATES: dict[str, tuple[str, str]] = {name: _template(name) for name in NAMES}
WRITES = frozenset(name for name in NAMES if KINDS[kind_of(name)][2])
