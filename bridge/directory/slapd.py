"""A private OpenLDAP slapd that the project runs itself, in a data folder, on a port of its own.

It is the embedded default of ``mims serve``, the directory of the tests and of the benchmark.
Nothing here touches a system-wide slapd: no /etc/ldap/slapd.d, no service, no port 389.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from bridge.core.posix import DEFAULT_RULES, PosixRules
from bridge.directory import schema_upgrade, slapd_config, slapd_tls
from bridge.directory.local_ca import TlsFiles
from bridge.directory.slapd_config import Layout
from bridge.errors import SlapdError

INSTALL_HINT = "install it with `sudo apt-get install slapd ldap-utils` (or run `make run`)"
_SEARCH_PATH = ("/usr/sbin", "/usr/bin", "/sbin")
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes; keep a margin
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1"}

# slapd processes this process started, so they can be reaped when they exit.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Status:
    """What ``mims slapd status`` reports."""

    initialised: bool
    running: bool
    answering: bool
    pid: int | None
    ldap_url: str | None
    ldaps_url: str | None
    ldapi_url: str


def tool(name: str) -> str:
    """Return the path of an OpenLDAP program, or fail with how to install it."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SEARCH_PATH))
    if not found:
        raise SlapdError(f"{name} is not installed: {INSTALL_HINT}")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that nothing listens on right now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Return whether another program already listens on ``host:port``."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


class ManagedSlapd:
    """Initialise, start, stop and inspect the slapd that lives in one data folder."""

    def __init__(
        self,
        data_dir: Path,
        suffix: str,
        no_sync: bool = False,
        *,
        listen: tuple[str, ...] = ("127.0.0.1",),
        certificate: TlsFiles | None = None,
        posix: PosixRules = DEFAULT_RULES,
    ) -> None:
        """Describe the slapd of ``data_dir``.

        ``listen`` are its addresses; ``certificate``, when not the local CA's, the one it
        serves (``[slapd] tls_cert``, ``tls_key``, ``tls_ca``); ``posix``, what an upgrade
        gives people who are not yet Unix accounts (``[posix]``).
        """
        self.layout = Layout(Path(data_dir).expanduser().resolve())
        self.suffix = suffix
        self.no_sync = no_sync
        self.listen = listen
        self.certificate = certificate
        self.posix = posix

    # -- where it is -------------------------------------------------------------------------

    @property
    def ldapi_url(self) -> str:
        """Return the URL of the unix socket inside the data folder."""
        return "ldapi://" + quote(str(self.layout.socket), safe="")

    def ldap_url(self) -> str | None:
        """Return the ldap:// URL (StartTLS) of the running slapd, or None when not running."""
        run = self._read_run_state()
        return f"ldap://{self._url_host()}:{run['port']}" if run else None

    def ldaps_url(self) -> str | None:
        """Return the ldaps:// URL of the running slapd, or None when it serves none."""
        run = self._read_run_state()
        return (
            f"ldaps://{self._url_host()}:{run['ldaps_port']}" if run and run["ldaps_port"] else None
        )

    @property
    def ca_file(self) -> Path | None:
        """Return the CA certificate clients trust (LDAPTLS_CACERT), None for the system's."""
        if self.certificate is not None:
            return self.certificate.ca
        return self.layout.tls_dir / "ca.pem"

    def _url_host(self) -> str:
        """Return the first listen address as clients on this machine write it in a URL."""
        host = self.listen[0].strip("[]")
        return _in_url(_WILDCARD_HOSTS.get(host, host))

    @property
    def service_dn(self) -> str:
        """Return the DN the bridge binds as."""
        return slapd_config.service_dn(self.suffix)

    def service_password(self) -> str:
        """Return the bridge service account's password, kept in the data folder (mode 0600)."""
        try:
            return self.layout.service_secret.read_text()
        except FileNotFoundError:
            raise SlapdError(
                f"{self.layout.root} holds no directory yet: run `mims slapd init --data-dir "
                f"{self.layout.root}`"
            ) from None

    @property
    def admin_dn(self) -> str:
        """Return the rootDN: whoever owns the data folder, over ldapi with SASL EXTERNAL."""
        return slapd_config.peercred_dn(os.getuid(), os.getgid())

    # -- init ----------------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        """Return whether the data folder holds a directory made by ``init``."""
        return self.layout.marker.exists()

    def init(self) -> None:
        """Create the cn=config, the schema and the base tree in an empty data folder."""
        self._make(None)

    def init_copy_of(self, first: ManagedSlapd, tree: str) -> None:
        """Create a second provider of ``first``: its CA, its service secret, ``tree`` (slapcat).

        The cn=config is this code's, as ``init`` writes it; replication settings come after.
        """
        self._make((first, tree))

    def check_empty(self) -> None:
        """Refuse a folder that holds a directory or anything else, or too long a path."""
        root = self.layout.root
        if self.is_initialised():
            raise SlapdError(f"{root} already holds a directory; remove the folder to start over")
        if root.exists() and any(root.iterdir()):
            raise SlapdError(
                f"{root} is not empty and holds no mims directory; choose an empty folder"
            )
        if len(str(self.layout.socket)) > _MAX_SOCKET_PATH:
            raise SlapdError(
                f"{root} is too long a path for slapd's socket; choose a shorter folder"
            )

    def _make(self, copy: tuple[ManagedSlapd, str] | None) -> None:
        self.check_empty()
        root = self.layout.root
        slapadd = tool("slapadd")
        tool("slapd")
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(root, 0o700)  # a folder that was there keeps its mode: it holds every secret
        try:
            self.layout.config_dir.mkdir(mode=0o700)
            self.layout.db_dir.mkdir(mode=0o700)
            self.layout.accesslog_dir.mkdir(mode=0o700)
            if copy is not None:  # one ca.pem trusts both providers
                self.layout.tls_dir.mkdir(mode=0o700)
                for name in ("ca.pem", "ca.key"):
                    shutil.copy2(copy[0].layout.tls_dir / name, self.layout.tls_dir / name)
            files = self.tls_files()
            tls = slapd_config.tls_settings(files.cert, files.key, files.ca)
            config = slapd_config.config_ldif(
                self.layout, self.suffix, self.admin_dn, self.no_sync, tls
            )
            self._slapadd(slapadd, ["-n0"], config)
            if copy is not None:
                password, tree = copy[0].service_password(), copy[1]
            else:
                password = secrets.token_urlsafe(24)
                tree = slapd_config.base_tree_ldif(
                    self.suffix, slapd_config.schema_version(), self._hash(password)
                )
            # -w: a copy's contextCSN is its newest entryCSN, the state replication resumes from
            self._slapadd(slapadd, ["-b", self.suffix, *(["-w"] if copy else [])], tree)
            _write_private(self.layout.service_secret, password)
            marker = {
                "schema_version": slapd_config.schema_version(),
                "suffix": self.suffix,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            _write_private(self.layout.marker, json.dumps(marker, indent=2) + "\n")
        except BaseException:
            leftovers = (
                self.layout.config_dir,
                self.layout.db_dir,
                self.layout.accesslog_dir,
                self.layout.tls_dir,
            )
            for leftover in leftovers:
                shutil.rmtree(leftover, ignore_errors=True)
            self.layout.service_secret.unlink(missing_ok=True)
            raise

    def _slapadd(self, slapadd: str, args: list[str], content: str) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".ldif", dir=self.layout.root) as handle:
            handle.write(content)
            handle.flush()
            command = [slapadd, "-F", str(self.layout.config_dir), *args, "-q", "-l", handle.name]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SlapdError(
                f"slapadd refused the {' '.join(args)} LDIF: {_last_line(result.stderr)}"
            )

    def _hash(self, password: str) -> str:
        """Hash a password with slapd's own {ARGON2} module, the scheme it uses for binds."""
        with tempfile.NamedTemporaryFile("w", dir=self.layout.root) as secret:
            os.chmod(secret.name, 0o600)
            secret.write(password)
            secret.flush()
            command = [
                tool("slappasswd"),
                *("-o", f"module-path={slapd_config.MODULE_PATH}"),
                *("-o", f"module-load={slapd_config.module_load('argon2')}"),
                *("-h", "{ARGON2}", "-T", secret.name),
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SlapdError(f"slappasswd failed: {_last_line(result.stderr)}")
        return result.stdout.strip()

    def check_version(self) -> int:
        """Return the folder's schema version; refuse one this code cannot serve, in one line.

        An older folder is accepted when it can be upgraded: ``start`` (or ``upgrade``)
        brings it forward in place.
        """
        if not self.is_initialised():
            raise SlapdError(
                f"{self.layout.root} holds no directory yet: run `mims slapd init --data-dir "
                f"{self.layout.root}`"
            )
        made, suffix = self._read_marker()
        wanted = slapd_config.schema_version()
        if made < schema_upgrade.OLDEST_UPGRADABLE:
            raise SlapdError(
                f"{self.layout.root} was made with schema version {made} but this mims-bridge "
                f"needs version {wanted}: export it with slapcat and import it into a new "
                "data folder"
            )
        if made > wanted:
            raise SlapdError(
                f"{self.layout.root} was made by a newer mims-bridge (schema version {made}); "
                f"this one knows version {wanted}: upgrade mims-bridge"
            )
        if suffix != self.suffix:
            raise SlapdError(
                f"{self.layout.root} holds suffix {suffix!r} but the configuration says "
                f"{self.suffix!r}"
            )
        return made

    def upgrade(self, *, force: bool = False, config_only: bool = False) -> bool:
        """Upgrade the running slapd's folder to this code's schema version; return if it did.

        ``force`` applies this code's cn=config (and entries) even when the version is the
        same; ``config_only`` leaves the entries, and the recorded version, as they are (a
        replica whose entries come from its peer). The marker file is rewritten last, so a
        failure midway leaves the old version recorded and the next start runs the
        (repeatable) upgrade again.
        """
        made = self.check_version()
        wanted = slapd_config.schema_version()
        if made == wanted and not force:
            return False
        self.layout.accesslog_dir.mkdir(mode=0o700, exist_ok=True)
        accesslog = slapd_config.accesslog_database(self.layout, self.admin_dn, self.no_sync)
        schema_upgrade.upgrade(
            self.ldapi_url, self.suffix, wanted, accesslog, self.posix, config_only=config_only
        )
        if config_only:
            return True
        marker = json.loads(self.layout.marker.read_text())
        marker["schema_version"] = wanted
        marker["upgraded"] = datetime.now(UTC).isoformat(timespec="seconds")
        _write_private(self.layout.marker, json.dumps(marker, indent=2) + "\n")
        return True

    def schema_version(self) -> int:
        """Return the schema version the folder records (its marker file)."""
        return self._read_marker()[0]

    def _read_marker(self) -> tuple[int, str]:
        try:
            marker = json.loads(self.layout.marker.read_text())
            return int(marker["schema_version"]), str(marker["suffix"])
        except (ValueError, KeyError, TypeError):
            raise SlapdError(f"{self.layout.marker} is damaged; restore it from a backup") from None

    # -- run -----------------------------------------------------------------------------------

    def start(self, port: int, ldaps_port: int | None = None, timeout: float = 15.0) -> int:
        """Start slapd in the background; return its PID.

        It listens on ``ldap://`` (StartTLS) on ``port`` and, when given, ``ldaps://`` on
        ``ldaps_port`` at every listen address, and on the ldapi socket. The certificate is
        checked (or the local one made or renewed) first, and written into cn=config.
        """
        self.check_version()
        running = self.pid()
        if running is not None:
            raise SlapdError(f"slapd is already running for {self.layout.root} (pid {running})")
        ports = [(port, "--port")] + ([(ldaps_port, "--ldaps-port")] if ldaps_port else [])
        for host in self.listen:
            for number, option in ports:
                if port_in_use(number, host.strip("[]")):
                    raise SlapdError(
                        f"port {number} on {host} is in use by another program; "
                        f"choose another with {option}"
                    )
        slapd_tls.configure(self.layout, tool("slapmodify"), self.tls_files())
        self.layout.socket.unlink(missing_ok=True)
        self.layout.pid_file.unlink(missing_ok=True)
        listeners = [f"ldap://{_in_url(host)}:{port}/" for host in self.listen]
        if ldaps_port:
            listeners += [f"ldaps://{_in_url(host)}:{ldaps_port}/" for host in self.listen]
        urls = " ".join([*listeners, f"{self.ldapi_url}/"])
        command = [tool("slapd"), "-d", "0", "-F", str(self.layout.config_dir), "-h", urls]
        with self.layout.log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `mims slapd start`; stopped by its PID
            )
        _CHILDREN[process.pid] = process
        self._write_run_state(process.pid, port, ldaps_port or 0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                _CHILDREN.pop(process.pid, None)
                self._clear_run_state()
                raise SlapdError(f"slapd stopped while starting: {self._log_reason()}")
            if self.answers():
                self._upgrade_or_stop()
                return process.pid
            time.sleep(0.02)
        self.stop()
        raise SlapdError(f"slapd did not answer within {timeout:.0f} s; see {self.layout.log_file}")

    def tls_files(self) -> TlsFiles:
        """Return the certificate to serve: your own, checked, or the local CA's, made or renewed.

        Your own files are refused in one line (naming the setting and the file) when missing,
        unreadable, expired, not each other's, or not signed by ``tls_ca``.
        """
        return slapd_tls.certificate(self.layout, self.listen, self.certificate)

    def _upgrade_or_stop(self) -> None:
        try:
            self.upgrade()
        except BaseException:
            self.stop()
            raise

    def pid(self) -> int | None:
        """Return the PID of this folder's slapd when it is alive, else None."""
        run = self._read_run_state()
        if run is None:
            return None
        pid = int(run["pid"])
        if _is_our_slapd(pid, self.layout.config_dir):
            return pid
        return None

    def ports(self) -> tuple[int, int | None] | None:
        """Return the running slapd's ldap:// and ldaps:// ports (None: none), or None."""
        run = self._read_run_state() if self.pid() is not None else None
        return (run["port"], run["ldaps_port"] or None) if run else None

    def answers(self) -> bool:
        """Return whether slapd accepts a connection on its socket."""
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(str(self.layout.socket))
            except OSError:
                return False
        return True

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop this folder's slapd by its PID; return whether it was running."""
        pid = self.pid()
        if pid is None:
            self._clear_run_state()
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _is_our_slapd(pid, self.layout.config_dir):
            time.sleep(0.02)
        if _is_our_slapd(pid, self.layout.config_dir):
            os.kill(pid, signal.SIGKILL)  # mdb is crash-safe: nothing written is lost
            while _is_our_slapd(pid, self.layout.config_dir):
                time.sleep(0.02)
        self._clear_run_state()
        return True

    def status(self) -> Status:
        """Return whether the folder is initialised, slapd runs, and it answers."""
        pid = self.pid()
        return Status(
            initialised=self.is_initialised(),
            running=pid is not None,
            answering=pid is not None and self.answers(),
            pid=pid,
            ldap_url=self.ldap_url() if pid is not None else None,
            ldaps_url=self.ldaps_url() if pid is not None else None,
            ldapi_url=self.ldapi_url,
        )

    # -- run state -----------------------------------------------------------------------------

    @property
    def _run_file(self) -> Path:
        return self.layout.root / "slapd.run.json"

    def _write_run_state(self, pid: int, port: int, ldaps_port: int) -> None:
        run = {"pid": pid, "port": port, "ldaps_port": ldaps_port}
        self._run_file.write_text(json.dumps(run) + "\n")

    def _read_run_state(self) -> dict[str, int] | None:
        try:
            run = json.loads(self._run_file.read_text())
            return {
                "pid": int(run["pid"]),
                "port": int(run["port"]),
                "ldaps_port": int(run.get("ldaps_port", 0)),
            }
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _clear_run_state(self) -> None:
        self._run_file.unlink(missing_ok=True)

    def _log_reason(self) -> str:
        try:
            lines = self.layout.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "it wrote nothing"
        return _last_line("\n".join(lines[-20:])) or "it wrote nothing"


def _is_our_slapd(pid: int, config_dir: Path) -> bool:
    """Return whether ``pid`` is a live slapd serving ``config_dir`` (PIDs get reused)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:  # our own child, exited and now reaped
        del _CHILDREN[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state == "Z":
        if child is not None:  # it exited after the poll above: reap it now, or it stays a zombie
            child.wait()
            del _CHILDREN[pid]
        return False
    return str(config_dir).encode() in cmdline and b"slapd" in cmdline[0]


def _in_url(host: str) -> str:
    """Return a listen address as a URL writes it: IPv6 addresses in brackets."""
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, without a moment where others could."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _last_line(text: str) -> str:
    """Return the last meaningful line of a tool's output, for a one-line error."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "closing" not in line and "slapd stopped" not in line and "shutdown" not in line:
            return line
    return lines[-1] if lines else ""
