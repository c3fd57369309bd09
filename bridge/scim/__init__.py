"""SCIM 2.0 (RFC 7643/7644) at /scim/v2: Flask views over the directory's people and groups."""

from bridge.scim.blueprint import init_app

__all__ = ["init_app"]
