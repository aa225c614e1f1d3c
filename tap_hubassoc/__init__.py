"""tap-hubassoc: HubSpot CRM associations as Singer records."""
