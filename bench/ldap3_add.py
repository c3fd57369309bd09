"""Add the entries of an LDIF file with plain ldap3: the Python library floor of `mims import`.

``python -m bench.ldap3_add --url LDAPI_URL --workers W FILE...`` adds every entry of each file
in turn (people before groups), W threads with one connection each, as the bridge's importer
does, but with no naming, no checks and one add per entry. It binds as the rootDN over ldapi
(SASL EXTERNAL), as `ldapadd -Y EXTERNAL` does.
"""

from __future__ import annotations

import argparse
import base64
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

from ldap3 import EXTERNAL, NONE, SASL, Connection, Server

from bench.ldif import records

Entry = tuple[str, dict[str, list[str | bytes]]]


def entries(path: Path) -> Iterator[Entry]:
    """Yield (DN, attributes) for each record of an LDIF file of adds."""
    for record in records(path):
        dn = _value(record[0].split(":", 1)[1])
        attributes: dict[str, list[str | bytes]] = {}
        for line in record[1:]:
            name, _, value = line.partition(":")
            attributes.setdefault(name, []).append(_value(value))
        yield str(dn if isinstance(dn, str) else dn.decode()), attributes


def _value(text: str) -> str | bytes:
    if text.startswith(":"):
        raw = base64.b64decode(text[1:].strip())
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return raw
    return text[1:] if text.startswith(" ") else text


class Adder:
    """One rootDN connection per thread; adds raise on any failure."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.local = threading.local()
        self.connections: list[Connection] = []

    def add(self, entry: Entry) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = Connection(
                Server(self.url, get_info=NONE),
                authentication=SASL,
                sasl_mechanism=EXTERNAL,
                sasl_credentials="",
                auto_bind=True,
                raise_exceptions=True,
            )
            self.local.connection = connection
            self.connections.append(connection)
        connection.add(entry[0], attributes=entry[1])

    def close(self) -> None:
        for connection in self.connections:
            connection.unbind()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ldap3_add")
    parser.add_argument("--url", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    adder = Adder(args.url)
    added = 0
    with ThreadPoolExecutor(args.workers) as pool:
        for path in args.files:
            stream = entries(path)
            while batch := list(islice(stream, 1000)):
                for _ in pool.map(adder.add, batch):
                    added += 1
    adder.close()
    print(f"added {added} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
