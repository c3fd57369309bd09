"""`mims failover compare`: two providers' trees, entry by entry, through the real command.

A stranded add (docs/high-availability.md) is made as slapd leaves one: an entry on one
provider, with an entryCSN older than what both providers' contextCSNs record, so neither
sends it to the other. It is loaded with ``slapadd`` into a stopped provider (without ``-w``,
which leaves the contextCSN alone). The same way, both providers get one entry with the same
entryUUID and entryCSN but different values, as a change lost to replication would leave it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.directory.servers import TLS_HANDSHAKE
from bridge.directory.slapd import tool
from tests.support.certificates import make_certificates
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.write_pair import Pair, Provider, add_entry, replicated_pair

OLD_CSN = "20000101000000.000000Z#000000#001#000000"  # older than anything either recorded
STRANDED = f"cn=stranded,ou=services,{SUFFIX}"
TOKEN = f"cn=compare-token,ou=services,{SUFFIX}"
HASHES = ("first-secret-hash-value", "second-secret-hash-value")


@pytest.fixture
def pair() -> Iterator[Pair]:
    with replicated_pair() as made:
        yield made


def slapadd(provider: Provider, ldif: str) -> None:
    """Load entries into a stopped provider, as they are, its contextCSN untouched."""
    with tempfile.NamedTemporaryFile("w", suffix=".ldif") as handle:
        handle.write(ldif)
        handle.flush()
        command = [tool("slapadd"), "-F", str(provider.slapd.layout.config_dir)]
        done = subprocess.run(
            [*command, "-b", SUFFIX, "-q", "-l", handle.name],
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr


def token(description: str, hashed: str) -> str:
    return (
        f"dn: {TOKEN}\nobjectClass: top\nobjectClass: mimsToken\ncn: compare-token\n"
        f"description: {description}\nmimsTokenHash: {hashed}\n"
        f"entryUUID: 3d1e2b8c-0000-4000-8000-000000000001\nentryCSN: {OLD_CSN}\n\n"
    )


def diverge(pair: Pair) -> None:
    """Leave a stranded add on the first provider and one entry that differs on both."""
    pair.second.stop()
    pair.first.stop()
    stranded = (
        f"dn: {STRANDED}\nobjectClass: organizationalRole\ncn: stranded\n"
        f"entryUUID: 3d1e2b8c-0000-4000-8000-000000000002\nentryCSN: {OLD_CSN}\n\n"
    )
    slapadd(pair.first, stranded + token("one", HASHES[0]))
    slapadd(pair.second, token("two", HASHES[1]))
    pair.first.start()
    pair.second.start()


def compare(pair: Pair, *args: str) -> subprocess.CompletedProcess[str]:
    return mims("failover", "compare", *args, env=pair.env(), timeout=120)


def test_a_pair_in_step_holds_the_same_entries(pair: Pair) -> None:
    bridge = pair.bridge()
    for n in range(5):
        add_entry(bridge, f"compared-{n}")
    pair.wait_in_step()

    done = compare(pair)

    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("the same ") and last.endswith(
        f"entries on {pair.first.url} and {pair.second.url}"
    ), done.stdout
    assert int(last.split()[2].replace(",", "")) >= 5
    assert f"{pair.first.url}: " in done.stderr  # progress, on stderr


def test_a_stranded_add_and_a_lost_change_are_listed_secrets_unshown(pair: Pair) -> None:
    diverge(pair)
    pair.wait_in_step()  # what `mims failover status` compares says nothing is missing

    done = compare(pair)

    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert f"only on {pair.first.url}: {STRANDED}" in lines
    assert f"{TOKEN}: description: only the first has [one], only the second has [two]" in lines
    assert f"{TOKEN}: mimstokenhash: values differ (not shown: a secret)" in lines
    assert lines[-1].startswith("2 entries differ: "), done.stdout
    assert not any(hashed in done.stdout + done.stderr for hashed in HASHES)


def test_touching_an_entry_where_it_is_right_mends_the_other(pair: Pair) -> None:
    diverge(pair)
    for entry in (STRANDED, TOKEN):  # docs/high-availability.md: a modify replicates it whole
        with admin_connection(pair.first.slapd) as admin:
            admin.modify(entry, {"description": [(ldap3.MODIFY_REPLACE, ["checked"])]})
    pair.wait_in_step()

    done = compare(pair)

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_limit_lists_fewer_and_counts_the_rest(pair: Pair) -> None:
    diverge(pair)

    done = compare(pair, "--limit", "1")

    assert done.returncode == 1, done.stderr
    assert "... and 1 more (not read again; raise --limit to list them)" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("2 entries differ: ")


def test_the_providers_named_the_other_way_round_swap_sides(pair: Pair) -> None:
    diverge(pair)

    done = compare(pair, pair.second.url, pair.first.url)

    assert done.returncode == 1, done.stderr
    assert f"only on {pair.first.url}: {STRANDED}" in done.stdout
    assert f"{TOKEN}: description: only the first has [two], only the second has [one]" in (
        done.stdout
    )


def test_a_provider_that_does_not_answer_is_named(pair: Pair) -> None:
    pair.second.stop()

    done = compare(pair)

    assert done.returncode == 69, done.stdout
    assert done.stderr.strip().splitlines()[-1] == f"Error: {pair.second.url} does not answer"


def test_a_certificate_not_trusted_is_said_in_words(pair: Pair, tmp_path: Path) -> None:
    env = pair.env()
    other = make_certificates(tmp_path)  # a CA that signed neither provider's certificate
    Path(env["MIMS_CONFIG"]).write_text(f'[directory]\nca_file = "{other.ca}"\n')

    done = mims("failover", "compare", env=env, timeout=120)

    assert done.returncode == 69, done.stdout
    assert done.stderr.strip().splitlines()[-1] == f"Error: {pair.first.url}: {TLS_HANDSHAKE}"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("ldaps://ldap1.example:636",), 2, "name the two providers to compare"),
        (("ldaps://ldap1.example:636", "ldaps://ldap1.example:636"), 2, "two different"),
        (("ldaps://ldap1.example:636", "ldaps://other.example:636"), 1, "is not one of"),
    ],
)
def test_the_providers_must_be_two_of_the_configured_ones(
    tmp_path: Path, args: tuple[str, ...], code: int, words: str
) -> None:
    env = {
        "MIMS_DATA_DIR": str(tmp_path),
        "MIMS_LDAP_URL": "ldaps://ldap1.example:636 ldaps://ldap2.example:636",
        "MIMS_LDAP_BIND_DN": f"cn=mims-bridge,ou=services,{SUFFIX}",
        "MIMS_LDAP_PASSWORD": "unused",
        "MIMS_LDAP_SUFFIX": SUFFIX,
    }

    done = mims("failover", "compare", *args, env=env)

    assert done.returncode == code, done.stdout + done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr
