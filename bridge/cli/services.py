"""``mims service``: accounts for programs that read (or write) the directory, one role each.

Secrets go to a file only its owner can read (``DATA/services/NAME.secret`` unless ``--out``),
or are printed once with ``--show``; the directory keeps only slapd's hash of them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from bridge.cli import data_dir_option, load, open_backend
from bridge.config import Config
from bridge.core.service_accounts import ROLES, ServiceAccount, check_name, check_role, new_secret
from bridge.errors import InvalidValue
from bridge.services import Backend

SECRETS_FOLDER = "services"


def _backend(ctx: click.Context, data_dir: Path | None) -> tuple[Config, Backend]:
    config = load(ctx, slapd={"data_dir": data_dir})
    return config, open_backend(config)


def default_secret_file(config: Config, name: str) -> Path:
    """Return where an account's secret goes when no ``--out`` is given."""
    return Path(config.slapd.data_dir).expanduser() / SECRETS_FOLDER / f"{name}.secret"


def _secret_file(config: Config, name: str, out: Path | None, show: bool) -> Path | None:
    if show and out is not None:
        raise InvalidValue("--show prints the secret instead of writing it: drop --out or --show")
    return None if show else (out or default_secret_file(config, name))


def _stage(path: Path, secret: str) -> Path:
    """Write the secret beside ``path`` in a new 0600 file, to be moved in place when done."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, staged = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(descriptor, "w") as handle:  # mkstemp makes it 0600
            handle.write(secret)  # no newline: `ldapsearch -y` sends the file as it is
    except OSError as error:
        raise InvalidValue(f"cannot write the secret to {path}: {error.strerror}") from None
    return Path(staged)


def _kept(
    secret_file: Path | None, secret: str, write: Callable[[], ServiceAccount]
) -> ServiceAccount:
    """Give the directory the secret with ``write``; the file appears only if that succeeded."""
    staged = _stage(secret_file, secret) if secret_file else None
    try:
        account = write()
    except BaseException:
        if staged:
            staged.unlink(missing_ok=True)
        raise
    if staged and secret_file:
        os.replace(staged, secret_file)
    return account


def _hand_over(
    backend: Backend, account: ServiceAccount, secret: str, secret_file: Path | None
) -> None:
    """Print the account's DN, where its secret is (or the secret, once) and a line to try."""
    click.echo(f"dn: {account.dn}")
    click.echo(f"role: {account.role}")
    if secret_file is None:
        click.echo(f"secret: {secret}")
        click.echo("copy the secret now: it cannot be shown again", err=True)
    else:
        click.echo(f"secret file: {secret_file} (mode 0600)")
    click.echo(f"try: {backend.service_search_command(account.dn, secret_file)}")


@click.group()
def service() -> None:
    """Make, list, rotate and revoke the accounts programs bind to the directory with.

    \b
    Roles: reader (people's and groups' public attributes), gcds (what Google Cloud
    Directory Sync reads), sso (people and their lock state, for a SAML IdP or Keycloak),
    writer (what the bridge does). Nobody reads passwords or their history.

    \b
    Examples:
      mims service create gcds --role gcds
      mims service list
      mims service rotate gcds
      mims service revoke gcds
    """


@service.command("create")
@data_dir_option
@click.argument("name")
@click.option("--role", help=f"What the account may do: {'|'.join(ROLES)}.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the secret here (default: DATA/services/NAME.secret), mode 0600.",
)
@click.option("--show", is_flag=True, help="Print the secret once instead of writing a file.")
@click.pass_context
def service_create(
    ctx: click.Context,
    data_dir: Path | None,
    name: str,
    role: str | None,
    out: Path | None,
    show: bool,
) -> None:
    """Make a service account under ou=services and hand over its secret.

    \b
    Examples:
      mims service create gcds --role gcds
      mims service create keycloak --role sso --out /etc/keycloak/ldap.secret
      mims service create phonebook --role reader --show
    """
    check_name(name)
    chosen = check_role(role)
    config, backend = _backend(ctx, data_dir)
    secret_file = _secret_file(config, name, out, show)
    if secret_file is not None and secret_file.exists():
        raise InvalidValue(f"{secret_file} exists already: remove it or choose another --out")
    secret = new_secret()
    account = _kept(
        secret_file, secret, lambda: backend.service_accounts().create(name, chosen, secret)
    )
    _hand_over(backend, account, secret, secret_file)


@service.command("list")
@data_dir_option
@click.pass_context
def service_list(ctx: click.Context, data_dir: Path | None) -> None:
    """List service accounts with their role (never their secrets).

    \b
    Example:
      mims service list
    """
    _, backend = _backend(ctx, data_dir)
    click.echo(f"{'NAME':<24}{'ROLE':<8}{'CREATED':<27}{'SECRET CHANGED':<27}DN")
    for account in backend.service_accounts().list():
        role = "bridge" if account.bridge else account.role or "-"
        created = account.created.isoformat() if account.created else "-"
        changed = account.secret_changed.isoformat() if account.secret_changed else "-"
        click.echo(f"{account.name:<24}{role:<8}{created:<27}{changed:<27}{account.dn}")


@service.command("rotate")
@data_dir_option
@click.argument("name")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new secret here (default: DATA/services/NAME.secret), mode 0600.",
)
@click.option("--show", is_flag=True, help="Print the new secret once instead of a file.")
@click.pass_context
def service_rotate(
    ctx: click.Context, data_dir: Path | None, name: str, out: Path | None, show: bool
) -> None:
    """Give an account a new secret; the old one stops working at once.

    \b
    Examples:
      mims service rotate gcds
      mims service rotate keycloak --out /etc/keycloak/ldap.secret
    """
    check_name(name)
    config, backend = _backend(ctx, data_dir)
    secret_file = _secret_file(config, name, out, show)
    secret = new_secret()
    account = _kept(secret_file, secret, lambda: backend.service_accounts().rotate(name, secret))
    _hand_over(backend, account, secret, secret_file)


@service.command("revoke")
@data_dir_option
@click.argument("name")
@click.pass_context
def service_revoke(ctx: click.Context, data_dir: Path | None, name: str) -> None:
    """Delete an account: it can no longer bind. Its default secret file goes too.

    \b
    Example:
      mims service revoke gcds
    """
    check_name(name)
    config, backend = _backend(ctx, data_dir)
    backend.service_accounts().revoke(name)
    default_secret_file(config, name).unlink(missing_ok=True)
    click.echo(f"service account {name!r} revoked", err=True)
