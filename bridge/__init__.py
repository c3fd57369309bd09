"""mims-bridge: SCIM 2.0 server, OpenLDAP writer and self-service password reset for MIMS."""

from bridge.app import create_app

__all__ = ["create_app"]
