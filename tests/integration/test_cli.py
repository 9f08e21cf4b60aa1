"""The ``ilm`` command line against the running services, through the gateway's API
only: log in (the token kept 0600), list and show cases, triage and refer, the
safeguarding queue, the party registry with a CSV import, API keys, the report
exported and opened back with its readers; and exit codes a script can rely on."""
import csv
import io
import json
import os
import stat
import subprocess
import sys

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from services.gateway.cli import app
from shared.repository import database
from tests.integration.conftest import eventually
from tests.integration.helpers import PASSWORD, key_for, post_grievance, report, unique

pytestmark = pytest.mark.integration


@pytest.fixture
def ilm(stack, tmp_path, monkeypatch):
    """Runs ``ilm ...`` in this process with a session file of this test's own."""
    monkeypatch.setenv("ILM_CONFIG", str(tmp_path / "session.json"))
    monkeypatch.setenv("ILM_URL", stack.gateway_url)
    monkeypatch.delenv("ILM_TOKEN", raising=False)
    runner = CliRunner()

    def run(*args, input=None, token=None):
        env = {"ILM_TOKEN": token} if token else {}
        return runner.invoke(app, list(args), input=input, env=env)
    run.session = tmp_path / "session.json"
    return run


def logged_in(ilm, staff, role: str) -> str:
    name = unique(role.replace("_", "-")).lower()
    staff["admin"].ok("POST", "/v1/staff", {"username": name, "role": role, "password": PASSWORD})
    result = ilm("login", "--username", name, "--password-stdin", "--json", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return name


def test_a_case_worker_logs_in_and_walks_a_case_from_the_list_to_referral(ilm, stack, staff):
    name = logged_in(ilm, staff, "case_worker")
    assert stat.S_IMODE(os.stat(ilm.session).st_mode) == 0o600
    token = json.loads(ilm.session.read_text())["token"]
    assert token not in ilm("cases", "list").output            # the token is never printed

    supplier = unique("SUP")
    ref = post_grievance(stack, report(supplier)).json()["case_ref"]
    eventually(lambda: ilm("cases", "show", ref, "--json").exit_code == 0)
    listed = json.loads(ilm("cases", "list", "--status", "received", "--limit", "200", "--json").output)
    assert ref in [c["case_ref"] for c in listed["items"]]
    shown = ilm("cases", "show", ref)
    assert shown.exit_code == 0 and ref in shown.output and "timeline" in shown.output

    triaged = json.loads(ilm("triage", ref, "--severity", "high", "--note", "wages", "--json").output)
    assert triaged["status"] == "triaged" and triaged["severity"] == "high"
    referred = ilm("refer", ref, "--business", supplier, "--type", "supplier")
    assert referred.exit_code == 0 and "referred" in referred.output
    audit = json.loads(ilm("cases", "show", ref, "--json").output)["audit"]
    assert [a["action"] for a in audit[-2:]] == ["triage", "refer"] and audit[-1]["actor"]["id"] == name
    verified = ilm("audit", "verify", ref, "--json")
    assert verified.exit_code == 0 and json.loads(verified.output)["intact"] is True
    cases = database("remediation")["cases"]       # someone with database access edits the trail
    doc = cases.find_one({"_id": ref})
    doc["audit"][1]["actor"]["id"] = "someone-else"
    cases.replace_one({"_id": ref}, doc)
    tampered = ilm("audit", "verify", ref)
    assert tampered.exit_code == 1 and "TAMPERED" in tampered.output

    # Exit codes: 5 a step the case's state refuses, 4 no such case, 2 bad input,
    # 3 not allowed (a case worker acknowledging an alert) and not logged in.
    assert ilm("triage", ref).exit_code == 5
    assert ilm("cases", "show", "ILM-NOPE-0000").exit_code == 4
    assert ilm("triage", ref, "--severity", "apocalyptic").exit_code == 2
    refused = ilm("alerts", "ack", "alert-none")
    assert refused.exit_code == 3
    assert ilm("logout").exit_code == 0
    logged_out = ilm("cases", "list")
    assert logged_out.exit_code == 3 and "ilm login" in logged_out.output


def test_the_safeguarding_lead_sees_the_queue_and_acknowledges_as_themselves(ilm, stack, staff):
    name = logged_in(ilm, staff, "safeguarding_lead")
    ref = post_grievance(stack, report(unique("SUP"), retaliation=True)).json()["case_ref"]

    def alert_of_case():
        page = json.loads(ilm("alerts", "--limit", "200", "--json").output)
        return next((a for a in page["items"] if a["case_ref"] == ref), None)
    alert = eventually(alert_of_case)
    acked = json.loads(ilm("alerts", "ack", alert["alert_id"], "--note", "called the worker", "--json").output)
    assert acked["acknowledged_by"] == name
    measure = ilm("alerts", "measure", alert["alert_id"], "--measure", "legal_support", "--note", "lawyer")
    assert measure.exit_code == 0 and "legal_support" in measure.output
    assert ilm("alerts", "ack", alert["alert_id"]).exit_code == 5      # acknowledged already


def test_parties_keys_and_the_report_export(ilm, stack, staff, tmp_path):
    logged_in(ilm, staff, "case_worker")
    supplier, site, brand = unique("SUP"), unique("SITE"), unique("BRAND")
    assert ilm("parties", "add", supplier, "--kind", "supplier", "--name", "Acme Foods", "--country", "TH").exit_code == 0
    bulk = tmp_path / "parties.csv"
    bulk.write_text("ref,kind,name,country,link,to_ref\n"
                    f"{site},site,Acme plant 2,TH,site_of,{supplier}\n"
                    f"{brand},partner,Brand,GB,sources_from,{supplier}\n"
                    f"BAD REF,site,x,TH,,\n")
    imported = ilm("parties", "import", str(bulk), "--json")
    assert imported.exit_code == 1                                    # one row refused, the rest imported
    summary = json.loads(imported.output)
    assert summary["imported"] == 2 and [r["line"] for r in summary["refused"]] == [4]
    party = json.loads(ilm("parties", "list", "--kind", "site", "--limit", "200", "--json").output)
    assert site in [p["ref"] for p in party["items"]]

    issued = json.loads(ilm("keys", "issue", "--party", supplier, "--role", "supplier", "--label", "erp",
                            "--json").output)
    ref = post_grievance(stack, report(supplier)).json()["case_ref"]
    eventually(lambda: ilm("cases", "show", ref, "--json").exit_code == 0)
    ilm("triage", ref)
    ilm("refer", ref, "--business", supplier)
    # The supplier's own script: ILM_TOKEN, its own cases only, redacted.
    mine = json.loads(ilm("cases", "list", "--json", token=issued["api_key"]).output)["items"]
    assert [c["case_ref"] for c in mine] == [ref] and "worker_key" not in mine[0]
    assert ilm("keys", "revoke", issued["key_id"]).exit_code == 0
    assert ilm("cases", "list", token=issued["api_key"]).exit_code == 3

    # Enough cases for a report to be released (its total must reach the threshold).
    for _ in range(10):
        post_grievance(stack, report(unique("SUP")))
    eventually(lambda: ilm("report", "export", "--format", "json").exit_code == 0)
    rows = list(csv.reader(io.StringIO(ilm("report", "export", "--format", "csv").output)))
    assert rows[0] == ["work_area", "open", "closed", "withdrawn", "total"] and rows[-1][0] == "all"
    assert all(v == "" or v == "0" or int(v) >= 10 for row in rows[1:] for v in row[1:])
    book = tmp_path / "report.xlsx"
    assert ilm("report", "export", "--format", "xlsx", "-o", str(book)).exit_code == 0
    sheet = load_workbook(book)["cases by work area"]
    assert [c.value for c in sheet[1]] == rows[0]
    assert [str(c.value) if c.value is not None else "" for c in sheet[sheet.max_row]] == rows[-1]
    assert ilm("report", "export", "--format", "xlsx").exit_code == 2          # XLSX needs a file


def test_the_installed_command_runs_as_its_own_process(stack, staff):
    """``python -m services.gateway.cli`` is what the ``ilm`` script runs."""
    token = staff["case_worker"].session.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, "ILM_URL": stack.gateway_url, "ILM_TOKEN": token}
    done = subprocess.run([sys.executable, "-m", "services.gateway.cli", "cases", "list", "--limit", "1", "--json"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == {"items", "next"}
    gone = subprocess.run([sys.executable, "-m", "services.gateway.cli", "cases", "list"], capture_output=True,
                          text=True, timeout=60, env={**env, "ILM_URL": "http://127.0.0.1:9"})
    assert gone.returncode == 6 and "cannot reach the API" in gone.stderr


def test_a_plan_is_returned_with_reasons_then_accepted(ilm, stack, staff):
    logged_in(ilm, staff, "case_worker")
    supplier = unique("SUP")
    ref = post_grievance(stack, report(supplier)).json()["case_ref"]
    eventually(lambda: ilm("cases", "show", ref, "--json").exit_code == 0)
    ilm("triage", ref)
    ilm("refer", ref, "--business", supplier)
    business = key_for(staff, stack, supplier, "supplier")
    business.ok("POST", f"/v1/cases/{ref}/acknowledgement", {})
    plan = {"actions": [{"type": "back_pay", "description": "Unpaid overtime", "owner": "HR",
                         "due_date": "2027-01-31"}]}
    business.ok("POST", f"/v1/cases/{ref}/plan", plan)
    returned = ilm("plan", "return", ref, "--reason", "no amounts", "--reason", "no dates per worker", "--json")
    assert returned.exit_code == 0, returned.output
    assert json.loads(returned.output)["status"] == "acknowledged"
    seen = business.ok("GET", f"/v1/cases/{ref}")["plan_history"][-1]
    assert seen["reasons"] == ["no amounts", "no dates per worker"]
    assert ilm("plan", "return", ref, "--reason", "again").exit_code == 5       # nothing submitted now
    business.ok("POST", f"/v1/cases/{ref}/plan", plan)
    assert json.loads(ilm("plan", "accept", ref, "--json").output)["status"] == "remediating"


def test_a_saved_view_is_bulk_assigned_exported_and_on_the_deadlines_board(ilm, stack, staff):
    name = logged_in(ilm, staff, "case_worker")
    supplier, view = unique("SUP"), unique("view")
    refs = sorted(post_grievance(stack, report(supplier)).json()["case_ref"] for _ in range(2))
    for ref in refs:
        eventually(lambda ref=ref: ilm("cases", "show", ref, "--json").exit_code == 0)
        ilm("triage", ref)
        assert ilm("refer", ref, "--business", supplier).exit_code == 0
    saved = json.loads(ilm("views", "save", view, "--filter", f"business_ref={supplier}", "--json").output)
    assert (saved["count"], saved["changed"]) == (2, 2)
    assert ilm("views", "save", view, "--filter", "colour=red").exit_code == 2
    assigned = json.loads(ilm("views", "assign", view, "--to", name, "--json").output)
    assert sorted(assigned["case_refs"]) == refs
    mine = json.loads(ilm("cases", "list", "--assignee", name, "--json").output)["items"]
    assert sorted(c["case_ref"] for c in mine) == refs
    listed = json.loads(ilm("views", "list", "--json").output)["items"]
    assert [(v["name"], v["count"]) for v in listed] == [(view, 2)]

    shown = ilm("deadlines", "--hours", "1440", "--assignee", name, "--json")
    assert shown.exit_code == 0, shown.output
    board = json.loads(shown.output)["items"]
    assert sorted((i["case_ref"], i["deadline"]) for i in board) == [(ref, "acknowledge") for ref in refs]

    exported = ilm("views", "export", view, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert sorted(r["case_ref"] for r in rows) == refs and all(r["assignee"] == name for r in rows)
    assert "worker_key" not in rows[0]
    log = staff["admin"].ok("GET", f"/v1/cases/{refs[0]}/access-log")["items"]
    assert ("export", name) in [(e["action"], e["actor"]["id"]) for e in log]

    # A business filtering by what its view hides is refused, naming the filter.
    business = key_for(staff, stack, supplier, "supplier")
    refused = business.call("GET", "/v1/cases", params={"channel": "hotline"})
    assert refused.status_code == 403 and "channel" in refused.json()["detail"]
