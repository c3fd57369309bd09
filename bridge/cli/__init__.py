"""The ``mims`` command for school admins and sysadmins."""

from __future__ import annotations

import getpass
import importlib
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bridge.cli.errors import report
from bridge.core.audit import Origin, set_origin
from bridge.errors import BridgeError

if TYPE_CHECKING:
    from bridge.config import Config
    from bridge.core.ports import People
    from bridge.core.services import Services
    from bridge.services import Backend

# Every command of `mims`: the module of bridge.cli that defines it and its name there. A
# command's module is imported only when that command runs (or help lists it), so `mims`
# starts without loading the directory, web and PDF code that other commands need.
COMMANDS: dict[str, str] = {
    "admin": "admins:admin",
    "answers": "portal:answers",
    "audit": "audit:audit",
    "backup": "backup:backup",
    "cards": "portal:cards",
    "check": "checks:check",
    "cohort": "portal:cohort",
    "demo": "roster:demo",
    "directory": "directory:directory",
    "doctor": "doctor:doctor",
    "failover": "failover:failover",
    "group": "groups:group",
    "import": "roster:import_roster",
    "login-id": "people:login_id",
    "password": "passwords:password",
    "password-service": "password_service:password_service",
    "policy": "passwords:policy",
    "restore": "backup:restore",
    "serve": "serve:serve",
    "service": "services:service",
    "slapd": "slapd:slapd",
    "sync": "sync:sync",
    "token": "tokens:token",
    "user": "people:user",
}

# Modules that add subcommands to a group another module defines.
EXTENSIONS: dict[str, tuple[str, ...]] = {"user": ("people_changes", "passwords")}


class _Group(click.Group):
    """The ``mims`` group: one clear line on stderr for an error, never a traceback.

    A command's module is imported when that command is first needed.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every command's name, sorted, without importing any of them."""
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the named command, importing its module (and its extensions) the first time."""
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, name = COMMANDS[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(f"bridge.cli.{module}"), name)
        for extension in EXTENSIONS.get(cmd_name, ()):
            importlib.import_module(f"bridge.cli.{extension}")
        self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BridgeError as error:
            if error.status == 500 and os.environ.get("MIMS_DEBUG"):
                raise
            ctx.exit(report(error))
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # The reader went away (`mims user list | head`): stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as error:
            if os.environ.get("MIMS_DEBUG"):
                raise
            ctx.exit(report(error))


def load(ctx: click.Context, **sections: dict[str, Any]) -> Config:
    """Load the configuration once per command, with command-line flags laid over it."""
    from bridge.config import load_config

    config: Config = load_config(ctx.find_root().params.get("config_file"))
    for url in config.directory.cleartext_urls:
        click.echo(
            f'Warning: tls = "off": {url} carries the bridge\'s password in clear text', err=True
        )
    return config.with_overrides(**sections) if sections else config


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MIMS_CONFIG",
    help="A TOML file laid over config/default.toml (also MIMS_CONFIG).",
)
@click.version_option(package_name="mims-bridge")
def main(config_file: Path | None) -> None:
    """Manage the MIMS identity bridge: its directory, its people, its web service.

    \b
    Examples:
      mims serve                      start slapd and the bridge on the embedded default
      mims slapd status               is the managed directory running?
      mims --config site.toml serve   use your own settings
    """
    # The audit trail's "who" for every change this command makes: the person at the shell.
    set_origin(Origin("cli", cli_user(), "local", uuid.uuid4().hex))


def cli_user() -> str:
    """Return who runs the command: the sudo caller if any, else the account's name."""
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid {os.getuid()}"


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the managed slapd (default: MIMS_DATA_DIR, else ~/.local/share/mims-bridge).",
)


def open_backend(config: Config) -> Backend:
    """Return the directory's implementations, starting the managed slapd if needed.

    The configured password policies are written to the directory each time (a few
    idempotent operations), so people always point at entries that exist and match.
    """
    from bridge.services import Backend, ensure_running, managed_slapd

    if ensure_running(config):
        slapd = managed_slapd(config)
        click.echo(
            f"started slapd on {slapd.ldap_url()} (stop it with `mims slapd stop`)", err=True
        )
    backend = Backend(config)
    backend.services.passwords.sync_policies()
    return backend


def open_services(config: Config) -> Services:
    """Return the core services over the configured directory, starting slapd if needed."""
    return open_backend(config).services


def people_directory(config: Config) -> People:
    """Return the people of the configured directory, starting the managed slapd if needed."""
    return open_services(config).people
