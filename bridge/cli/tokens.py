"""``mims token``: bearer tokens for SCIM clients; only their hashes are stored."""

from __future__ import annotations

from pathlib import Path

import click

from bridge.cli import data_dir_option, load, open_services
from bridge.core.ports import Tokens
from bridge.core.tokens import SCOPES, InvalidTokenName, Scope, check_name, new_token, token_hash
from bridge.errors import InvalidValue


def _tokens(ctx: click.Context, data_dir: Path | None) -> Tokens:
    return open_services(load(ctx, slapd={"data_dir": data_dir})).tokens


@click.group()
def token() -> None:
    """Make, list and revoke the bearer tokens SCIM clients send.

    \b
    Examples:
      mims token create --name entra-prod --scope scim:write
      mims token list
      mims token revoke entra-prod
    """


@token.command("create")
@data_dir_option
@click.option("--name", required=True, help="A short label such as entra-prod.")
@click.option(
    "--scope",
    "scopes",
    type=click.Choice(SCOPES),
    multiple=True,
    help="What the token may do (repeatable; default scim:write, which includes reading).",
)
@click.option("--description", help="Who holds it, for the next administrator.")
@click.pass_context
def token_create(
    ctx: click.Context,
    data_dir: Path | None,
    name: str,
    scopes: tuple[Scope, ...],
    description: str | None,
) -> None:
    """Make a token and print it once; the directory keeps only its hash.

    \b
    Examples:
      mims token create --name entra-prod
      mims token create --name sis-readonly --scope scim:read --description "SIS nightly check"
    """
    try:
        check_name(name)
    except InvalidTokenName as error:
        raise InvalidValue(str(error)) from None
    secret = new_token()
    _tokens(ctx, data_dir).create(name, token_hash(secret), scopes or ("scim:write",), description)
    click.echo(secret)
    click.echo(
        f"token {name!r} made; copy it now, it cannot be shown again "
        "(send it as 'Authorization: Bearer <token>')",
        err=True,
    )


@token.command("list")
@data_dir_option
@click.pass_context
def token_list(ctx: click.Context, data_dir: Path | None) -> None:
    """List tokens by name with their scopes (never the tokens themselves).

    \b
    Example:
      mims token list
    """
    for info in _tokens(ctx, data_dir).list():
        created = info.created.isoformat() if info.created else "-"
        line = f"{info.name:<24}{','.join(info.scopes):<24}{created}"
        click.echo(f"{line}  {info.description}" if info.description else line)


@token.command("revoke")
@data_dir_option
@click.argument("name")
@click.pass_context
def token_revoke(ctx: click.Context, data_dir: Path | None, name: str) -> None:
    """Delete a token; bridge processes stop accepting it within 30 seconds.

    \b
    Example:
      mims token revoke entra-prod
    """
    _tokens(ctx, data_dir).revoke(name)
    click.echo(f"token {name!r} revoked (running bridges forget it within 30 s)", err=True)
