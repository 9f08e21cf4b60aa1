"""``ilm admin``: staff accounts made directly in the gateway's database.

    ilm admin create USERNAME [--role admin] [--password-stdin]   (alias: create-user)

``admin create`` makes a staff account directly in the gateway's database (MONGO_URI,
MONGO_DB_PREFIX): the way to make the first admin, who then creates the other
accounts and issues API keys through the API. The password is prompted for (hidden,
twice) or read from standard input; never from the command line, where shell history
and the process list would keep it.
"""
from __future__ import annotations

import sys

import typer

from services.gateway.credentials import ACCOUNT_ROLES, StaffAccount
from services.gateway.schemas import NewStaffAccount
from services.gateway.store import AccountStore
from shared.contracts.common import load
from shared.contracts.events import utc_now
from shared.errors import InvalidInput
from shared.repository import DuplicateKeyError, database
from shared.slow_hash import HASHER

admin = typer.Typer(help="Staff accounts.", no_args_is_help=True)
CLI_ACTOR = {"id": "ilm-cli", "role": "system"}


@admin.command("create-user")
@admin.command("create")
def create(username: str,
           role: str = typer.Option("admin", help=f"one of {', '.join(ACCOUNT_ROLES)}"),
           password_stdin: bool = typer.Option(False, help="read the password from standard input")):
    """Create a staff account (the first admin, typically)."""
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else typer.prompt("Password (12+ characters)", hide_input=True, confirmation_prompt=True))
    try:
        body = load(NewStaffAccount, {"username": username, "role": role, "password": password})
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    account = StaffAccount.create(body["username"], body["role"], HASHER.hash(body["password"]), CLI_ACTOR, utc_now())
    store = AccountStore(database("gateway"))
    try:
        store.insert({"_id": account.username, **account.to_dict()})
    except DuplicateKeyError:
        typer.echo(f"error: username {account.username} is already taken", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {account.role} account {account.username}")
