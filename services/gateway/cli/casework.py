"""``ilm cases``, ``ilm alerts`` and the case-work steps, on the gateway's /v1 API.
What the caller may see and do is the owning service's decision: a business's key
lists its own cases, a case worker's token cannot acknowledge an alert."""
from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Group

from services.gateway.cli.output import Json, fields, rows, run

cases = typer.Typer(help="Cases in your scope.", no_args_is_help=True)
alerts = typer.Typer(help="The safeguarding queue (open retaliation alerts, oldest first).")
plan = typer.Typer(help="A business's remediation plan.", no_args_is_help=True)
audit = typer.Typer(help="Case audit trails (hash chains).", no_args_is_help=True)

CASE_FIELDS = ["case_ref", "status", "severity", "work_area", "business_ref", "business_type", "supplier_ref",
               "site_ref", "opened_at", "deadlines"]
Limit = Annotated[int, typer.Option(help="Items per page (1-200).")]
After = Annotated[Optional[str], typer.Option(help="The cursor the previous page printed.")]


Opt = lambda text: typer.Option(help=text)  # noqa: E731
LIST_COLUMNS = ["case_ref", "status", "severity", "work_area", "business_ref", "assignee", "next_due_at", "opened_at"]


@cases.command("list")
def list_cases(status: Annotated[Optional[str], Opt("Only cases in this state.")] = None,
               severity: Annotated[Optional[str], Opt("critical, high or normal.")] = None,
               work_area: Annotated[Optional[str], Opt("A work area, e.g. labour_recruitment.")] = None,
               business: Annotated[Optional[str], Opt("Only cases referred to this business.")] = None,
               partner: Annotated[Optional[str], Opt("Only cases in this partner's supply chain (staff).")] = None,
               channel: Annotated[Optional[str], Opt("Reported through this channel (staff).")] = None,
               language: Annotated[Optional[str], Opt("In this language, e.g. my (staff).")] = None,
               assignee: Annotated[Optional[str], Opt("Assigned to this staff member (staff).")] = None,
               unassigned: Annotated[bool, Opt("Only cases nobody is assigned (staff).")] = False,
               tag: Annotated[Optional[str], Opt("With this tag (staff).")] = None,
               overdue: Annotated[bool, Opt("Only cases past a deadline not yet met.")] = False,
               due_within: Annotated[Optional[float], Opt("A deadline due within this many hours.")] = None,
               ref: Annotated[Optional[str], Opt("A case reference or its beginning.")] = None,
               limit: Limit = 50, after: After = None, json: Json = False):
    """List cases, a page at a time, filtered."""
    run("GET", "/v1/cases", json, lambda page: rows("cases", LIST_COLUMNS, page["items"], page.get("next")),
        params={"status": status, "severity": severity, "work_area": work_area, "business_ref": business,
                "partner_ref": partner, "channel": channel, "language": language, "assignee": assignee,
                "unassigned": unassigned or None, "tag": tag, "overdue": overdue or None,
                "due_within_hours": due_within, "ref": ref, "limit": limit, "after": after})


@cases.command("tag")
def tag_case(case_ref: str, add: Annotated[list[str], Opt("A tag to add (repeat for several).")] = [],  # noqa: B006
             remove: Annotated[list[str], Opt("A tag to remove (repeat for several).")] = [],  # noqa: B006
             json: Json = False):
    """Add or remove a case's tags (staff's own labels)."""
    run("POST", f"/v1/cases/{case_ref}/tags", json, lambda case: fields(
        f"case {case_ref}", case, ["case_ref", "status", "tags"]), body={"add": add, "remove": remove})


@cases.command("show")
def show_case(case_ref: str, json: Json = False):
    """One case as you may see it, with its timeline."""
    run("GET", f"/v1/cases/{case_ref}", json, lambda case: Group(
        fields(f"case {case_ref}", case, CASE_FIELDS),
        rows("timeline", ["at", "action", "from", "to", "actor"], case.get("audit", []))))


@alerts.callback(invoke_without_command=True)
def list_alerts(ctx: typer.Context, limit: Limit = 50, after: After = None, json: Json = False):
    """Open alerts, oldest first (also: ilm alerts ack|measure)."""
    if ctx.invoked_subcommand is None:
        run("GET", "/v1/safeguarding/alerts", json, lambda page: rows(
            "open alerts, oldest first", ["alert_id", "case_ref", "kind", "reported_at", "acknowledged_by",
                                          "work_area"], page["items"], page.get("next")),
            params={"limit": limit, "after": after})


@alerts.command("ack")
def acknowledge_alert(alert_id: str, note: Annotated[Optional[str], typer.Option()] = None, json: Json = False):
    """Acknowledge an alert, as yourself (safeguarding lead)."""
    run("POST", f"/v1/safeguarding/alerts/{alert_id}/acknowledgement", json, _alert, body=_given(note=note))


@alerts.command("measure")
def record_measure(alert_id: str, measure: Annotated[str, typer.Option(help="relocation, legal_support, ...")],
                   note: Annotated[str, typer.Option()], json: Json = False):
    """Record a protective measure decided for the worker (safeguarding lead)."""
    run("POST", f"/v1/safeguarding/alerts/{alert_id}/measures", json, _alert,
        body={"measure": measure, "note": note})


def triage(case_ref: str, severity: Annotated[Optional[str], typer.Option()] = None,
           work_area: Annotated[Optional[str], typer.Option()] = None,
           note: Annotated[Optional[str], typer.Option()] = None, json: Json = False):
    """Triage a case (staff)."""
    _step(case_ref, "triage", json, severity=severity, work_area=work_area, note=note)


def refer(case_ref: str, business: Annotated[str, typer.Option(help="The supplier's or agency's ref.")],
          business_type: Annotated[str, typer.Option("--type", help="supplier or agency")] = "supplier",
          json: Json = False):
    """Refer a case to the business responsible (staff)."""
    _step(case_ref, "referral", json, business_ref=business, business_type=business_type)


@plan.command("accept")
def accept_plan(case_ref: str, note: Annotated[Optional[str], typer.Option()] = None, json: Json = False):
    """Accept the plan the business submitted (staff)."""
    _step(case_ref, "plan-acceptance", json, note=note)


@plan.command("return")
def return_plan(case_ref: str,
                reason: Annotated[list[str], typer.Option(help="Why it goes back (repeat for several).")],
                json: Json = False):
    """Return the plan to the business with reasons, for a revision (staff)."""
    _step(case_ref, "plan-return", json, reasons=reason)


@audit.command("verify")
def verify_audit(case_ref: str, json: Json = False):
    """Verify a case's hash-chained audit trail (staff): exit 0 intact, 1 tampered,
    naming the first entry edited, removed or inserted."""
    answer = run("GET", f"/v1/cases/{case_ref}/audit-verification", json, lambda v: fields(
        f"audit trail of {case_ref}: {'intact' if v['intact'] else 'TAMPERED'}", v,
        ["entries", "chained_from", "head", "first_bad"]))
    if not answer["intact"]:
        raise typer.Exit(1)


def _step(case_ref: str, path: str, as_json: bool, **body):
    run("POST", f"/v1/cases/{case_ref}/{path}", as_json,
        lambda case: fields(f"case {case_ref}", case, ["case_ref", "status", "severity", "work_area",
                                                       "business_ref"]), body=_given(**body))


def _alert(alert: dict):
    return fields(f"alert {alert['alert_id']}", alert, ["alert_id", "case_ref", "kind", "status", "acknowledged_by",
                                                        "acknowledged_at", "measures"])


def _given(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def staff(language: Annotated[Optional[str], Opt("Only those who work in this language, e.g. my.")] = None,
          role: Annotated[Optional[str], Opt("case_worker or safeguarding_lead.")] = None, json: Json = False):
    """Active case workers and leads, to choose an assignee (e.g. who speaks the worker's language)."""
    run("GET", "/v1/staff", json, lambda answer: rows("staff", ["username", "role", "languages"], answer["items"]),
        params={"language": language, "role": role})
