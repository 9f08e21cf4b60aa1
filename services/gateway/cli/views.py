"""``ilm deadlines`` and ``ilm views``: the deadlines board and each staff member's
saved views (filters kept by remediation), with their bulk actions and export."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from services.gateway import exports
from services.gateway.cli.casework import LIST_COLUMNS, Limit, After, Opt
from services.gateway.cli.output import Json, fields, rows, run
from services.gateway.cli.report import Format, _emit
from services.gateway.cli.session import Client, Refused, fail

views = typer.Typer(help="Your saved views of the case list.", no_args_is_help=True)
FILTERS = ("status", "severity", "work_area", "business_ref", "partner_ref", "channel", "language", "assignee",
           "unassigned", "tag", "overdue", "due_within_hours", "ref")


def deadlines(hours: Annotated[float, Opt("Due within this many hours (overdue ones always show).")] = 24,
              assignee: Annotated[Optional[str], Opt("Only this staff member's cases (yours: your username).")] = None,
              limit: Annotated[int, Opt("Cases at most (1-500).")] = 100, json: Json = False):
    """The deadlines board: deadlines not yet met, overdue or due soon, soonest first (staff)."""
    run("GET", "/v1/deadlines", json, lambda board: rows(
        f"deadlines due by {board['until']}", ["due", "case_ref", "deadline", "overdue", "level", "severity",
                                                "assignee", "business_ref"], board["items"]),
        params={"hours": hours, "assignee": assignee, "limit": limit})


@views.command("list")
def list_views(json: Json = False):
    """Your views, each with its count and what is new or changed since you last opened it."""
    run("GET", "/v1/views", json, lambda answer: rows("saved views", ["name", "count", "changed", "looked_at",
                                                                      "filters"], answer["items"]))


@views.command("save")
def save_view(name: str, filter_: Annotated[list[str], typer.Option(
        "--filter", help=f"field=value, repeat for several ({', '.join(FILTERS)})")] = [],  # noqa: B006
        json: Json = False):
    """Save (or replace) a view: ilm views save "Overdue recruitment" --filter overdue=true --filter work_area=..."""
    chosen = {}
    for item in filter_:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTERS:
            fail(Refused(f"--filter {item!r}: write field=value, field one of {', '.join(FILTERS)}", 2))
        chosen[key] = value
    run("POST", "/v1/views", json, _view, body={"name": name, "filters": chosen})


@views.command("show")
def show_view(name: str, changed_only: Annotated[bool, Opt("Only what is new or changed since you last looked.")] = False,
              limit: Limit = 50, after: After = None, json: Json = False):
    """The view's cases (opening it marks it looked at)."""
    run("GET", f"/v1/views/{name}/cases", json, lambda page: rows(
        f"view {name}", LIST_COLUMNS, page["items"], page.get("next")),
        params={"changed_only": changed_only or None, "limit": limit, "after": after})


@views.command("delete")
def delete_view(name: str, json: Json = False):
    """Delete one of your views."""
    run("DELETE", f"/v1/views/{name}", json, lambda answer: fields(f"view {name}", answer, ["name", "deleted"]))


@views.command("assign")
def assign_view(name: str, to: Annotated[Optional[str], Opt("The staff member (omit: unassign).")] = None,
                json: Json = False):
    """Assign every case of the view (up to 500 a call), each on its trail."""
    run("POST", f"/v1/views/{name}/assignment", json, _bulk("assigned"), body={"assignee": to})


@views.command("tag")
def tag_view(name: str, add: Annotated[list[str], Opt("A tag to add.")] = [],  # noqa: B006
             remove: Annotated[list[str], Opt("A tag to remove.")] = [],  # noqa: B006
             json: Json = False):
    """Add or remove tags on every case of the view (up to 500 a call)."""
    run("POST", f"/v1/views/{name}/tags", json, _bulk("tagged"), body={"add": add, "remove": remove})


@views.command("export")
def export_view(name: str, fmt: Annotated[Format, typer.Option("--format", help="json, csv or xlsx")] = Format.csv,
                output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File (stdout if absent).")] = None):
    """The view's cases as a file (no worker key or words; on each case's access log)."""
    try:
        answer = Client().call("GET", "/v1/view-exports", params={"name": name, "format": "json"})
        _emit(exports.view_file(answer, fmt.value), fmt, output)
    except Refused as refused:
        fail(refused)


def _view(view: dict):
    return fields(f"view {view['name']}", view, ["name", "filters", "count", "changed", "saved_at", "looked_at"])


def _bulk(done: str):
    return lambda answer: fields(f"view {answer['view']}", answer, ["matched", done, "more", "case_refs"])
