"""``mims import --initial``: a new, empty managed directory loaded offline with ``slapadd -q``.

The first day of a national roll-out loads hundreds of thousands of people at once; over LDAP
that is the overlays' and the protocol's time, offline it is the database's. The rows become
the entries `mims import` would add (``initial_entries.py``: same names, numbers, groups,
policies, memberOf), then:

1. while slapd serves, the directory is checked to hold no people and no groups (only what
   ``mims slapd init`` made, and accounts, tokens, grants made since), and its counters read;
2. the LDIF is written beside the database; a bad row stops here, with nothing touched;
3. slapd is stopped, the database dumped (slapcat) and checked again, then the dump, with the
   counters moved on, and the new entries are loaded with ``slapadd -q`` into a fresh
   database folder (``db.initial``, under a copy of cn=config that points there);
4. only when slapadd succeeded is the fresh folder swapped in; slapd starts again either way.
   A failed load (bad input, disk full) or a failed start leaves the old database in place.

What differs from the online import: the server-made attributes (entryUUID, entryCSN,
timestamps, creatorsName) are slapadd's, and nothing goes to the accesslog (``mims audit``
shows the import as one event of the audit file, as it does for `mims import`).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from ldap3 import BASE, SUBTREE, Connection

from bridge.core.group_address import AddressRules
from bridge.core.roster import Rejected, Row, Summary
from bridge.directory import dn, mapping, replication
from bridge.directory.client import LdapClient
from bridge.directory.id_numbers import COUNTER_ATTRIBUTES
from bridge.directory.initial_entries import Counters, InitialEntries, Taken
from bridge.directory.people import PeopleStore
from bridge.directory.slapd import ManagedSlapd, tool
from bridge.errors import BridgeError, SlapdError

FRESH_DB = "db.initial"
FRESH_CONFIG = "slapd.d.initial"
PREVIOUS_DB = "db.previous"
MDB_DATABASE = "olcDatabase={1}mdb,cn=config"
REPORT_EVERY = 5.0  # seconds between progress lines of slapadd
NOT_EMPTY = (
    "the directory already holds {what}: `mims import --initial` only loads a new, empty "
    "directory; use `mims import FILE`"
)

# slapadd's refusal of one entry by an LDAP result code (a schema rule), not for lack of room
_AT_LINE = re.compile(r"\(line=(?P<line>\d+)\): (?P<reason>\(\d+\) .*)$")
LoadProgress = Callable[[int, int], None]  # entries loaded (0: the load begins), to load


class InitialLoad:
    """Load roster rows into the empty managed directory offline: the ``RosterImport`` port."""

    def __init__(
        self,
        server: ManagedSlapd,
        people: PeopleStore,
        client: LdapClient,
        address_rules: AddressRules,
        on_load: LoadProgress = lambda done, total: None,
    ) -> None:
        self.server = server
        self.people = people
        self.client = client
        self.address_rules = address_rules
        self.on_load = on_load

    def run(
        self,
        items: Iterable[Row | Rejected],
        on_reject: Callable[[Rejected], None] = lambda _: None,
        on_progress: Callable[[int], None] = lambda _: None,
    ) -> Summary:
        """Prepare every row, then load them all, or nothing when any row was rejected."""
        if replication.partner(self.server) is not None:
            raise SlapdError(
                "this folder replicates with another provider: load the first provider with "
                "`mims import --initial` before `mims slapd init-replica`"
            )
        counters, taken = _live_state(self.client, self.server.suffix)
        before = Counters(counters.uid, counters.gid)
        root = self.server.layout.root
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", suffix=".ldif", dir=root, prefix=".initial-"
        ) as out:
            os.chmod(out.name, 0o600)  # children's names and schools
            entries = InitialEntries(self.people, counters, taken, self.address_rules)
            summary = entries.write(items, out, on_reject, on_progress)
            out.flush()
            if summary.rejected or not summary.created:
                return summary  # all or nothing: nothing is loaded
            self.client.close()  # slapd goes away under this process's connections
            _load(self.server, Path(out.name), before, counters, entries, self.on_load)
        return summary


def _live_state(client: LdapClient, suffix: str) -> tuple[Counters, Taken]:
    """Refuse a directory with people or groups; return its counters and the mails in use."""

    def read(connection: Connection) -> tuple[Counters, Taken]:
        for base, what, query in (
            (dn.people_base(suffix), "people", "(objectClass=mimsPerson)"),
            (dn.groups_base(suffix), "groups", mapping.IS_GROUP),
        ):
            connection.search(base, query, SUBTREE, attributes=["1.1"], size_limit=1)
            if connection.response:
                raise SlapdError(NOT_EMPTY.format(what=what))
        counter = list(COUNTER_ATTRIBUTES.values())
        connection.search(dn.id_numbers_dn(suffix), "(objectClass=*)", BASE, attributes=counter)
        values = {k.lower(): v for k, v in connection.response[0]["raw_attributes"].items()}
        numbers = {kind: int(values[name.lower()][0]) for kind, name in COUNTER_ATTRIBUTES.items()}
        connection.search(suffix, "(mail=*)", SUBTREE, attributes=["mail"])
        mails = {
            value.decode().lower()
            for entry in connection.response
            for value in entry["raw_attributes"].get("mail", [])
        }
        return Counters(numbers["uid"], numbers["gid"]), Taken(mails=mails)

    return client.run(read)


def _load(
    server: ManagedSlapd,
    entries: Path,
    before: Counters,
    after: Counters,
    written: InitialEntries,
    on_load: LoadProgress,
) -> None:
    """Stop slapd, load the dump and ``entries`` into a fresh database, swap it in, start."""
    layout = server.layout
    fresh_db, fresh_config = layout.root / FRESH_DB, layout.root / FRESH_CONFIG
    previous = layout.root / PREVIOUS_DB
    for leftover in (fresh_db, fresh_config, previous):  # of a run killed midway
        shutil.rmtree(leftover, ignore_errors=True)
    ports = server.ports()
    try:
        server.stop()
    except OSError as error:
        raise SlapdError(
            f"slapd could not be stopped ({error.strerror}); nothing was loaded"
        ) from None
    try:
        dump = _with_counters(_slapcat(server), server.suffix, before, after)
        fresh_db.mkdir(mode=0o700)
        shutil.copytree(layout.config_dir, fresh_config)
        _point_at(fresh_config, fresh_db)
        _slapadd(fresh_config, server.suffix, dump, entries, written, on_load)
        if server.pid() is not None:
            raise SlapdError(
                "slapd was started again during the load (is `mims serve` running?): stop it "
                "and run `mims import --initial` again"
            )
        for path in fresh_db.iterdir():
            os.chmod(path, 0o600)
        layout.db_dir.rename(previous)
        fresh_db.rename(layout.db_dir)
    except BaseException:
        shutil.rmtree(fresh_db, ignore_errors=True)
        if previous.exists() and not layout.db_dir.exists():
            previous.rename(layout.db_dir)
        _start(server, ports)
        raise
    finally:
        shutil.rmtree(fresh_config, ignore_errors=True)
    try:
        _start(server, ports)
    except BridgeError:
        server.stop()
        shutil.rmtree(layout.db_dir)
        previous.rename(layout.db_dir)
        _start(server, ports)
        raise SlapdError(
            "slapd did not start on the loaded database; the directory is as it was: see "
            f"{layout.log_file}"
        ) from None
    shutil.rmtree(previous)


def _start(server: ManagedSlapd, ports: tuple[int, int | None] | None) -> None:
    if ports is not None and server.pid() is None:
        server.start(*ports)


def _slapcat(server: ManagedSlapd) -> bytes:
    command = [tool("slapcat"), "-F", str(server.layout.config_dir), "-b", server.suffix]
    result = subprocess.run([*command, "-o", "ldif-wrap=no"], capture_output=True, check=False)
    if result.returncode != 0:
        raise SlapdError(f"slapcat could not read the directory: {_last_line(result.stderr)}")
    return result.stdout


def _with_counters(dump: bytes, suffix: str, before: Counters, after: Counters) -> bytes:
    """Return the dump with the counters moved on; refuse one that changed since it was read.

    Between the first look and slapd's stop a writer may have added a person or a group.
    """
    counter = dn.id_numbers_dn(suffix).lower().encode()
    groups = ("," + dn.groups_base(suffix)).lower().encode()
    records = dump.split(b"\n\n")
    for i, record in enumerate(records):
        lines = record.strip(b"\n").split(b"\n")
        name = _dn(lines[0]).lower() if lines and lines[0] else b""
        if any(line.lower() == b"objectclass: mimsperson" for line in lines):
            raise SlapdError(NOT_EMPTY.format(what="people"))
        if name.endswith(groups):
            raise SlapdError(NOT_EMPTY.format(what="groups"))
        if name == counter:
            records[i] = _moved_counters(lines, before, after)
    return b"\n\n".join(records)


def _moved_counters(lines: list[bytes], before: Counters, after: Counters) -> bytes:
    kept = []
    for line in lines:
        for kind, attribute in COUNTER_ATTRIBUTES.items():
            prefix = f"{attribute}: ".encode()
            if line.startswith(prefix):
                if int(line[len(prefix) :]) != getattr(before, kind):
                    raise SlapdError(
                        "the directory changed while the roster was prepared: run "
                        "`mims import --initial` again"
                    )
                line = prefix + str(getattr(after, kind)).encode()
        kept.append(line)
    return b"\n".join(kept) + b"\n"


def _dn(line: bytes) -> bytes:
    if line.startswith(b"dn:: "):
        return base64.b64decode(line[5:])
    return line[4:] if line.startswith(b"dn: ") else b""


def _point_at(config_dir: Path, db_dir: Path) -> None:
    """Point a copy of cn=config's people database at another folder (slapmodify, offline)."""
    change = (
        f"dn: {MDB_DATABASE}\nchangetype: modify\nreplace: olcDbDirectory\n"
        f"olcDbDirectory: {db_dir}\n-\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".ldif", dir=config_dir.parent) as handle:
        handle.write(change)
        handle.flush()
        command = [tool("slapmodify"), "-F", str(config_dir), "-n0", "-l", handle.name]
        result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        raise SlapdError(f"slapmodify refused the load's settings: {_last_line(result.stderr)}")


def _slapadd(
    config_dir: Path,
    suffix: str,
    dump: bytes,
    entries: Path,
    written: InitialEntries,
    on_load: LoadProgress,
) -> None:
    """Run ``slapadd -q`` on the dump, then the entries; report entries added as it goes.

    The dump's contextCSN is older than the new entries; syncprov moves it on to the newest
    entryCSN when slapd opens the database, so a replica's next refresh finds them. Not
    slapadd's ``-w``, which would do it here: with it Debian 12's slapadd 2.5.13 often died at
    its very end, "double free or corruption" (3 runs in 8 at 40,000 people on a loaded
    machine; none in 8 without it).
    """
    command = [tool("slapadd"), "-F", str(config_dir), "-b", suffix, "-q", "-v"]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert process.stdin is not None and process.stderr is not None
    dump = dump.rstrip(b"\n") + b"\n\n"
    writer = threading.Thread(
        target=_feed, args=(process.stdin, dump, entries), name="slapadd-feed", daemon=True
    )
    writer.start()
    existing, total = dump.count(b"\ndn:") + dump.startswith(b"dn:"), written.entries
    on_load(0, total)
    added, last = 0, time.monotonic()
    said: list[bytes] = []
    for raw in process.stderr:
        if raw.startswith(b"added: "):
            added += 1
            now = time.monotonic()
            if now - last >= REPORT_EVERY:
                on_load(max(0, added - existing), total)
                last = now
        else:
            said = [*said[-19:], raw]
    code = process.wait()
    writer.join()
    if code != 0:
        raise SlapdError(_refusal(b"".join(said), dump.count(b"\n"), written))
    on_load(total, total)


def _refusal(stderr: bytes, dump_lines: int, written: InitialEntries) -> str:
    """Return slapadd's refusal in one line, naming the roster row (not the DN) when it can."""
    reason = _last_line(stderr)
    where = _AT_LINE.search(reason)
    if where is None:
        return f"slapadd refused the load ({reason}); the directory is as it was"
    row = written.row_at(int(where["line"]) - dump_lines)
    entry = f"row {row}" if row is not None else "an entry made for the roster's groups"
    return (
        f"slapadd refused {entry} ({where['reason']}); nothing was loaded, the directory is as "
        "it was"
    )


def _feed(pipe: IO[bytes], dump: bytes, entries: Path) -> None:
    """Write the dump, then the entries file, into slapadd; stop quietly if it went away."""
    try:
        with pipe:
            pipe.write(dump.rstrip(b"\n") + b"\n\n")
            with entries.open("rb") as handle:
                shutil.copyfileobj(handle, pipe, 1 << 20)
    except BrokenPipeError:
        pass  # slapadd stopped on an error: its own words say why


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    wanted = [line for line in lines if not line.startswith("Closing")]
    return (wanted or lines or ["no reason given"])[-1]
