"""How ``ilm`` shows an answer: a rich table for people, the API's JSON untouched with
``--json`` for scripts (every command takes it)."""
from __future__ import annotations

import json
from typing import Annotated, Callable

import typer
from rich.console import Console
from rich.table import Table

from services.gateway.cli.session import Client, Refused, fail

Json = Annotated[bool, typer.Option("--json", help="Print the API's answer as JSON (for scripts).")]
console = Console(soft_wrap=True)


def show(answer, as_json: bool, table: Callable | None = None) -> None:
    if as_json or table is None:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=None if as_json else 2))
    else:
        console.print(table(answer))


def run(verb: str, path: str, as_json: bool, table: Callable | None = None, body: dict | None = None,
        params: dict | None = None):
    """One API call, shown; a refusal exits with its code."""
    try:
        answer = Client().call(verb, path, body=body, params=params)
    except Refused as refused:
        fail(refused)
    show(answer, as_json, table)
    return answer


def rows(title: str, columns: list[str], items: list[dict], next_cursor: str | None = None) -> Table:
    table = Table(title=title, caption=f"more: --after {next_cursor}" if next_cursor else None)
    for column in columns:
        table.add_column(column)
    for item in items:
        table.add_row(*[_cell(item.get(column)) for column in columns])
    return table


def fields(title: str, item: dict, names: list[str]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name in names:
        if name in item:
            table.add_row(name, _cell(item[name]))
    return table


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
