"""``ilm``: the command line for operators, case workers, safeguarding leads and
businesses' scripts, on the gateway's HTTP API (session.py). Every command takes
``--json``; exit codes: 0 done, 1 failed (or a tampered trail), 2 bad input, 3 not logged in or not
allowed, 4 not found, 5 refused by the case's state, 6 the API unavailable (try
again later).

    ilm login [--url URL] [--username NAME] [--password-stdin] [--otp CODE]
    ilm cases list|show · ilm alerts [ack|measure] · ilm triage|refer · ilm plan accept|return
    ilm parties add|link|list|import · ilm keys issue|list|revoke · ilm audit verify
    ilm report export --format json|csv|xlsx · ilm admin create|create-user
"""
from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from services.gateway.cli import casework, registry, views
from services.gateway.cli.admin import admin
from services.gateway.cli.output import Json, show
from services.gateway.cli.report import report
from services.gateway.cli.session import (
    NOT_ALLOWED, Refused, api_url, fail, forget_session, login as log_in, save_session,
)

app = typer.Typer(help="Inclusive Labour Monitoring: command line.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(casework.cases, name="cases")
app.add_typer(casework.alerts, name="alerts")
app.add_typer(casework.plan, name="plan")
app.add_typer(casework.audit, name="audit")
app.command("triage")(casework.triage)
app.command("refer")(casework.refer)
app.command("staff")(casework.staff)
app.add_typer(registry.parties, name="parties")
app.add_typer(registry.keys, name="keys")
app.add_typer(report, name="report")
app.add_typer(admin, name="admin")
app.add_typer(views.views, name="views")
app.command("deadlines")(views.deadlines)


@app.command()
def login(url: Annotated[Optional[str], typer.Option(help="The gateway (default: ILM_URL or the local run).")] = None,
          username: Annotated[Optional[str], typer.Option(help="Your staff account.")] = None,
          password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
          otp: Annotated[Optional[str], typer.Option(help="The current code of your authenticator app "
                                                         "(two-factor login).")] = None,
          json: Json = False):
    """Log in with your staff account; the token is kept for the next commands."""
    base = api_url(url)
    username = username or typer.prompt("Username")
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else typer.prompt("Password", hide_input=True))
    try:
        token = log_in(base, username, password, otp)
    except Refused as refused:
        # The API refuses a missing code like a wrong password (it says nothing of which
        # was wrong): asked interactively, offer the code once.
        if otp or password_stdin or refused.code != NOT_ALLOWED or not sys.stdin.isatty():
            fail(refused)
        code = typer.prompt("Two-factor code (empty if you have none)", default="", show_default=False)
        if not code:
            fail(refused)
        try:
            token = log_in(base, username, password, code)
        except Refused as again:
            fail(again)
    path = save_session(base, token["access_token"], username)
    shown = {"logged_in": username, "url": base, "expires_in": token.get("expires_in"), "session": str(path)}
    if token.get("scope"):
        shown["scope"] = token["scope"]
        shown["next"] = "two-factor login is required: enrol with POST /v1/auth/two-factor, then log in again"
    show(shown, json)


@app.command()
def logout(json: Json = False):
    """Forget the kept token."""
    show({"logged_out": forget_session()}, json)


if __name__ == "__main__":
    app()
