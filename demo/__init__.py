"""The one-command demo: both directions of a Meltano pipeline against a local sandbox HubSpot."""
