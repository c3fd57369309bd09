"""Phase "write": SCIM POST and PATCH rates against raw ldap3 add and modify rates.

8 concurrent clients on each side (threads with their own HTTP or ldap3 connection), in two
interleaved rounds. POSTs create new people as Entra ID or a student information system
would: a well-formed login ID as ``userName``, name, display name, external ID, and half of
them a password that passes the policy (slapd hashes it, {ARGON2}). The raw side adds the very
entries the bridge's add writes for the same input (built by the bridge's own
``PeopleStore.draft``, so no attribute is forgotten on either side) under other login IDs.
PATCHes are Entra's ``Replace`` of ``displayName`` on people of the directory; the raw side
replaces the same attribute.

The POSTs with a password and those without are timed apart. With a password, slapd's own
Argon2 sets the pace whoever sends the add: the raw side's adds carrying a plaintext
userPassword (slapd hashes it, as it does the bridge's) are that bound.

Targets: POST rate (both kinds) at least 50% of the raw add rate (issue 8); POST with a
password at least 90% of slapd's own Argon2 bound, and PATCH at least 50% of the raw modify
rate (issue 22). The bridge reads the person before a PATCH (SCIM patches the resource) and
returns it after; the raw modify does neither.
The people added are deleted afterwards (untimed), so later phases see N people again.

With ``--profile``, PATCHes are then sent once more with one client while py-spy samples the
bridge's workers (untimed, bench.server_profile): ``patch_profile`` in the JSON says how much of
a PATCH each layer took (HTTP, SCIM, core, LDAP client, slapd), and how many LDAP operations of
each kind slapd saw per PATCH (cn=Monitor's counts, before and after).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ldap3 import MODIFY_REPLACE, SUBTREE
from ldap3.core.exceptions import LDAPNoSuchObjectResult

from bench import server_profile
from bench.load import Load, drive, merged
from bench.memory import ProcessTree
from bench.phases.context import Context, PhaseResult
from bench.population import Populated, Someone
from bench.raw_ldap import RawLdap
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bench.workspace import BenchError, slapd_cpu_s
from bridge.config import load_config
from bridge.core.naming import LoginId
from bridge.core.people import NewPerson
from bridge.services import Backend

TARGET_POST = 0.5
TARGET_POST_PASSWORD = 0.9  # of slapd's own Argon2 bound (issue 22)
TARGET_PATCH = 0.5  # of the raw modify rate (issue 22)
FIGURE = "post, 8 clients"  # the bridge's POSTs, kept for the peer phase
FIGURE_PLAIN = "post without a password, 8 clients"  # the same, those without a password
ARGON2_BOUND = "slapd's own Argon2 bound: ldap3 add with a plaintext userPassword"
CLIENTS = 8
ROUNDS = 2
SEED = 3
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PROFILED = 300  # PATCHes sent under py-spy with --profile
MONITOR_OPERATIONS = "cn=Operations,cn=Monitor"
NAMES = [("Wei Ling", "Tan"), ("Arjun", "Pillai"), ("Nur Aisyah", "Rahman"), ("Jia Hao", "Lim")]


def operations(people: int) -> int:
    """Return how many of each write to make: 1,000, fewer in small directories."""
    return max(100, min(1000, people // 10))


@dataclass(frozen=True)
class NewOne:
    """A person to create: the SCIM body the bridge gets, the entry the raw side adds."""

    body: dict[str, Any]
    dn: str
    attributes: dict[str, list[str]]


def new_people(pop: Populated, prefix: str, count: int) -> list[NewOne]:
    """Return ``count`` new people, their login IDs starting with ``prefix``."""
    config = load_config(env=pop.bridge.env)
    people = Backend(config).people  # used offline: draft() checks and maps, it does not connect
    domain = config.naming.domains["student"]
    made = []
    for i in range(count):
        given, family = NAMES[i % len(NAMES)]
        login = LoginId(f"{prefix}_{i:06d}", domain)
        external = f"BENCH-{prefix.upper()}-{i:06d}"
        # Half of each round (rounds take every ROUNDS-th item) get a password: 12 characters,
        # digits and both cases, nothing from the names or the login ID.
        password = f"Zq{i:07d}Xkv" if i % (2 * ROUNDS) < ROUNDS else None
        body: dict[str, Any] = {
            "schemas": [USER],
            "userName": str(login),
            "externalId": external,
            "name": {"givenName": given, "familyName": family, "formatted": f"{family} {given}"},
            "displayName": f"{family} {given}",
            "active": True,
        }
        if password:
            body["password"] = password
        new = NewPerson(
            role="student",
            login_id=login,
            password=password,
            full_name=f"{family} {given}",
            given_name=given,
            family_name=family,
            display_name=f"{family} {given}",
            external_id=external,
        )
        draft = people.numbered(people.draft(new), people.ids.uid_number())
        entry, attributes = people.first_choice(draft)
        made.append(NewOne(body, entry, attributes))
    return made


def run(ctx: Context) -> PhaseResult:
    """Measure POST against add and PATCH against modify, 8 clients, in interleaved rounds."""
    pop = ctx.population.ready(ctx)
    count = operations(len(pop.people))
    posts = new_people(pop, "bench_post", count)
    adds = new_people(pop, "bench_add", count)
    targets = pop.sample(count, SEED)
    details: dict[str, Any] = {"operations": count, "clients": CLIENTS, "rounds": ROUNDS}
    try:
        post_plain, add_plain = _interleaved(
            _plain(posts),
            post_one,
            pop.scim,
            _plain(adds),
            _add,
            pop.ldap,
            ctx,
            "POST/add without a password",
        )
        post_password, add_password = _interleaved(
            _with_password(posts),
            post_one,
            pop.scim,
            _with_password(adds),
            _add,
            pop.ldap,
            ctx,
            "POST/add with a password",
        )
        post, add = _both(post_plain, post_password), _both(add_plain, add_password)
        pop.figures[FIGURE] = merged(post)
        pop.figures[FIGURE_PLAIN] = merged(post_plain)
        patch, modify = _interleaved(
            targets,
            _patch,
            pop.scim,
            targets,
            _modify,
            pop.ldap,
            ctx,
            f"PATCH/modify {count:,} people",
        )
        if ctx.profile:  # before the deletes: refint's work after them would fill slapd's time
            details["patch_profile"] = patch_profile(ctx, pop, targets[:PROFILED])
    finally:
        delete(pop, [one.dn for one in posts + adds])
    rows = [
        _rate_row(f"SCIM POST /Users, {CLIENTS} clients", post, add, "ldap3 add", TARGET_POST),
        _rate_row(
            f"SCIM POST /Users without a password, {CLIENTS} clients",
            post_plain,
            add_plain,
            "ldap3 add",
        ),
        _rate_row(
            f"SCIM POST /Users with a password, {CLIENTS} clients",
            post_password,
            add_password,
            ARGON2_BOUND,
            TARGET_POST_PASSWORD,
        ),
        _rate_row(
            f"SCIM PATCH Replace displayName, {CLIENTS} clients",
            patch,
            modify,
            "ldap3 modify",
            TARGET_PATCH,
        ),
    ]
    for name, loads in (
        ("post", post),
        ("add", add),
        ("post_without_password", post_plain),
        ("add_without_password", add_plain),
        ("post_with_password", post_password),
        ("add_with_password", add_password),
        ("patch", patch),
        ("modify", modify),
    ):
        details[name] = merged(loads).as_json()
    return PhaseResult(rows, details)


def patch_profile(ctx: Context, pop: Populated, people: Sequence[Someone]) -> dict[str, Any]:
    """Profile PATCHes with one client (py-spy on the bridge, untimed): time by layer."""
    pid = pop.bridge.pid()
    if pid is None:
        raise BenchError("the bridge is not running: nothing to profile")
    raw = ctx.workspace.root / "write-patch.raw.txt"
    operations_before = ldap_operations(pop)
    slapd_before = slapd_cpu_s(pop.slapd)
    bridge_pids = ProcessTree(pid).pids()
    bridge_before = server_profile.cpu_s(bridge_pids)
    with server_profile.ServerSpy(pid, raw) as spy:
        load = drive(people, _patch_again, pop.scim, clients=1)
    bridge_cpu = server_profile.cpu_s(bridge_pids) - bridge_before
    slapd_cpu = slapd_cpu_s(pop.slapd) - slapd_before
    operations_after = ldap_operations(pop)
    lines = spy.lines()
    mean_ms = 1000 * sum(load.latencies_s) / load.ops
    split = server_profile.split(lines, spy.wall_s, load.ops, mean_ms)
    split["slapd_cpu_ms_per_request"] = round(1000 * slapd_cpu / load.ops, 3)
    split["bridge_cpu_ms_per_request"] = round(1000 * bridge_cpu / load.ops, 3)
    split["p50_ms_under_profile"] = round(load.percentile_ms(0.5), 3)
    # What slapd saw (anyone's, so the bridge's background work is in it too), per PATCH.
    split["ldap_operations_per_request"] = {
        kind: round((operations_after[kind] - operations_before.get(kind, 0)) / load.ops, 2)
        for kind in operations_after
        if operations_after[kind] != operations_before.get(kind, 0)
    }
    out = ctx.results_dir / f"{ctx.stem}-write.folded.gz"
    server_profile.keep_folded({"patch": lines}, out)
    ctx.progress(
        "write profile patch: "
        + ", ".join(f"{k} {v} ms" for k, v in split["ms_per_request"].items())
        + f", outside {split['outside_ms']} ms (mean {mean_ms:.2f} ms); LDAP per PATCH "
        + ", ".join(f"{k} {v}" for k, v in split["ldap_operations_per_request"].items())
    )
    return {"stacks": out.name, "method": "bench/server_profile.py", "patch": split}


def ldap_operations(pop: Populated) -> dict[str, int]:
    """Return slapd's count of completed operations by kind (cn=Monitor), e.g. "Search"."""
    raw = pop.local_ldap()
    try:
        raw.connection.search(
            MONITOR_OPERATIONS,
            "(monitorOpCompleted=*)",
            SUBTREE,
            attributes=["cn", "monitorOpCompleted"],
        )
        found = {}
        for entry in raw.connection.response:
            values = entry.get("raw_attributes", {})
            if entry.get("type") == "searchResEntry" and values.get("cn"):
                found[bytes(values["cn"][0]).decode()] = int(values["monitorOpCompleted"][0])
        return found
    finally:
        raw.close()


def _interleaved(
    bridge_items: Sequence[Any],
    bridge_op: Callable[[ScimClient, Any], None],
    bridge_client: Callable[[], ScimClient],
    raw_items: Sequence[Any],
    raw_op: Callable[[RawLdap, Any], None],
    raw_client: Callable[[], RawLdap],
    ctx: Context,
    what: str,
) -> tuple[list[Load], list[Load]]:
    bridge: list[Load] = []
    raw: list[Load] = []
    for i in range(ROUNDS):
        bridge.append(drive(bridge_items[i::ROUNDS], bridge_op, bridge_client, CLIENTS))
        raw.append(drive(raw_items[i::ROUNDS], raw_op, raw_client, CLIENTS))
        ctx.progress(
            f"write {what}, round {i + 1}/{ROUNDS}: bridge {bridge[-1].rate:,.0f}/s, "
            f"raw {raw[-1].rate:,.0f}/s"
        )
    return bridge, raw


def _plain(people: Sequence[NewOne]) -> list[NewOne]:
    return [one for one in people if "password" not in one.body]


def _with_password(people: Sequence[NewOne]) -> list[NewOne]:
    return [one for one in people if "password" in one.body]


def _both(first: list[Load], second: list[Load]) -> list[Load]:
    """Return each round's two runs as one (the rate of all the POSTs, or adds, of a round)."""
    return [merged(pair) for pair in zip(first, second, strict=True)]


def bridge_posts(pop: Populated) -> Load:
    """Measure the bridge's POSTs alone (for the peer phase when this phase did not run).

    Those without a password are timed apart too, and kept as FIGURE_PLAIN.
    """
    posts = new_people(pop, "bench_post", operations(len(pop.people)))
    try:
        plain = drive(_plain(posts), post_one, pop.scim, CLIENTS)
        with_password = drive(_with_password(posts), post_one, pop.scim, CLIENTS)
    finally:
        delete(pop, [one.dn for one in posts])
    pop.figures[FIGURE_PLAIN] = plain
    return merged([plain, with_password])


def post_one(client: ScimClient, one: NewOne) -> None:
    """Create one person by SCIM POST."""
    client.post("/Users", one.body).expect(201)


def _add(raw: RawLdap, one: NewOne) -> None:
    raw.connection.add(one.dn, attributes=one.attributes)


def _patch(client: ScimClient, person: Someone, value: str = "Patched") -> None:
    operation = {"op": "Replace", "path": "displayName", "value": f"{value} {person.external_id}"}
    client.patch(f"/Users/{person.id}", {"schemas": [PATCH_OP], "Operations": [operation]}).expect(
        200
    )


def _patch_again(client: ScimClient, person: Someone) -> None:
    """PATCH to another value than the timed rounds' (a PATCH changing nothing writes nothing)."""
    _patch(client, person, "Profiled")


def _modify(raw: RawLdap, person: Someone) -> None:
    value = f"Modified {person.external_id}"
    raw.connection.modify(person.dn, {"displayName": [(MODIFY_REPLACE, [value])]})


def delete(pop: Populated, entries: list[str]) -> None:
    """Remove the people this phase added (untimed; some may not exist after a failure)."""

    def delete(raw: RawLdap, entry: str) -> None:
        try:
            raw.connection.delete(entry)
        except LDAPNoSuchObjectResult:
            pass

    drive(entries, delete, pop.ldap, clients=4)


def _rate_row(
    operation: str, bridge: list[Load], raw: list[Load], label: str, target: float | None = None
) -> Measurement:
    return Measurement(
        "write",
        operation,
        Samples(tuple(load.rate for load in bridge)),
        Samples(tuple(load.rate for load in raw)),
        label,
        unit="/s",
        min_ratio=target,
        extra={
            "bridge_p50_ms": round(merged(bridge).percentile_ms(0.5), 3),
            "raw_p50_ms": round(merged(raw).percentile_ms(0.5), 3),
        },
    )
