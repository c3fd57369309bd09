"""The SCIM 2.0 service (RFC 7643, RFC 7644): filters, mapping, views."""
