"""Back up a managed slapd's data folder into one archive, and restore it into an empty folder.

The archive is a tar.gz holding ``manifest.json`` (what made it), ``config.ldif`` (cn=config,
``slapcat -n 0``), ``data.ldif`` (the directory, ``slapcat -n 1``: slapcat reads a running mdb
in one read transaction, so the copy is consistent while slapd serves), the folder's secrets
(the bridge service account's and the portal's) and its ``tls/`` folder when there is one.
A restore loads both LDIF files with ``slapadd -q`` into a new folder, which then starts with
``mims slapd start`` (an older schema version is upgraded by that start, as for any folder).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import ldap3
from ldap3.core.exceptions import LDAPException

from bridge.directory import slapd_config
from bridge.directory.ldap3_connections import root_connection
from bridge.directory.slapd import ManagedSlapd, tool
from bridge.errors import SlapdError

FORMAT = 1
MANIFEST = "manifest.json"
CONFIG_LDIF = "config.ldif"
DATA_LDIF = "data.ldif"
# The data folder's secrets, by file name: the bridge service account's and the portal's.
SECRETS = ("service.secret", "portal.secret")
TLS = "tls"
_LDIF_OPTIONS = ("-o", "ldif-wrap=no")  # one line per value: paths can be rewritten line by line


@dataclass(frozen=True)
class Manifest:
    """What an archive says about itself."""

    schema_version: int
    suffix: str
    created: str
    source: str
    admin_dn: str
    entries: int
    people: int
    groups: int

    def to_json(self) -> str:
        """Return the manifest as the archive stores it."""
        return json.dumps({"format": FORMAT, **self.__dict__}, indent=2) + "\n"


def default_name(suffix: str, now: datetime | None = None) -> str:
    """Return ``mims-backup-<suffix>-<UTC time>.tar.gz``, safe as a file name."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    plain = ".".join(part.split("=", 1)[-1].strip() for part in suffix.split(","))
    label = "".join(c if c.isalnum() or c in "-_." else "_" for c in plain)
    return f"mims-backup-{label}-{stamp}.tar.gz"


def backup(server: ManagedSlapd, out: Path) -> Manifest:
    """Write the folder's directory, configuration and secrets to ``out`` (mode 0600)."""
    server.check_version()
    if out.exists():
        raise SlapdError(f"{out} already exists; choose another --out or move it away")
    if not out.parent.is_dir():
        raise SlapdError(f"{out.parent} is not a folder; choose another --out")
    layout = server.layout
    live = _live_context_csn(server)  # read first: every write it counts is in the copy below
    config = _slapcat(server, "0")
    data = _with_context_csn(_slapcat(server, "1"), live)
    manifest = Manifest(
        schema_version=server.check_version(),
        suffix=server.suffix,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        source=str(layout.root),
        admin_dn=server.admin_dn,
        **_counts(data),
    )
    members: list[tuple[str, bytes, int]] = [
        (MANIFEST, manifest.to_json().encode(), 0o600),
        (CONFIG_LDIF, config, 0o600),
        (DATA_LDIF, data, 0o600),
    ]
    members += [
        (name, (layout.root / name).read_bytes(), 0o600)
        for name in SECRETS
        if (layout.root / name).is_file()
    ]
    tls = layout.root / TLS
    if tls.is_dir():
        members += [
            (f"{TLS}/{path.name}", path.read_bytes(), path.stat().st_mode & 0o777)
            for path in sorted(tls.iterdir())
            if path.is_file()
        ]
    _write_archive(out, members)
    return manifest


def restore(archive: Path, server: ManagedSlapd) -> Manifest:
    """Load an archive into the server's empty (or absent) data folder."""
    root = server.layout.root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise SlapdError(f"{root} is not empty; restore into an empty or new folder")
    members = _read_archive(archive)
    manifest = _manifest(archive, members)
    if manifest.schema_version > slapd_config.schema_version():
        raise SlapdError(
            f"{archive} was made by a newer mims-bridge (schema version "
            f"{manifest.schema_version}); upgrade mims-bridge to restore it"
        )
    if manifest.suffix != server.suffix:
        raise SlapdError(
            f"{archive} holds suffix {manifest.suffix!r} but the configuration says "
            f"{server.suffix!r}"
        )
    created = not root.exists()
    try:
        _load(server, manifest, members)
    except BaseException:
        if created:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in root.iterdir():  # leave the folder as empty as it was given
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        raise
    return manifest


def _load(server: ManagedSlapd, manifest: Manifest, members: dict[str, bytes]) -> None:
    layout = server.layout
    layout.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(layout.root, 0o700)
    layout.config_dir.mkdir(mode=0o700)
    layout.db_dir.mkdir(mode=0o700)
    layout.accesslog_dir.mkdir(mode=0o700)  # empty: the accesslog is not in a backup
    config = _moved(members[CONFIG_LDIF], manifest, layout.root, server.admin_dn)
    _slapadd(server, "0", config)
    _slapadd(server, "1", members[DATA_LDIF])
    for name, content in members.items():
        if name in SECRETS or name.startswith(f"{TLS}/"):
            target = layout.root / name
            target.parent.mkdir(mode=0o700, exist_ok=True)
            _write_private(target, content)
    marker = {
        "schema_version": manifest.schema_version,
        "suffix": manifest.suffix,
        "created": manifest.created,
        "restored": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_private(layout.marker, (json.dumps(marker, indent=2) + "\n").encode())
    for folder in (layout.config_dir, layout.db_dir, layout.accesslog_dir):
        for path in folder.rglob("*"):
            os.chmod(path, 0o700 if path.is_dir() else 0o600)


def _moved(config: bytes, manifest: Manifest, root: Path, admin_dn: str) -> bytes:
    """Point cn=config's paths at the new folder and its rootDN at whoever restores it."""
    old_root, new_root = manifest.source.encode(), str(root).encode()
    lines = []
    for line in config.split(b"\n"):
        name, colon, value = line.partition(b": ")
        if colon and (value == old_root or value.startswith(old_root + b"/")):
            line = name + colon + new_root + value[len(old_root) :]
        elif colon and name == b"olcRootDN" and value == manifest.admin_dn.encode():
            line = name + colon + admin_dn.encode()
        lines.append(line)
    return b"\n".join(lines)


def _live_context_csn(server: ManagedSlapd) -> list[bytes]:
    """Return a running slapd's contextCSN, which syncprov writes to disk only now and then."""
    if not server.answers():
        return []
    try:
        with root_connection(server.ldapi_url, raise_exceptions=False) as connection:
            connection.search(
                server.suffix, "(objectClass=*)", ldap3.BASE, attributes=["contextCSN"]
            )
            found = connection.response or []
    except LDAPException:
        return []  # the copy keeps the stored value: older, never wrong
    return [bytes(v) for e in found for v in e.get("raw_attributes", {}).get("contextCSN", [])]


def _with_context_csn(data: bytes, live: list[bytes]) -> bytes:
    """Put the newest contextCSN of each server ID (live or stored) on the suffix entry.

    Without it a restored directory would announce an older state than the one it holds, and
    sync clients holding a newer cookie would be told nothing changed.
    """
    head, gap, rest = data.partition(b"\n\n")  # slapcat writes the suffix entry first
    lines = head.split(b"\n")
    stored = [line[len(b"contextCSN: ") :] for line in lines if line.startswith(b"contextCSN: ")]
    if not stored and not live:
        return data
    newest: dict[bytes, bytes] = {}
    for csn in [*stored, *live]:
        server_id = csn.split(b"#")[2] if csn.count(b"#") == 3 else b""
        newest[server_id] = max(newest.get(server_id, b""), csn)
    kept = [line for line in lines if not line.startswith(b"contextCSN: ")]
    csns = [b"contextCSN: " + csn for csn in sorted(newest.values())]
    return b"\n".join([*kept, *csns]) + gap + rest


def _slapcat(server: ManagedSlapd, database: str) -> bytes:
    command = [tool("slapcat"), "-F", str(server.layout.config_dir), "-n", database]
    result = subprocess.run([*command, *_LDIF_OPTIONS], capture_output=True, check=False)
    if result.returncode != 0:
        reason = _last_line(result.stderr)
        raise SlapdError(f"slapcat could not read database {database}: {reason}")
    return result.stdout


def _slapadd(server: ManagedSlapd, database: str, content: bytes) -> None:
    with tempfile.NamedTemporaryFile(suffix=".ldif", dir=server.layout.root) as handle:
        handle.write(content)
        handle.flush()
        command = [tool("slapadd"), "-F", str(server.layout.config_dir), "-n", database, "-q"]
        result = subprocess.run([*command, "-l", handle.name], capture_output=True, check=False)
    if result.returncode != 0:
        raise SlapdError(f"slapadd refused database {database}: {_last_line(result.stderr)}")


def _counts(data: bytes) -> dict[str, int]:
    """Count entries, people and groups in slapcat's output (one value per line)."""
    entries = people = groups = 0
    for line in data.split(b"\n"):
        lowered = line.lower()
        if lowered.startswith(b"dn:"):
            entries += 1
        elif lowered == b"objectclass: mimsperson":
            people += 1
        elif lowered == b"objectclass: mimsgroup":
            groups += 1
    return {"entries": entries, "people": people, "groups": groups}


def _write_archive(out: Path, members: list[tuple[str, bytes, int]]) -> None:
    """Write the archive beside ``out`` with mode 0600, then link it in (never overwriting)."""
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with (
            os.fdopen(descriptor, "wb") as handle,
            tarfile.open(fileobj=handle, mode="w:gz") as tar,
        ):
            for name, content, mode in members:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(content), mode
                info.mtime = int(datetime.now(UTC).timestamp())
                tar.addfile(info, io.BytesIO(content))
        try:
            os.link(partial, out)
        except FileExistsError:
            raise SlapdError(f"{out} already exists; choose another --out") from None
    finally:
        partial.unlink(missing_ok=True)


def _read_archive(archive: Path) -> dict[str, bytes]:
    """Return the archive's regular files by name; refuse anything else in one line."""
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for info in tar:
                path = PurePosixPath(info.name)
                if not info.isfile() or path.is_absolute() or ".." in path.parts:
                    raise SlapdError(f"{archive} is not a mims backup: it holds {info.name!r}")
                handle = tar.extractfile(info)
                assert handle is not None  # a regular file always has content
                members[str(path)] = handle.read()
    except FileNotFoundError:
        raise SlapdError(f"{archive} does not exist") from None
    except IsADirectoryError:
        raise SlapdError(f"{archive} is a folder, not a backup archive") from None
    except PermissionError:
        raise SlapdError(f"{archive} cannot be read (permission denied)") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError):
        raise SlapdError(f"{archive} is damaged or not a mims backup (tar.gz)") from None
    return members


def _manifest(archive: Path, members: dict[str, bytes]) -> Manifest:
    missing = [name for name in (MANIFEST, CONFIG_LDIF, DATA_LDIF) if name not in members]
    if missing:
        raise SlapdError(f"{archive} is not a mims backup: it lacks {', '.join(missing)}")
    try:
        raw = json.loads(members[MANIFEST])
        if raw.pop("format") != FORMAT:
            raise ValueError("format")
        return Manifest(**raw)
    except (ValueError, KeyError, TypeError):
        raise SlapdError(f"{archive} has a damaged manifest.json; it cannot be restored") from None


def _write_private(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"
