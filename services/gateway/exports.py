"""Files of released report tables (JSON, CSV, XLSX), built from the JSON remediation
answers, for the gateway's download route and ``ilm report export --table``. The
figures are released already (services/remediation/disclosure.py): a suppressed one
stays an empty cell, never a zero; a refused table is not a file but its reason."""
from __future__ import annotations

import csv
import io
import json

from shared.errors import InvalidTransition

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
NOTE = "empty cell: suppressed (a small count, or a figure that would give one away)"


def released_table(report: dict, name: str) -> dict:
    """One table of a report_tables answer, or 409 with the reason it was refused."""
    table = report["tables"].get(name)
    if table is None:
        raise InvalidTransition(f"no table {name} (tables: {', '.join(sorted(report['tables']))})")
    if not table["released"]:
        raise InvalidTransition(f"the table {name} was not released: {table['reason']}")
    return table


def rows_of(table: dict) -> list[list]:
    """A header, a row per row of the table, then the column totals and the total.
    The remedy table carries the amount paid beside each currency's count."""
    amounts = table.get("amounts_paid")
    extra = ["amount_paid"] if amounts is not None else []
    out = [[table["rows_are"], *table["columns"], "total", *extra]]
    for row, figures in table["rows"].items():
        out.append([row, *[figures[c] for c in table["columns"]], figures["total"],
                    *([amounts[row]] if amounts is not None else [])])
    out.append(["all", *[table["column_totals"][c] for c in table["columns"]], table["total"],
                *([None] if amounts is not None else [])])
    return out


def file_of(report: dict, name: str, fmt: str) -> bytes:
    table = released_table(report, name)
    about = [["computed_at", report["computed_at"]], ["suppressed below", report["suppressed_below"]],
             ["protection width", report["protection_width"]], ["rows", table["rows_are"]], ["note", NOTE]]
    return _file(fmt, {k: report[k] for k in ("computed_at", "suppressed_below", "protection_width")}
                 | {"table": name, **table}, rows_of(table), name, about)


def scorecard_rows(compared: dict) -> list[list]:
    """The chain comparison (remediation's chain_scorecards): a business a row, its
    open cases by age flattened into columns."""
    items = compared["items"]
    plain = [k for k in (items[0] if items else {}) if k != "open_cases_by_age"]
    ages = list(items[0]["open_cases_by_age"]) if items else []
    return [plain + [f"open_{a}" for a in ages]] + [
        [item[k] for k in plain] + [item["open_cases_by_age"][a] for a in ages] for item in items]


def scorecards_file(compared: dict, fmt: str) -> bytes:
    return _file(fmt, compared, scorecard_rows(compared), "scorecards",
                 [["partner", compared["partner_ref"]], ["computed_at", compared["computed_at"]]])


def view_file(export: dict, fmt: str) -> bytes:
    """A saved view's cases (remediation's export_view: no worker key or words), a row each."""
    fields = export["fields"]
    rows = [fields] + [[", ".join(v) if isinstance(v, list) else v for v in (r[f] for f in fields)]
                       for r in export["rows"]]
    return _file(fmt, export, rows, "cases", [["view", export["view"]], ["more", export["more"]]])


def view_download(export: dict, fmt: str) -> tuple[bytes, dict]:
    """A saved view's file and its download headers (the API's and the console's)."""
    name = f"view-{''.join(c if c.isalnum() else '-' for c in export['view'])}.{fmt}"
    return view_file(export, fmt), {"Content-Type": MEDIA_TYPES[fmt],
                                     "Content-Disposition": f'attachment; filename="{name}"'}


def _file(fmt: str, whole: dict, rows: list[list], sheet_name: str, about: list[list]) -> bytes:
    if fmt == "json":
        return json.dumps(whole, ensure_ascii=False, indent=2).encode()
    if fmt == "csv":
        text = io.StringIO()
        csv.writer(text).writerows([["" if v is None else v for v in row] for row in rows])
        return text.getvalue().encode()
    from openpyxl import Workbook     # only this export needs it

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name[:31]
    for row in rows:
        sheet.append(row)
    notes = book.create_sheet("about")
    for row in about:
        notes.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def operations() -> list[tuple[str, str, dict]]:
    """The download routes' OpenAPI operations: their queries and the three media types."""
    from services.gateway.schemas import ExportQuery, ViewExportQuery
    from shared.openapi import operation as described

    report = described("export_report", "A released report table as a file (JSON, CSV or XLSX)",
                       "Who may call: anyone authenticated (view=public), a partner or staff naming one (view=partner; "
                       "view=scorecards: the scorecards of the partner's chain side by side, table ignored). "
                       "409 with the reason when the table was refused by disclosure control.",
                       query=ExportQuery(), problems=(401, 403, 409, 429, 503))
    view = described("export_view", "The cases of one of your saved views as a file (JSON, CSV or XLSX)",
                     "Who may call: staff, their own views. Up to 500 cases (``more`` in the file says there are "
                     "others); no worker key or words; each case's access log records the export.",
                     query=ViewExportQuery(), problems=(401, 403, 404, 429, 503))
    for op in (report, view):
        op["responses"]["200"] = {"description": "A file (Content-Disposition: attachment).", "content": {
            media.split(";")[0]: {"schema": {"type": "object" if fmt == "json" else "string"}}
            for fmt, media in MEDIA_TYPES.items()}}
    return [("/v1/reports/export", "get", report), ("/v1/view-exports", "get", view)]
