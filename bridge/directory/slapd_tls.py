"""The managed slapd's certificate and its TLS settings in cn=config, put in place at start.

Which certificate slapd serves depends on the configuration (your own, or the data folder's
local CA), and it can change between starts, so it is checked (or made, or renewed) and
written into the stopped slapd's cn=config before every start, with ``slapmodify``. The same
step gives a folder made before TLS existed its certificate and ``olcSecurity``.
"""

from __future__ import annotations

import base64
import re
import subprocess
import tempfile
from pathlib import Path

from bridge.core.certificates import Settings, check_files
from bridge.directory import local_ca, slapd_config
from bridge.directory.local_ca import TlsFiles
from bridge.directory.slapd_config import Layout
from bridge.errors import SlapdError

_OWN_CERTIFICATE = Settings(cert="slapd.tls_cert", key="slapd.tls_key", ca="slapd.tls_ca")


def certificate(layout: Layout, listen: tuple[str, ...], own: TlsFiles | None) -> TlsFiles:
    """Return your own files once checked (ConfigError in one line), else the local CA's."""
    if own is None:
        return local_ca.ensure(layout.tls_dir, local_ca.server_names(listen))
    check_files(str(own.cert), str(own.key), str(own.ca or ""), _OWN_CERTIFICATE)
    return TlsFiles(
        cert=own.cert.expanduser().resolve(),
        key=own.key.expanduser().resolve(),
        ca=own.ca.expanduser().resolve() if own.ca else None,
    )


def configure(layout: Layout, slapmodify: str, files: TlsFiles) -> None:
    """Write the TLS settings into a stopped slapd's cn=config, when they differ."""
    wanted = slapd_config.tls_settings(files.cert, files.key, files.ca)
    try:
        present = _config_values(layout.config_dir / "cn=config.ldif")
    except FileNotFoundError:
        return  # no configuration at all: slapd itself says so, in its own words, at start
    lines = ["dn: cn=config", "changetype: modify"]
    for name in slapd_config.TLS_ATTRIBUTES:
        if name in wanted and present.get(name) != wanted[name]:
            lines += [f"replace: {name}", f"{name}: {wanted[name]}", "-"]
        elif name not in wanted and name in present:
            lines += [f"delete: {name}", "-"]
    if len(lines) == 2:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".ldif", dir=layout.root) as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()
        command = [slapmodify, "-F", str(layout.config_dir), "-n0", "-l", handle.name]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = [line for line in result.stderr.splitlines() if line.strip()][-1:]
        raise SlapdError(f"slapmodify refused the TLS settings: {''.join(reason)}")


def _config_values(ldif_file: Path) -> dict[str, str]:
    """Return the single-valued attributes of a cn=config LDIF file slapd wrote (RFC 2849)."""
    unfolded = re.sub(r"\n ", "", ldif_file.read_text())
    values: dict[str, str] = {}
    for line in unfolded.splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        if value.startswith(":"):
            value = base64.b64decode(value[1:].strip()).decode()
        values[name] = value.strip()
    return values
