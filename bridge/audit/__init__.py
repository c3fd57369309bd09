"""The audit trail's file: JSON lines, 0600, rotated by size without losing a line."""

from bridge.audit.log_file import AuditFile

__all__ = ["AuditFile"]
