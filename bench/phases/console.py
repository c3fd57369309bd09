"""Phase "console": the admin console's people search by partial name, against raw ldap3.

What ``GET /admin/api/people?q=...`` calls: ``AdminConsole.for_actor(login).search(q)``
(bridge/core/admin_console.py), in this process over the bridge's own stores, bound as the
bridge's service account over ldaps (as `mims serve` is); and that HTTP request itself, to
`mims serve`, signed in as the administrator. Two administrators: a MIMS
administrator (every person) and a school administrator (the students and staff of one
school, a scope the directory's filter carries). The fragments are 3 to 6 letters cut from
the names of people of the population (of that school, for the school administrator), so they
find people, as an administrator's would.

The raw side sends slapd the very same request with plain ldap3: the filter the console
builds (bridge.directory.filters over the console's own query), the same server-side sort and
VLV window of one page (sssvlv), the same attributes, and, as the console, no deref control.
What is left between the sides is the bridge's Python: the query, the pager, mapping entries
to people. The sides alternate, fragment by fragment (which goes first alternates too, so
slapd's entry cache favours neither).

Target (issue 20): **p50 under 50 ms at 100,000 people**, and answered from the substring
indexes, not a scan: ``index_check`` in the JSON times the raw search of each fragment length
against the same search in a form slapd cannot index (every entry a candidate, tested
against the same filter entry by entry); an indexed search is far below the scan. Two
letters, which the console looks for at the start of a word of the name or of the login ID
(bridge/core/admin_console.py name_query), are checked too: the first two letters of words
of the same names.
"""

from __future__ import annotations

import http.client
import json
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ldap3 import BASE, SUBTREE

from bench import console_filters
from bench.load import Load
from bench.phases.context import Context, PhaseResult
from bench.population import Populated
from bench.raw_ldap import RawLdap
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bench.workspace import BenchError
from bridge.config import load_config
from bridge.core.admin_console import ScopedConsole, name_query
from bridge.core.administration import AllSchools, School
from bridge.core.class_actions import Group, members
from bridge.core.naming import LoginId
from bridge.core.query import Sort, all_of
from bridge.directory import controls, dn, mapping
from bridge.directory.filters import to_ldap
from bridge.directory.search import SORTS_PER_LINE
from bridge.directory.sorting import sort_keys
from bridge.services import Backend

TARGET_P50_MS = 50.0
PAGE = 25  # the console's page: bridge/console/pages.py PAGE_SIZE, api.py DEFAULT_COUNT
LENGTHS = (3, 4, 5, 6)
SHORT = 2  # a fragment this long is the start of a word (name_query); index_check only
INDEX_CHECKS = 10  # searches per length in index_check
SEED = 20
NAMES_READ = 400  # people whose names give fragments


@dataclass(frozen=True)
class Role:
    """An administrator the phase searches as, and the fragments it searches for."""

    name: str
    login_id: str
    fragments: tuple[str, ...]
    password: str
    starts: tuple[str, ...] = ()  # two-letter starts of words of the same names


def fragment_count(people: int) -> int:
    """Return the searches per role: 200 (50 per length), fewer in small directories."""
    return max(40, min(200, people // 10))


def fragments(names: Sequence[str], count: int, seed: int) -> tuple[str, ...]:
    """Return ``count`` fragments of 3 to 6 letters cut from words of these names."""
    pick = random.Random(seed)
    words = [w for name in names for w in name.split() if len(w) >= LENGTHS[0] and w.isalpha()]
    if not words:
        raise BenchError("no names to cut fragments from")
    found: list[str] = []
    while len(found) < count:
        length = LENGTHS[len(found) % len(LENGTHS)]
        word = pick.choice([w for w in words if len(w) >= length] or words)
        at = pick.randrange(len(word) - min(length, len(word)) + 1)
        found.append(word[at : at + length].lower())
    pick.shuffle(found)  # lengths in no cycle that could meet the reconnection every 4 sorts
    return tuple(found)


def word_starts(names: Sequence[str], count: int, seed: int) -> tuple[str, ...]:
    """Return ``count`` first two letters of words of these names, as an office would type."""
    pick = random.Random(seed)
    words = [w for name in names for w in name.split() if len(w) >= SHORT and w.isalpha()]
    if not words:
        raise BenchError("no names to take the starts of words from")
    return tuple(pick.choice(words)[:SHORT].lower() for _ in range(count))


def run(ctx: Context) -> PhaseResult:
    """Search by partial name as a MIMS and a school administrator, bridge and raw."""
    pop = ctx.population.ready(ctx)
    config = load_config(env=pop.bridge.env)
    backend = Backend(config)
    raw = pop.ldap()
    sorts = RawSorts(pop)
    try:
        roles = _roles(ctx, pop, backend, raw)
        measurements: list[Measurement] = []
        details: dict[str, Any] = {"page": PAGE, "roles": []}
        for role in roles:
            scoped = backend.admin_console().for_actor(role.login_id)
            measurements += _measure(ctx, role, scoped, sorts, signed_in(pop, role), details)
        details["index_check"] = _index_check(ctx, roles[0], backend, sorts)
        details["filters"] = _filters(ctx, pop, roles, backend)
        return PhaseResult(measurements, details)
    finally:
        sorts.close()
        raw.close()
        backend.close()


def _roles(ctx: Context, pop: Populated, backend: Backend, raw: RawLdap) -> list[Role]:
    """Grant two administrators (untimed) and pick each one's fragments."""
    people = pop.sample(NAMES_READ, SEED)
    read = [_read(raw, person.dn, ["cn", "o", "mimsRole", "mail"]) for person in people]
    count = fragment_count(len(pop.people))
    staff = [entry for entry in read if entry.get("mimsRole") == ["staff"] and entry.get("o")]
    if not staff:
        raise BenchError("the population has no staff member with a school to administer it")
    mims_admin, school_admin = read[0]["mail"][0], staff[0]["mail"][0]
    school = staff[0]["o"][0]
    grants = backend.grants
    grants.grant(LoginId.parse(mims_admin), [AllSchools()])
    grants.grant(LoginId.parse(school_admin), [School(school)])
    passwords = {login: _give_password(backend, login) for login in (mims_admin, school_admin)}
    of_school = _names_of_school(raw, school, NAMES_READ)
    ctx.progress(
        f"console: {count} fragments per administrator; school administrator of {school} "
        f"({len(of_school)} names read there)"
    )
    names = [e["cn"][0] for e in read]
    return [
        Role(
            "MIMS administrator",
            mims_admin,
            fragments(names, count, SEED),
            passwords[mims_admin],
            word_starts(names, INDEX_CHECKS, SEED),
        ),
        Role(
            f"school administrator ({school})",
            school_admin,
            fragments(of_school, count, SEED),
            passwords[school_admin],
            word_starts(of_school, INDEX_CHECKS, SEED),
        ),
    ]


def _give_password(backend: Backend, login: str) -> str:
    """Give an administrator a password of their own (untimed), to sign in to the console."""
    person = backend.services.people.find_login(LoginId.parse(login))
    if person is None:
        raise BenchError(f"no person {login} to make an administrator")
    password = "Bench-7" + secrets.token_urlsafe(18)  # a digit always: the policy wants one
    backend.services.passwords.set_password(person, password)
    return password


def signed_in(pop: Populated, role: Role) -> ScimClient:
    """Sign in to the console's JSON API as the administrator; return a client with the cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", pop.bridge.port, timeout=60)
    try:
        body = json.dumps({"loginId": role.login_id, "password": role.password})
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        connection.request("POST", "/admin/api/login", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise BenchError(
                f"console sign-in as {role.login_id}: HTTP {response.status} {answer!r}"
            )
        cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
    finally:
        connection.close()
    session = "; ".join(c for c in cookies if c.startswith("mims_admin="))
    if not session:
        raise BenchError("console sign-in set no session cookie")
    return ScimClient(
        pop.bridge.url("/admin/api"), {"Cookie": session, "Accept": "application/json"}
    )


def _measure(
    ctx: Context,
    role: Role,
    scoped: ScopedConsole,
    raw: RawSorts,
    api: ScimClient,
    details: dict[str, Any],
) -> list[Measurement]:
    """Time each fragment three ways, in a rotating order: core service, HTTP API, raw."""
    base = raw.raw.account.people_base

    def core(text: str) -> int:
        return scoped.search(text, count=PAGE)[0]

    def http(text: str) -> int:
        found: int = api.get("/people", {"q": text, "count": PAGE}).expect(200)["totalResults"]
        return found

    def plain(text: str) -> int:
        return raw.search(raw_request(scoped, text, base))

    sides: list[Callable[[str], int]] = [core, http, plain]
    for text in role.fragments[:10]:  # warm: connections, the sort pool, slapd's caches
        for side in sides:
            side(text)
    taken: list[list[float]] = [[], [], []]
    totals: list[int] = []
    for i, text in enumerate(role.fragments):
        found = set()
        for k in range(3):
            at = (i + k) % 3
            began = time.perf_counter()
            found.add(sides[at](text))
            taken[at].append(time.perf_counter() - began)
        if len(found) != 1:
            raise BenchError(f"console search {text!r}: the sides counted {sorted(found)}")
        totals.append(found.pop())
    ours, web, theirs = (Load(tuple(t), sum(t), 1) for t in taken)
    ctx.progress(
        f"console {role.name}: p50 core {ours.percentile_ms(0.5):.2f} ms, HTTP "
        f"{web.percentile_ms(0.5):.2f} ms, raw {theirs.percentile_ms(0.5):.2f} ms; p95 "
        f"{ours.percentile_ms(0.95):.1f} / {web.percentile_ms(0.95):.1f} / "
        f"{theirs.percentile_ms(0.95):.1f} ms; matches median {sorted(totals)[len(totals) // 2]}"
    )
    details["roles"].append(
        {
            "role": role.name,
            "administrator": role.login_id,
            "filter": raw_request(scoped, role.fragments[0], "").filter,
            "fragments": len(role.fragments),
            "bridge": _summary(ours),
            "http": _summary(web),
            "raw": _summary(theirs),
            "by_length": _by_length(role.fragments, taken, totals),
        }
    )
    rows = []
    for load, how in ((ours, "AdminConsole.search"), (web, "GET /admin/api/people?q=")):
        for q, name in ((0.5, "p50"), (0.95, "p95")):
            rows.append(
                Measurement(
                    "console",
                    f"console search by partial name, {how}, {role.name}: {name}",
                    Samples((load.percentile_ms(q),)),
                    Samples((theirs.percentile_ms(q),)),
                    "ldap3, same request",
                    unit="ms",
                    max_value=TARGET_P50_MS if q == 0.5 else None,
                )
            )
    return rows


def _summary(load: Load) -> dict[str, Any]:
    return load.as_json() | {"p95_ms": round(load.percentile_ms(0.95), 3)}


@dataclass(frozen=True)
class Request:
    """One LDAP search as the console sends it."""

    base: str
    filter: str
    controls: list[controls.Control]


def raw_request(scoped: ScopedConsole, text: str, base: str) -> Request:
    """Return the search the console makes for ``text``: its filter, sort and first page.

    Built as ScopedConsole.search and PeopleReadStore.search build it: the administrator's
    scope joined to ``name_query``, sorted by full name, the first page of ``PAGE``.
    """
    query = all_of(scoped.admin.query(), name_query(text))
    keys = sort_keys("User", (Sort("full_name"),))
    wanted = [controls.sort_request(keys), controls.vlv_request(1, PAGE - 1, None)]
    # No deref control: the console's list reads no group or manager ids (links=False).
    return Request(base, f"(&(objectClass=mimsPerson){to_ldap(query, 'User')})", wanted)


class RawSorts:
    """A raw client of sorted pages: one ldap3 connection, renewed as the bridge renews its own.

    slapd's sssvlv keeps every VLV sort on its connection until the connection closes and
    refuses more than olcSssVlvMaxPerConn (busy), so a client must reconnect every few sorts;
    this one does it after ``SORTS_PER_LINE`` sorts, as bridge/directory/search.py
    does: both sides pay the same TLS handshakes and binds.
    """

    def __init__(self, pop: Populated) -> None:
        self.pop = pop
        self.raw = pop.ldap()
        self.made = 0

    def renew(self) -> None:
        """Reconnect if this connection holds as many sorts as the bridge lets one hold."""
        if self.made >= SORTS_PER_LINE:
            self.raw.close()
            self.raw = self.pop.ldap()
            self.made = 0

    def search(self, request: Request, attributes: list[str] | None = None) -> int:
        """Send one search, return the size of the whole result (VLV's count)."""
        self.renew()
        connection = self.raw.connection
        connection.search(
            request.base,
            request.filter,
            SUBTREE,
            attributes=attributes or mapping.PERSON_READ,
            controls=request.controls,
        )
        self.made += 1
        response = (connection.result or {}).get("controls", {}).get(controls.VLV_RESPONSE)
        if response is None:
            raise BenchError(f"no VLV response to {request.filter}")
        return controls.vlv_response(response["value"]).count

    def close(self) -> None:
        self.raw.close()


def _index_check(ctx: Context, role: Role, backend: Backend, raw: RawSorts) -> dict[str, Any]:
    """Time each fragment length's raw search against the same assertions forced to a scan.

    ``(|(cn=*x*)...)`` is answered from the sub indexes when slapd can make keys of ``x``;
    two letters ``xy``, ``(|(cn=xy*)(cn=* xy*)...)``, from their keys of a value's start and
    of a space and the two letters. The forced scan is ``(|FILTER(!(objectClass=*)))``: the
    same entries match, but slapd takes a negation's candidates to be every entry, so an OR
    with one is every entry, each tested against the filter: what slapd does when an index
    cannot answer.
    """
    scoped = backend.admin_console().for_actor(role.login_id)
    found: dict[str, Any] = {}
    samples = {SHORT: list(role.starts[:INDEX_CHECKS])} | {
        length: [f for f in role.fragments if len(f) == length][:INDEX_CHECKS] for length in LENGTHS
    }
    for length, some in samples.items():
        if not some:
            continue
        indexed, scan, matches = [], [], []
        for text in some:
            request = raw_request(scoped, text, raw.raw.account.people_base)
            forced = Request(
                request.base,
                f"(|{request.filter}(!(objectClass=*)))",
                request.controls,
            )
            plain = request
            for into, sent in ((indexed, plain), (scan, forced)):
                raw.renew()  # untimed here: this compares slapd's work on the filter alone
                began = time.perf_counter()
                counted = raw.search(sent, ["1.1"])
                into.append(1000 * (time.perf_counter() - began))
            matches.append(counted)
        median_indexed = sorted(indexed)[len(indexed) // 2]
        median_scan = sorted(scan)[len(scan) // 2]
        found[str(length)] = {
            "searches": len(some),
            "filter_p50_ms": round(median_indexed, 3),
            "forced_scan_p50_ms": round(median_scan, 3),
            "indexed": median_indexed < median_scan / 3,
            "matches_p50": sorted(matches)[len(matches) // 2],
        }
        ctx.progress(
            f"console index check, {length} letters: {median_indexed:.1f} ms against a forced "
            f"scan's {median_scan:.1f} ms"
        )
    return found


def _filters(
    ctx: Context, pop: Populated, roles: Sequence[Role], backend: Backend
) -> dict[str, Any]:
    """List each filter the console's searches sent, and the slapd index of each assertion.

    Untimed: each search the console makes (by part of a name, of 2, 3 and 6 letters; its
    whole list; by class; by level; one person by login ID and by id; a class's members for a
    bulk action; the grants read at sign-in) runs once per administrator, through the same
    core service the console's pages and API call, with every filter sent noted
    (bench/console_filters.py).
    """
    console = backend.admin_console()
    calls: list[tuple[str, Callable[[], object]]] = []
    for role in roles:
        scoped = console.for_actor(role.login_id)
        text = max(role.fragments, key=len)
        _, found = scoped.search(text, count=PAGE)
        someone = next((p for p in found if p.class_name and p.school and p.level), None)
        if someone is None:
            raise BenchError(f"console filters: nobody with a class found by {text!r}")
        short = min(role.fragments, key=len)
        two = role.starts[0] if role.starts else short[:SHORT]  # the start of a word
        group = Group(someone.school or "", class_name=someone.class_name)
        calls += [
            ("sign-in: the administrator's grants", partial(console.for_actor, role.login_id)),
            ("search by part of a name, 2 letters", partial(scoped.search, two)),
            ("search by part of a name, 3 letters", partial(scoped.search, short[:3])),
            ("search by part of a name, 6 letters", partial(scoped.search, text)),
            ("the whole list in scope", partial(scoped.search, None)),
            ("search by class", partial(scoped.search, None, someone.class_name)),
            ("search by level and name", partial(scoped.search, text, None, someone.level)),
            ("one person by login ID", partial(scoped.find, someone.login_id)),
            ("one person by id", partial(scoped.get, someone.id)),
            ("a class's members (bulk actions)", partial(members, scoped, group)),
        ]
    rows = console_filters.report(
        console_filters.capture(calls), console_filters.slapd_indexes(pop.slapd)
    )
    unserved = [row["filter"] for row in rows if not row["served_by_index"]]
    unindexed = sorted({a for row in rows for a in row["unindexed"]})
    ctx.progress(
        f"console filters: {len(rows)} distinct; not served by an index: {len(unserved)}; "
        f"unindexed assertions: {', '.join(unindexed) or 'none'}"
    )
    return {"sent": rows, "not_served_by_index": unserved, "unindexed_assertions": unindexed}


def _by_length(
    texts: Sequence[str], taken: Sequence[Sequence[float]], totals: Sequence[int]
) -> dict[str, Any]:
    """Return p50s (core, HTTP, raw) and the median match count per fragment length."""
    out: dict[str, Any] = {}
    for length in LENGTHS:
        at = [i for i, text in enumerate(texts) if len(text) == length]
        if not at:
            continue
        p50 = [sorted(1000 * side[i] for i in at)[len(at) // 2] for side in taken]
        matched = sorted(totals[i] for i in at)
        out[str(length)] = {
            "searches": len(at),
            "bridge_p50_ms": round(p50[0], 3),
            "http_p50_ms": round(p50[1], 3),
            "raw_p50_ms": round(p50[2], 3),
            "matches_p50": matched[len(matched) // 2],
            "matches_max": matched[-1],
        }
    return out


def _read(raw: RawLdap, entry: str, attributes: list[str]) -> dict[str, list[str]]:
    raw.connection.search(entry, "(objectClass=*)", BASE, attributes=attributes)
    [found] = [e for e in raw.connection.response if e.get("type") == "searchResEntry"]
    return {k: [bytes(v).decode() for v in vs] for k, vs in found["raw_attributes"].items()}


def _names_of_school(raw: RawLdap, school: str, limit: int) -> list[str]:
    raw.connection.search(
        raw.account.people_base,
        f"(&(objectClass=mimsPerson){dn.equals('o', school)})",
        SUBTREE,
        attributes=["cn"],
        paged_size=limit,
    )
    return [
        bytes(e["raw_attributes"]["cn"][0]).decode()
        for e in raw.connection.response
        if e.get("type") == "searchResEntry" and e["raw_attributes"].get("cn")
    ]
