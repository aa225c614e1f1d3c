"""target-hubassoc: Singer records written to HubSpot as associations."""
