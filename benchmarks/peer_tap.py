"""MeltanoLabs tap-hubspot pointed at the sandbox: ``<peer python> peer_tap.py <api_url> --config ...``.

Its streams hard-code ``https://api.hubapi.com``; this wrapper replaces that base URL on the two stream classes
its association streams use (the id listing and v4 batch read) and offers only the association streams, so a
run makes the requests its associations need and nothing else. Run with the peer's own interpreter: the peer
is installed in a virtualenv of its own, never into this project's.
"""

from __future__ import annotations

import sys

from tap_hubspot import client
from tap_hubspot.tap import TapHubspot

API_URL = sys.argv.pop(1).rstrip("/")
client.IdOnlyObjectStream.url_base = property(lambda self: f"{API_URL}/crm/v3")
client.AssociationsStream.url_base = property(lambda self: f"{API_URL}/crm/v4")


class PeerAssociationsOnly(TapHubspot):
    """The peer's association streams only (its other streams need endpoints the sandbox does not serve)."""

    def discover_streams(self) -> list[client.AssociationsStream]:
        pairs = self.config.get("associations", {})
        return [client.AssociationsStream(self, a, b) for a, targets in pairs.items() for b in targets]


if __name__ == "__main__":
    PeerAssociationsOnly.cli()
