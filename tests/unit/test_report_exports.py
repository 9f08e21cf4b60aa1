"""Report tables as files (services/gateway/exports.py), opened back with their readers:
a suppressed figure is an empty cell, never a zero; a refused table is no file."""
import csv
import io
import json

import pytest
from openpyxl import load_workbook

from services.gateway.exports import file_of
from services.remediation.report_tables import ReportCounts, release
from shared.errors import InvalidTransition

COUNTS = ReportCounts("sum", cells={
    "work_area": {"labour_recruitment": {"open": 3, "closed": 40, "withdrawn": 25},
                  "working_conditions": {"open": 30, "closed": 22, "withdrawn": 18},
                  "employer_employee_relations": {"open": 27, "closed": 35, "withdrawn": 12},
                  "living_eating_conditions": {"open": 14, "closed": 16, "withdrawn": 11}},
    "remedy_paid": {"THB": {"workers": 30}, "USD": {"workers": 12}}}, paid={"THB": "90000.00", "USD": "4000.50"})
REPORT = release(COUNTS, threshold=10, width=5, computed_at="2026-03-01T00:00:00.000Z")


def test_csv_reads_back_with_empty_cells_for_suppressed_figures():
    rows = list(csv.reader(io.StringIO(file_of(REPORT, "work_area", "csv").decode())))
    assert rows[0] == ["work area", "open", "closed", "withdrawn", "total"]
    by_area = {r[0]: r[1:] for r in rows[1:]}
    assert by_area["labour_recruitment"][0] == ""           # the 3: suppressed, not 0
    assert sum(1 for r in rows[1:] for v in r[1:] if v == "") == REPORT["tables"]["work_area"]["suppressed"]
    assert by_area["all"][-1] == "253"


def test_xlsx_reads_back_with_openpyxl():
    book = load_workbook(io.BytesIO(file_of(REPORT, "remedy_paid", "xlsx")))
    rows = list(book["remedy_paid"].iter_rows(values_only=True))
    assert rows[0] == ("currency", "workers", "total", "amount_paid")
    assert rows[1] == ("THB", 30, 30, "90000.00") and rows[2] == ("USD", 12, 12, "4000.50")
    assert rows[-1][:3] == ("all", 42, 42)
    assert dict(book["about"].iter_rows(values_only=True))["suppressed below"] == 10


def test_json_and_a_refused_table():
    table = json.loads(file_of(REPORT, "work_area", "json"))
    assert table["table"] == "work_area" and table["rows"]["labour_recruitment"]["open"] is None
    with pytest.raises(InvalidTransition, match="month was not released: the grand total 4 is below"):
        refused = release(ReportCounts("sum", cells={"month": {"2026-02": {"open": 4}}}), 10, 5, "t")
        file_of(refused, "month", "csv")


def test_the_chain_comparison_as_csv_and_xlsx():
    from services.gateway.exports import scorecards_file
    card = {"business_ref": "SUP-1", "cases": 4, "deadlines_met_share": 0.857, "reopen_rate": None,
            "open_cases_by_age": {"up_to_7_days": 1, "over_90_days": 0}}
    compared = {"partner_ref": "BRAND-1", "computed_at": "t",
                "items": [{"business_type": "supplier", **card}, {"business_type": "agency", **card,
                                                                  "business_ref": "AGY-1"}]}
    rows = list(csv.reader(io.StringIO(scorecards_file(compared, "csv").decode())))
    assert rows[0] == ["business_type", "business_ref", "cases", "deadlines_met_share", "reopen_rate",
                       "open_up_to_7_days", "open_over_90_days"]
    assert rows[1] == ["supplier", "SUP-1", "4", "0.857", "", "1", "0"] and rows[2][1] == "AGY-1"
    book = load_workbook(io.BytesIO(scorecards_file(compared, "xlsx")))
    assert list(book["scorecards"].iter_rows(values_only=True))[2][:3] == ("agency", "AGY-1", 4)
    assert list(scorecards_file({**compared, "items": []}, "csv").decode().splitlines()) == [""]


def test_ilm_report_export_table_writes_the_released_table(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import importlib

    from services.gateway.cli import app
    cli_report = importlib.import_module("services.gateway.cli.report")
    asked = []

    class Client:
        def call(self, verb, path, body=None, params=None):
            asked.append((path, params))
            return REPORT

    monkeypatch.setattr(cli_report, "Client", Client)
    runner = CliRunner()
    out = runner.invoke(app, ["report", "export", "--table", "work_area", "--format", "csv"])
    assert out.exit_code == 0 and out.output.splitlines()[0] == "work area,open,closed,withdrawn,total"
    target = tmp_path / "paid.xlsx"
    out = runner.invoke(app, ["report", "export", "--table", "remedy_paid", "--format", "xlsx", "-o", str(target),
                              "--partner", "BRAND-1"])
    assert out.exit_code == 0 and load_workbook(target)["remedy_paid"]["A2"].value == "THB"
    assert asked == [("/v1/reports/tables", None), ("/v1/reports/partner", {"partner_ref": "BRAND-1"})]
    refused = runner.invoke(app, ["report", "export", "--table", "month"])    # no months: released, all zero
    assert refused.exit_code == 0
    monkeypatch.setattr(cli_report, "Client", type("C", (), {"call": lambda *a, **k: {
        **REPORT, "tables": {"month": {"rows_are": "month received", "released": False, "reason": "too few"}}}}))
    refused = runner.invoke(app, ["report", "export", "--table", "month"])
    assert refused.exit_code == 5 and "too few" in refused.output
