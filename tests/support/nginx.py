"""Debian's nginx running the published deploy/nginx/mims-bridge.conf, on free ports.

The site file is used as shipped: only its listen ports, certificate paths, upstream address
and log paths are replaced, each of which must occur exactly once (a changed file fails here
loudly rather than being tested half). The main configuration around it (pid file, temp
folders, error log) is the test's own, in place of /etc/nginx/nginx.conf.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bridge.directory.slapd import port_in_use
from tests.support import programs
from tests.support.certificates import Certificates
from tests.support.ports import free_port

PUBLISHED = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "mims-bridge.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass(frozen=True)
class Nginx:
    """A running nginx: its HTTPS and plain HTTP ports, and its logs' folder."""

    https_port: int
    http_port: int
    folder: Path

    def access_log(self) -> str:
        """Return what nginx has logged of the requests until now."""
        return (self.folder / "access.log").read_text()


def render_site(
    text: str, *, https_port: int, http_port: int, certs: Certificates, upstream: str, folder: Path
) -> str:
    """Return the published site file with the test's ports, files and upstream put in."""
    replacements = {
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/mims/tls/fullchain.pem": str(certs.cert),
        "/etc/mims/tls/privkey.pem": str(certs.key),
        "server 127.0.0.1:8080;": f"server {upstream};",
        "/var/log/nginx/mims-bridge.access.log": str(folder / "access.log"),
        "/var/log/nginx/mims-bridge.error.log": str(folder / "error.log"),
    }
    for published, ours in replacements.items():
        count = text.count(published)
        assert count == 1, f"{PUBLISHED} has {published!r} {count} times, not once"
        text = text.replace(published, ours)
    return text


def main_config(folder: Path, site: Path) -> str:
    """Return an nginx.conf whose own files are all in ``folder``, including ``site``."""
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    # Run as root (a test machine's container), nginx would hand its workers to "nobody",
    # who cannot write the temp folders here.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {folder / 'main-access.log'};\n"
        f"    client_body_temp_path {temp['body']};\n"
        f"    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n"
        f"    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    include {site};\n"
        "}\n"
    )


@contextmanager
def fronting(upstream: str, certs: Certificates) -> Iterator[Nginx]:
    """Run nginx with the published site file in front of ``upstream`` (HOST:PORT).

    nginx runs in the foreground as this test's child and is stopped by its PID.
    """
    folder = Path(tempfile.mkdtemp(prefix="mims-nginx-"))
    running = Nginx(https_port=free_port(), http_port=free_port(), folder=folder)
    site = folder / "mims-bridge.conf"
    site.write_text(
        render_site(
            PUBLISHED.read_text(),
            https_port=running.https_port,
            http_port=running.http_port,
            certs=certs,
            upstream=upstream,
            folder=folder,
        )
    )
    (folder / "nginx.conf").write_text(main_config(folder, site))
    command = [
        NGINX,
        "-p",
        str(folder),
        "-c",
        str(folder / "nginx.conf"),
        "-e",
        str(folder / "error.log"),
    ]
    try:
        # SIGTERM: a fast shutdown of master and workers.
        with programs.running(
            command,
            folder / "nginx.out",
            ready=lambda: port_in_use(running.https_port),
            logs=lambda: programs.read_logs(folder / "nginx.out", folder / "error.log"),
        ):
            yield running
    finally:
        shutil.rmtree(folder, ignore_errors=True)
