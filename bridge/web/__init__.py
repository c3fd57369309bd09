"""Flask blueprints that are neither SCIM nor the portal."""
