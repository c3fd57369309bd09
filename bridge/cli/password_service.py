"""``mims password-service``: the LDAP password-change service, alone or beside ``mims serve``.

``mims serve`` runs it in a process of its own (``Beside``), started before gunicorn and
stopped after it: gunicorn forks its workers from the master, which must hold no listener or
directory connection of the service's.
"""

from __future__ import annotations

import errno
import multiprocessing
import queue
import sys
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

import click

from bridge import services as wiring
from bridge.cli import data_dir_option, load
from bridge.config import Config
from bridge.errors import BridgeError, ConfigError
from bridge.web import logs

READY_SECONDS = 30
STOP_SECONDS = 15


@click.command("password-service")
@data_dir_option
@click.option("--port", type=click.IntRange(1, 65535), help="ldaps port (default 1637).")
@click.option("--host", help="Address to listen on (default: [http] host, 127.0.0.1).")
@click.pass_context
def password_service(
    ctx: click.Context, data_dir: Path | None, port: int | None, host: str | None
) -> None:
    """Serve the LDAP password-change service (ldaps) until stopped.

    People change their own password from Linux under the portal's rules and words: SSSD
    through `ldap_chpass_uri`, or `ldappasswd`. `mims serve` runs it too; this runs it alone.
    Without [password_service] tls_cert, the data folder's CA signs its certificate
    (clients trust DATA/tls/ca.pem). See docs/password-change.md.

    \b
    Examples:
      mims password-service
      mims password-service --host 0.0.0.0 --port 1637 --data-dir /srv/mims
      LDAPTLS_CACERT=~/.local/share/mims-bridge/tls/ca.pem ldappasswd \\
        -H ldaps://127.0.0.1:1637 -x -D tan_mei_ling@students.schools.gov.sg -W -S
    """
    config = load(
        ctx,
        slapd={"data_dir": data_dir},
        password_service={"port": port, "host": host},
    )
    if config.password_service.port == 0:
        raise ConfigError("password_service.port: 0 means off; give --port or set a port")
    logs.configure(config.log)
    started = wiring.ensure_running(config)
    try:
        wiring.run_password_service(config, _announce(config))
    except OSError as error:
        raise ConfigError(_listen_error(config, error)) from None
    finally:
        if started:
            wiring.managed_slapd(config).stop()
            click.echo("slapd stopped", err=True)


class Beside:
    """The password service in a child process of ``mims serve``."""

    def __init__(self, config: Config) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready: multiprocessing.Queue[str] = context.Queue()
        self.process: BaseProcess = context.Process(
            target=_child, args=(config, self._ready), name="mims-password-service"
        )

    def start(self) -> str:
        """Start the child; return its URL once it listens, or raise ConfigError."""
        self.process.start()
        try:
            message = self._ready.get(timeout=READY_SECONDS)
        except queue.Empty:
            message = "error: the password service did not start in time"
        if message.startswith("error: "):
            self.stop()
            raise ConfigError(message.removeprefix("error: "))
        return message

    def stop(self) -> None:
        """Stop the child (SIGTERM: changes under way finish), killing it if it hangs."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _child(config: Config, ready: multiprocessing.Queue[str]) -> None:
    """Run the service in ``mims serve``'s child process; report ready or one error line."""
    logs.configure(config.log)
    try:
        wiring.run_password_service(config, ready.put)
    except OSError as error:
        ready.put("error: " + _listen_error(config, error))
    except BridgeError as error:
        ready.put(f"error: {error}")
    except KeyboardInterrupt:
        pass


def _announce(config: Config) -> Callable[[str], None]:
    def ready(url: str) -> None:
        ca = wiring.local_ca_file(config)
        trust = "" if config.password_service.tls_cert else f"LDAPTLS_CACERT={ca} "
        click.echo(f"password service  {url}  (ldappasswd, SSSD ldap_chpass_uri)", err=True)
        click.echo(f"try               {trust}ldappasswd -H {url} -x -D LOGIN_ID -W -S", err=True)
        sys.stderr.flush()

    return ready


def _listen_error(config: Config, error: OSError) -> str:
    host, port = wiring.password_service_address(config)
    in_use = error.errno == errno.EADDRINUSE
    reason = "in use by another program" if in_use else (error.strerror or str(error))
    return (
        f"password_service: cannot listen on {host}:{port}: {reason}; choose another port "
        "([password_service] port, --password-port; 0: off)"
    )
