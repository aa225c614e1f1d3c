"""Shared HubSpot knowledge for tap-hubassoc and target-hubassoc: object types, the HTTP client, the sandbox."""
