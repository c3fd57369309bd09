"""Turn what the bridge wrote (a slapcat dump) into LDIF that plain `ldapadd` can replay.

The replay holds exactly the entries the import added (everything a freshly initialised
directory does not already have), minus the attributes that only the server may write.
Groups go last, so that every member exists when the memberof overlay updates it: the raw side
then pays for memberOf as the bridge's own group modifies do.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# NO-USER-MODIFICATION attributes of slapd 2.5 (core, ppolicy, memberof, syncprov), read from
# cn=subschema: an ldapadd that carries any of them is refused. The user-modifiable operational
# ones (pwdPolicySubentry, pwdReset, pwdAccountLockedTime, pwdStartTime, pwdEndTime) stay.
SERVER_ONLY = frozenset(
    name.lower()
    for name in (
        "entryUUID",
        "entryCSN",
        "entryDN",
        "createTimestamp",
        "modifyTimestamp",
        "creatorsName",
        "modifiersName",
        "structuralObjectClass",
        "subschemaSubentry",
        "hasSubordinates",
        "numSubordinates",
        "contextCSN",
        "memberOf",
        "pwdChangedTime",
        "pwdFailureTime",
        "pwdHistory",
        "pwdGraceUseTime",
        "pwdLastSuccess",
        "pwdAccountTmpLockoutEnd",
    )
)


@dataclass(frozen=True)
class Replay:
    """The LDIF to replay (people and other entries, then groups; and both in one file)."""

    path: Path
    people_path: Path
    groups_path: Path
    entries: int
    groups: int
    member_values: int
    member_of_values: int
    size_mb: float

    def as_json(self) -> dict[str, int | float | str]:
        return {
            "entries": self.entries,
            "people_and_other": self.entries - self.groups,
            "groups": self.groups,
            "member_values": self.member_values,
            "member_of_values": self.member_of_values,
            "ldif_mb": round(self.size_mb, 1),
        }

    def remove(self) -> None:
        for path in (self.path, self.people_path, self.groups_path):
            path.unlink(missing_ok=True)


def records(path: Path) -> Iterator[list[str]]:
    """Yield each LDIF record as its unfolded lines (RFC 2849), comments and version dropped."""
    record: list[str] = []
    with path.open(encoding="utf-8", newline="\n") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            if not line:
                if record:
                    yield record
                record = []
            elif line.startswith(" ") and record:
                record[-1] += line[1:]
            elif line.startswith("#") or (not record and line.startswith("version:")):
                continue
            else:
                record.append(line)
    if record:
        yield record


def dn_key(record: list[str]) -> str:
    """Return a record's DN, decoded and lowercased, to compare DNs of two dumps."""
    first = record[0]
    if first.startswith("dn::"):
        return base64.b64decode(first[4:].strip()).decode().lower()
    return first[3:].strip().lower()


def attribute(line: str) -> str:
    """Return the lowercased attribute name of an LDIF line, without options."""
    return line.split(":", 1)[0].split(";", 1)[0].lower()


def dns(path: Path) -> set[str]:
    """Return every DN in an LDIF file."""
    return {dn_key(record) for record in records(path)}


def replay(dump: Path, existing: set[str], out: Path) -> Replay:
    """Write the entries of ``dump`` not in ``existing``, server-only attributes dropped.

    ``out`` gets them all, groups last; ``out.people.ldif`` and ``out.groups.ldif`` the parts.
    """
    people, groups_path = out.with_suffix(".people.ldif"), out.with_suffix(".groups.ldif")
    entries = groups = members = member_of = 0
    with (
        people.open("w", encoding="utf-8") as first,
        groups_path.open("w", encoding="utf-8") as last,
    ):
        for record in records(dump):
            if dn_key(record) in existing:
                continue
            kept = [line for line in record if attribute(line) not in SERVER_ONLY]
            is_group = any(line.lower() == "objectclass: mimsgroup" for line in record)
            (last if is_group else first).write("\n".join(kept) + "\n\n")
            entries += 1
            groups += is_group
            members += sum(1 for line in kept if attribute(line) == "member")
            member_of += sum(1 for line in record if attribute(line) == "memberof")
    with out.open("wb") as whole:
        for part in (people, groups_path):
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, whole)
    size = out.stat().st_size / 1e6
    return Replay(out, people, groups_path, entries, groups, members, member_of, size)


def count(dump: Path, existing: set[str]) -> tuple[int, int]:
    """Return how many entries of ``dump`` are not in ``existing``, and their memberOf values."""
    entries = member_of = 0
    for record in records(dump):
        if dn_key(record) not in existing:
            entries += 1
            member_of += sum(1 for line in record if attribute(line) == "memberof")
    return entries, member_of


# What slapd makes itself for every entry it writes (slapadd's values are not slapd's).
SERVER_MADE = frozenset(
    name.lower()
    for name in (
        "entryUUID",
        "entryCSN",
        "createTimestamp",
        "modifyTimestamp",
        "creatorsName",
        "modifiersName",
        "contextCSN",
    )
)
# Compared for presence only: a salted hash (each folder's bridge account and decoy have their
# own random password) and the time it was set.
PRESENCE_ONLY = frozenset({"userpassword", "pwdchangedtime"})


@dataclass(frozen=True)
class Comparison:
    """Two dumps compared entry by entry: how many entries, and what differs (a few shown)."""

    entries: int
    differences: int
    shown: tuple[str, ...]

    def as_json(self) -> dict[str, int | list[str]]:
        return {
            "entries": self.entries,
            "differences": self.differences,
            "shown": list(self.shown),
        }


def compare(first: Path, second: Path, shown: int = 10) -> Comparison:
    """Compare two slapcat dumps entry by entry, server-made attributes left out.

    One side is held as a digest per entry, so that 500,000 entries fit in memory.
    """
    digests = {key: digest for key, digest, _ in _digests(first)}
    found: list[str] = []
    differences = entries = 0
    for key, digest, lines in _digests(second):
        entries += 1
        if digests.pop(key, None) != digest:
            differences += 1
            if len(found) < shown:
                found.append(f"{key}: {'; '.join(lines)[:300]}")
    differences += len(digests)
    found += [f"only in {first.name}: {key}" for key in list(digests)[: max(0, shown - len(found))]]
    return Comparison(entries, differences, tuple(found))


def _digests(path: Path) -> Iterator[tuple[str, bytes, list[str]]]:
    for record in records(path):
        lines = sorted(
            f"{attribute(line)}: (set)" if attribute(line) in PRESENCE_ONLY else line
            for line in record[1:]
            if attribute(line) not in SERVER_MADE
        )
        digest = hashlib.blake2b("\n".join(lines).encode(), digest_size=16).digest()
        yield dn_key(record), digest, lines
