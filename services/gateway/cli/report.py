"""``ilm report export``: the anonymised public report as released by remediation (its
suppression and proof already applied: services/remediation/disclosure.py), written
as JSON, CSV or XLSX. Suppressed figures stay empty cells, never zeros."""
from __future__ import annotations

import csv
import io
import json as jsonlib
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from services.gateway import exports
from services.gateway.cli.session import CONFLICT, Client, Refused, fail
from shared.errors import InvalidTransition

report = typer.Typer(help="Anonymised reports.", no_args_is_help=True)
STAGES = ("open", "closed", "withdrawn", "total")


class Format(str, Enum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def table_of(public: dict) -> list[list]:
    """Rows of the export: a header, one row per work area, the stage totals."""
    out = [["work_area", *STAGES]]
    for area, figures in sorted(public["by_work_area"].items()):
        out.append([area, *[figures.get(stage) for stage in STAGES]])
    out.append(["all", *[public["by_stage"].get(stage) for stage in STAGES[:-1]], public["total_cases"]])
    return out


def write(public: dict, fmt: Format, output: Path | None) -> None:
    if fmt is Format.json:
        data = jsonlib.dumps(public, ensure_ascii=False, indent=2).encode()
    elif fmt is Format.csv:
        text = io.StringIO()
        csv.writer(text).writerows([["" if v is None else v for v in row] for row in table_of(public)])
        data = text.getvalue().encode()
    else:
        data = _xlsx(public)
    _emit(data, fmt, output)


def _xlsx(public: dict) -> bytes:
    from openpyxl import Workbook     # only this export needs it

    book = Workbook()
    sheet = book.active
    sheet.title = "cases by work area"
    for row in table_of(public):
        sheet.append(row)
    notes = book.create_sheet("about")
    for row in (["computed_at", public["computed_at"]], ["suppressed below", public["suppressed_below"]],
                ["protection width", public["protection_width"]],
                ["empty cell", "suppressed: a small count, or a figure that would give one away"]):
        notes.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Table(str, Enum):
    work_area = "work_area"
    indicator = "indicator"
    month = "month"
    origin_country = "origin_country"
    sector = "sector"
    remedy_paid = "remedy_paid"


@report.command("export")
def export(fmt: Annotated[Format, typer.Option("--format", help="json, csv or xlsx")] = Format.csv,
           output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (stdout if absent).")] = None,
           table: Annotated[Optional[Table], typer.Option("--table", help="A report table (work_area, indicator, month, "
                                                          "origin_country, sector, remedy_paid) instead of the cases by work area and stage")] = None,
           partner: Annotated[Optional[str], typer.Option("--partner", help="With --table: that partner's supply chain "
                                                          "(a partner's own key: its own; staff: name it)")] = None):
    """Export the public report, or one of its tables (--table), public or a partner's."""
    try:
        if table is None:
            write(Client().call("GET", "/v1/reports/public"), fmt, output)
        else:
            answer = (Client().call("GET", "/v1/reports/partner", params={"partner_ref": partner}) if partner
                      else Client().call("GET", "/v1/reports/tables"))
            _emit(exports.file_of(answer, table.value, fmt.value), fmt, output)
    except Refused as refused:
        fail(refused)
    except InvalidTransition as refused:      # a table refused by disclosure control
        fail(Refused(str(refused), CONFLICT))


def _emit(data: bytes, fmt: Format, output: Path | None) -> None:
    if output is None:
        if fmt is Format.xlsx:
            raise Refused("an XLSX export needs --output FILE", 2)
        typer.echo(data.decode(), nl=False)
    else:
        output.write_bytes(data)
        typer.echo(f"wrote {output} ({len(data)} bytes)", err=True)
