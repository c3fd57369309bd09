"""The populated directory the SCIM and SSPR phases share: N people in one slapd, and the bridge.

Built once per run, when the first phase that needs it asks:

- If the import phase ran, its last `mims import` directory is adopted as it is: the people the
  bridge itself imported, at no extra cost.
- Otherwise `mims import` of the run's roster fills a fresh directory: the honest way, and the
  slow one (~9 min at 100,000 people). A `slapadd -q` of a stored dump would take seconds but
  needs a dump of the same roster made by the same code, which only the import phase makes.

Then `mims serve` runs against it over TCP (bench.bridge_server), and the people's login IDs,
external IDs, ids and DNs are read once with a raw paged search, for the phases to pick from.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from bench.bridge_server import BridgeServer
from bench.importing import mims_import, roster
from bench.load import drive
from bench.raw_ldap import Account, RawLdap
from bench.scim_client import ScimClient
from bench.workspace import BenchError, Workspace
from bridge.directory.slapd import ManagedSlapd

if TYPE_CHECKING:
    from bench.phases.context import Context

T = TypeVar("T")
_LISTED = ["mail", "mimsExternalId", "entryUUID"]
WARM_UP = 200  # requests from 8 clients: enough for each of the 2 x 4 threads to serve some


@dataclass(frozen=True)
class Someone:
    """One person of the populated directory, as the phases look them up."""

    dn: str
    id: str
    login_id: str
    external_id: str


@dataclass
class Populated:
    """The running directory, the bridge serving it, and who is in it."""

    slapd: ManagedSlapd
    account: Account
    bridge: BridgeServer
    people: list[Someone]
    details: dict[str, Any] = field(default_factory=dict)
    # The bridge's side of a measurement, by name, for a later phase that compares the same
    # thing against another server (the peer phase) instead of measuring the bridge again.
    figures: dict[str, Any] = field(default_factory=dict)

    def remember(self, name: str, measure: Callable[[], T]) -> T:
        """Return the bridge's figure ``name`` from an earlier phase, or measure it now."""
        if name not in self.figures:
            self.figures[name] = measure()
        found: T = self.figures[name]
        return found

    def ldap(self) -> RawLdap:
        """Return a new raw connection, bound as the bridge's service account over TCP."""
        return RawLdap(self.account)

    def local_ldap(self) -> RawLdap:
        """Return a new raw connection, bound as the same account over the ldapi socket."""
        return RawLdap(replace(self.account, url=self.slapd.ldapi_url, ca_file=""))

    def scim(self) -> ScimClient:
        """Return a new SCIM client of the bridge, with its token."""
        return ScimClient(self.bridge.base_url, self.bridge.headers)

    def sample(self, k: int, seed: int) -> list[Someone]:
        """Return ``k`` people picked at random (the same ones for the same seed)."""
        return random.Random(seed).sample(self.people, min(k, len(self.people)))


class Population:
    """Make the populated directory on first use; hand the same one to every later phase."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._adopted: ManagedSlapd | None = None
        self._ready: Populated | None = None

    def adopt(self, server: ManagedSlapd) -> None:
        """Take a stopped directory that `mims import` filled with the run's roster."""
        if self._adopted is not None:
            self.workspace.discard(self._adopted)
        self._adopted = server

    def as_json(self) -> dict[str, Any] | None:
        """Return how the populated directory was made, or None if no phase needed it."""
        return self._ready.details if self._ready else None

    def served(self) -> Populated | None:
        """Return the populated directory if a phase has made it, without making it."""
        return self._ready

    def ready(self, ctx: Context) -> Populated:
        """Return the populated directory and its bridge, making them the first time."""
        if self._ready is None:
            self._ready = self._make(ctx)
        return self._ready

    def _make(self, ctx: Context) -> Populated:
        ws = self.workspace
        began = time.monotonic()
        details: dict[str, Any] = {}
        if self._adopted is not None:
            server = self._adopted
            details["source"] = "the import phase's last mims import"
            ws.start(server)
        else:
            path, _ = roster(ctx)
            server = ws.slapd("people")
            ctx.progress(
                f"population: mims import of {ctx.people:,} people (the import phase did not run)"
            )
            imported = mims_import(ctx, path, server)
            details["source"] = "mims import"
            details["import"] = {**imported.run.as_json(), "summary": imported.summary}
        url = server.ldaps_url()
        if url is None:
            raise BenchError(f"the populated slapd in {server.layout.root} is not running")
        account = Account(
            url, server.service_dn, server.service_password(), ws.suffix, str(server.ca_file)
        )
        people = _list_people(account)
        details["people"] = len(people)
        ctx.progress(f"population: {len(people):,} people; starting mims serve")
        bridge = BridgeServer(ctx, account, ws.root / "serve")
        bridge.start()
        populated = Populated(server, account, bridge, people, details)
        _warm_up(populated)
        details["bridge"] = bridge.settings
        details["ready_s"] = round(time.monotonic() - began, 1)
        ctx.progress(
            f"population: mims serve ready on port {bridge.port} "
            f"({bridge.settings['workers']} workers x {bridge.settings['threads']} threads)"
        )
        return populated


def _warm_up(pop: Populated) -> None:
    """Have every gunicorn thread open its LDAP connection and learn the token, untimed."""

    def read(client: ScimClient, person: Someone) -> None:
        client.get(f"/Users/{person.id}").expect(200)

    drive(pop.sample(WARM_UP, seed=0), read, pop.scim, clients=8)


def _list_people(account: Account) -> list[Someone]:
    raw = RawLdap(account)
    try:
        return [
            Someone(
                dn=str(entry["dn"]),
                id=_first(entry, "entryUUID"),
                login_id=_first(entry, "mail"),
                external_id=_first(entry, "mimsExternalId"),
            )
            for page in raw.pages(1000, _LISTED)
            for entry in page
        ]
    finally:
        raw.close()


def _first(entry: dict[str, Any], attribute: str) -> str:
    values = entry["raw_attributes"].get(attribute) or [b""]
    return bytes(values[0]).decode()
