"""The checks ``mims doctor`` adds to readiness: certificates, secrets, disk, replication.

Each returns a :class:`~bridge.core.health.Check` whose words name the file or figure seen
and whose fix says what to do. The thresholds are the ones the local CA renews at (30 days)
and what a school's server can recover from without losing writes (disk, replication).
"""

from __future__ import annotations

import re
import shutil
import stat
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from bridge.core.health import Check

# The local CA renews a certificate 30 days before its end (directory/local_ca.py).
CERTIFICATE_WARN = timedelta(days=30)
DISK_WARN = 0.10  # free share of the data folder's file system
DISK_FAIL = 0.02
REPLICATION_WARN_SECONDS = 60.0
# A CSN: 20261204150102.123456Z#000000#001#000000 (time, count, serverID, modifier).
_CSN = re.compile(r"^(\d{14})(?:\.(\d+))?Z#[0-9a-f]+#([0-9a-f]+)#")


def certificate(name: str, path: Path, now: datetime | None = None) -> Check:
    """Check that a PEM certificate file is readable and more than 30 days from its end."""
    check = f"certificate:{name}"
    try:
        found = x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as error:
        return Check(check, "fail", f"{path}: {error.strerror}", "give a readable PEM file")
    except ValueError:
        return Check(check, "fail", f"{path} is not a PEM certificate", "give a PEM certificate")
    now = now or datetime.now(UTC)
    left = found.not_valid_after_utc - now
    end = f"{found.not_valid_after_utc:%Y-%m-%d}"
    renew = f"renew {path} (the local CA's own renew at mims serve's next start)"
    if left <= timedelta(0):
        return Check(check, "fail", f"{path} expired on {end}", renew)
    if left < CERTIFICATE_WARN:
        return Check(check, "warn", f"{path} expires on {end}, in {left.days} days", renew)
    return Check(check, "ok", f"{path} valid until {end} ({left.days} days)")


def secrets(paths: Iterable[Path]) -> Check:
    """Check that no secret file can be read or written by anyone but its owner (0600)."""
    loose: list[tuple[Path, int]] = []
    seen = 0
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        seen += 1
        if mode & 0o077:
            loose.append((path, mode))
    if loose:
        words = "; ".join(f"{path} is {mode:04o}, open beyond its owner" for path, mode in loose)
        return Check("secrets", "fail", words, "chmod 600 " + " ".join(str(p) for p, _ in loose))
    return Check("secrets", "ok", f"{seen} secret files, each 0600 or stricter")


def disk(folder: Path) -> Check:
    """Check the free space of the data folder's file system (slapd stops writing when full)."""
    try:
        usage = shutil.disk_usage(folder)
    except OSError as error:
        return Check("disk", "fail", f"{folder}: {error.strerror}", "make the data folder")
    share = usage.free / usage.total if usage.total else 0.0
    words = f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB ({share:.0%})"
    fix = f"free space on the file system of {folder} (old backups, logs)"
    if share < DISK_FAIL:
        return Check("disk", "fail", words, fix)
    if share < DISK_WARN:
        return Check("disk", "warn", words, fix)
    return Check("disk", "ok", words)


def csn_time(csn: str) -> tuple[str, datetime] | None:
    """Return (serverID, time) of a CSN, None if it is not one."""
    found = _CSN.match(csn)
    if found is None:
        return None
    moment = datetime.strptime(found.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    fraction = found.group(2) or "0"
    return found.group(3), moment + timedelta(microseconds=int(fraction[:6].ljust(6, "0")))


def replication_lag(own: Iterable[str], theirs: Iterable[str]) -> float | None:
    """Return the seconds between two providers' newest changes, per serverID, at most.

    None when one of them has a serverID the other has none of: that server's changes never
    reached it.
    """
    mine = dict(found for found in (csn_time(c) for c in own) if found)
    peer = dict(found for found in (csn_time(c) for c in theirs) if found)
    if mine.keys() != peer.keys():
        return None
    return max((abs((mine[sid] - peer[sid]).total_seconds()) for sid in mine), default=0.0)


def replication(peer: str, own: list[str], theirs: list[str]) -> Check:
    """Check how far this provider and its peer are apart (contextCSN per serverID)."""
    lag = replication_lag(own, theirs)
    words = (
        f"{peer}: {lag:.0f} s apart"
        if lag is not None
        else f"{peer}: one provider has changes from a server the other never received"
    )
    if lag is None or lag > REPLICATION_WARN_SECONDS:
        return Check(
            "replication",
            "warn",
            words,
            "see mims slapd status and DATA/slapd.log on both (a cut link, a refused bind)",
        )
    return Check("replication", "ok", words)
