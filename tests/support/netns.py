"""Network namespaces for the partition tests: each server on a network of its own (issue 21).

A ``Network`` makes, for each named machine, a namespace with a veth pair to the root
namespace (a private /30: the root end ``.1``, the machine ``.2``) and, for each pair of
machines, a link of their own: a veth from each into a hub namespace, joined there by a
bridge, on another /30. Each machine routes the other's root-link address over that link,
so servers listen on one address (``Machine.address``), the tests reach it from the root
namespace, and the servers reach each other only through their link.

``cut(a, b)`` takes a's port off the link's bridge: both ends keep their carrier, routes and
(permanent) neighbour entries, and every packet between the two is silently lost, as when
a switch between two machines dies; connections hang rather than fail. ``heal`` puts the
port back and the same connections carry on. Nothing is changed in the root namespace but
its own veth ends and their addresses; ``close`` (also at exit) kills what still runs in the
namespaces (only this code's servers run there) and deletes them, and with them every veth.

Needs root and iproute2's ``ip netns``; ``skip_reason`` says why not, for ``pytest.skip``.
"""

from __future__ import annotations

import atexit
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOCK = Path("/tmp/mims-tests-netns.lock")  # makers on one machine take address blocks in turn
BLOCKS = ipaddress.ip_network("10.213.0.0/16")  # a /24 per Network, away from common LANs
HUB = "hub"


def skip_reason() -> str | None:
    """Return why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"mims-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` fails here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


@dataclass(frozen=True)
class Machine:
    """One namespace: its name for ``ip netns``, and the address its servers listen on."""

    name: str
    namespace: str
    address: str  # on its link to the root namespace, routed to its peers over their links
    root_end: str  # the root namespace's address on that link

    def command(self, *args: str) -> list[str]:
        """Return ``args`` as a command run inside this namespace."""
        return ["ip", "netns", "exec", self.namespace, *args]


@dataclass
class Network:
    """Namespaces, their links and cuts; ``close`` removes all of it."""

    block: ipaddress.IPv4Network
    machines: dict[str, Machine] = field(default_factory=dict)
    _links: dict[frozenset[str], tuple[str, str]] = field(default_factory=dict)  # bridge, ports
    _hub: str = ""
    _closed: bool = False

    # -- making ------------------------------------------------------------------------------

    @classmethod
    def make(cls, names: Sequence[str]) -> Network:
        """Make a namespace per name, each linked to the root namespace and to every other."""
        with _locked():
            network = cls(_free_block())
            atexit.register(network.close)
            try:
                network._hub = f"mims-{network.tag}-{HUB}"
                _ip("netns", "add", network._hub)
                _ip("-n", network._hub, "link", "set", "lo", "up")
                for index, name in enumerate(names):
                    network._add_machine(index, name)
                for i, first in enumerate(names):
                    for second in names[i + 1 :]:
                        network._link(first, second)
            except BaseException:
                network.close()
                raise
        return network

    @property
    def tag(self) -> str:
        """Return the block's third octet: it names this network's namespaces and interfaces."""
        return str(self.block.network_address.packed[2])

    def _add_machine(self, index: int, name: str) -> None:
        subnet = self._subnet(index)
        root_end, address = (str(host) for host in subnet.hosts())
        namespace = f"mims-{self.tag}-{name}"
        outside = f"mh{self.tag}r{index}"  # root namespace names: at most 15 bytes
        _ip("netns", "add", namespace)
        self.machines[name] = Machine(name, namespace, address, root_end)
        _ip("link", "add", outside, "type", "veth", "peer", "name", "root", "netns", namespace)
        _ip("addr", "add", f"{root_end}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", namespace, "addr", "add", f"{address}/30", "dev", "root")
        _ip("-n", namespace, "link", "set", "root", "up")
        _ip("-n", namespace, "link", "set", "lo", "up")

    def _link(self, first: str, second: str) -> None:
        """Join two machines through a bridge of their own in the hub, routes and neighbours."""
        index = len(self._links)
        subnet = self._subnet(32 + index)
        bridge = f"br{index}"
        _ip("-n", self._hub, "link", "add", bridge, "type", "bridge")
        _ip("-n", self._hub, "link", "set", bridge, "up")
        ends = {}
        for name, host in zip((first, second), subnet.hosts(), strict=True):
            machine = self.machines[name]
            port = f"{name}{index}"[:15]
            inside = f"to-{(second if name == first else first)}"[:15]
            _ip(
                "-n", self._hub, "link", "add", port, "type", "veth",
                "peer", "name", inside, "netns", machine.namespace,
            )  # fmt: skip
            _ip("-n", self._hub, "link", "set", port, "master", bridge)
            _ip("-n", self._hub, "link", "set", port, "up")
            _ip("-n", machine.namespace, "addr", "add", f"{host}/30", "dev", inside)
            _ip("-n", machine.namespace, "link", "set", inside, "up")
            ends[name] = (str(host), inside, _mac(machine.namespace, inside))
        for name, other in ((first, second), (second, first)):
            namespace = self.machines[name].namespace
            host, inside, _ = ends[name]
            peer_host, _, peer_mac = ends[other]
            # The peer's server address goes over this link; a permanent neighbour entry keeps
            # a cut silent (no ARP failure turning lost packets into "host unreachable").
            _ip("-n", namespace, "neigh", "replace", peer_host, "lladdr", peer_mac,
                "dev", inside, "nud", "permanent")  # fmt: skip
            _ip("-n", namespace, "route", "replace", f"{self.machines[other].address}/32",
                "via", peer_host, "dev", inside, "src", host)  # fmt: skip
        self._links[frozenset((first, second))] = (bridge, f"{first}{index}"[:15])

    def _subnet(self, index: int) -> ipaddress.IPv4Network:
        return list(self.block.subnets(new_prefix=30))[index]

    # -- partitions ---------------------------------------------------------------------------

    def cut(self, first: str, second: str) -> None:
        """Lose every packet between two machines, silently, until ``heal``."""
        _, port = self._links[frozenset((first, second))]
        _ip("-n", self._hub, "link", "set", port, "nomaster")

    def heal(self, first: str, second: str) -> None:
        """Carry packets between two machines again."""
        bridge, port = self._links[frozenset((first, second))]
        _ip("-n", self._hub, "link", "set", port, "master", bridge)

    # -- removing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Kill what runs in the namespaces, delete them (their veths go with them)."""
        if self._closed:
            return
        self._closed = True
        namespaces = [m.namespace for m in self.machines.values()]
        namespaces += [self._hub] if self._hub else []
        for namespace in namespaces:
            _kill_inside(namespace)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        atexit.unregister(self.close)


def _kill_inside(namespace: str) -> None:
    """Stop the processes left in a namespace this code made (only its own servers run there)."""
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    pids = [int(pid) for pid in listed.stdout.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        time.sleep(0.02)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _mac(namespace: str, interface: str) -> str:
    shown = subprocess.run(
        ["ip", "-n", namespace, "-j", "link", "show", "dev", interface],
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(shown.stdout)[0]["address"])


def _free_block() -> ipaddress.IPv4Network:
    """Return a /24 of ``BLOCKS`` that no root namespace address or namespace of ours uses."""
    shown = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True)
    used = {
        ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}").network
        for link in json.loads(shown.stdout)
        for a in link.get("addr_info", [])
    }
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    blocks = list(BLOCKS.subnets(new_prefix=24))
    start = os.getpid() % len(blocks)
    for block in blocks[start:] + blocks[:start]:
        taken = any(network.overlaps(block) for network in used)
        if not taken and f"mims-{block.network_address.packed[2]}-" not in namespaces:
            return block
    raise RuntimeError(f"no free /24 left in {BLOCKS}")


class _locked:
    """Hold the machine-wide lock under which address blocks are chosen and taken."""

    def __enter__(self) -> None:
        self.handle = LOCK.open("a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
