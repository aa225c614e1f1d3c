"""``python -m target_hubassoc``: the same CLI as the ``target-hubassoc`` console script."""

from __future__ import annotations

from target_hubassoc.target import TargetHubAssoc

TargetHubAssoc.cli()
