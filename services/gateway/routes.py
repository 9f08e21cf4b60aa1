"""The gateway's API: each route names the service that owns the data and the RPC
method that serves it. The gateway authenticates the caller and forwards the call
as that principal (a signed actor token); who may do what, and what they may see, is
decided by the owning service (shared/rpc.py and its domain), never here.

The same table drives dispatch and the OpenAPI document, so they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass

import re

from werkzeug.exceptions import MethodNotAllowed, NotFound as NoRoute
from werkzeug.routing import Map, Rule

from shared.contracts import rpc as contract
from shared.errors import NotFound
from shared.openapi import operation


@dataclass(frozen=True)
class Forward:
    verb: str
    path: str                 # werkzeug rule; its variables are payload fields
    service: str
    method: str
    contract: type            # the RPC payload schema (path variables come from the URL)
    summary: str
    who: str                  # for the docs: who may call (the owner enforces it)
    status: int = 200


CASE = "/v1/cases/<case_ref>"
PARTY = "/v1/parties/<ref>"
ALERTS = "/v1/safeguarding/alerts"
HOOK = "/v1/webhooks/<subscription_id>"
VIEWS = "/v1/views"
VIEW = VIEWS + "/<name>"
FORWARDS = (
    Forward("GET", "/v1/cases", "remediation", "list_cases", contract.ListCases,
            "Cases in the caller's scope, a page at a time (limit, after), filtered by status, severity, work area, "
            "business, overdue, due within hours, changed since or reference (its beginning); staff also by "
            "partner, channel, language, assignee, unassigned or tag (a business or partner asking those gets 403: "
            "its view does not show them)", "staff, supplier, agency, partner"),
    Forward("GET", CASE, "remediation", "get_case", contract.GetCase,
            "A case, as the caller may see it (staff: all; business: referred to it, redacted; "
            "partner: its supply chain, redacted)", "staff, supplier, agency, partner"),
    Forward("POST", CASE + "/triage", "remediation", "triage", contract.Triage, "Triage a case", "staff"),
    Forward("POST", CASE + "/referral", "remediation", "refer", contract.Refer,
            "Refer a case to the supplier or agency responsible", "staff"),
    Forward("POST", CASE + "/acknowledgement", "remediation", "acknowledge", contract.Acknowledge,
            "Acknowledge a case referred to this business", "supplier, agency"),
    Forward("POST", CASE + "/plan", "remediation", "submit_plan", contract.SubmitPlan,
            "Submit a remediation plan", "supplier, agency"),
    Forward("POST", CASE + "/plan-acceptance", "remediation", "accept_plan", contract.AcceptPlan,
            "Accept the submitted plan", "staff"),
    Forward("POST", CASE + "/remediation-reports", "remediation", "report_remediation",
            contract.ReportRemediation, "Report remediation done (the workers then validate it)",
            "supplier, agency"),
    Forward("POST", CASE + "/other-channels", "remediation", "record_other_channel", contract.RecordOtherChannel,
            "Record that the worker also went to another channel (never shown to businesses)", "staff"),
    Forward("GET", CASE + "/validation", "validation", "get_rounds", contract.GetRounds,
            "The validation rounds of a case: affected workers (pseudonymous keys), who each round "
            "asked, the answers and the decision", "staff"),
    Forward("POST", CASE + "/affected-workers", "validation", "add_affected_worker", contract.AddAffectedWorker,
            "Add a worker the grievance also concerns (asked too if a round is open)", "staff", 201),
    Forward("POST", CASE + "/validation/answers", "validation", "record_visit_answer", contract.RecordVisitAnswer,
            "Record an affected worker's answer given in person (that worker's answer, never an override)",
            "staff", 201),
    Forward("POST", CASE + "/validation/rerun", "validation", "rerun_round", contract.RerunRound,
            "Ask the workers again after a round expired unanswered", "staff", 201),
    Forward("POST", "/v1/calls", "intake", "record_call", contract.RecordCall,
            "Record a worker's hotline call, a visit or an NGO partner's referral as a new grievance (the "
            "receipt is in the answer, this once, to read to the worker)", "staff", status=201),
    Forward("POST", CASE + "/receipt", "intake", "reissue_receipt", contract.ReissueReceipt,
            "Issue a new receipt to a worker who lost theirs (audited; the old one stops working)", "staff",
            status=201),
    Forward("POST", CASE + "/identity-reveals", "intake", "reveal_identity", contract.RevealIdentity,
            "Read the worker's identity with a reason (audited on the case): staff get the worker's words and "
            "contact details; the business the case is referred to the contact details, only with the "
            "worker's recorded consent", "staff, supplier, agency (with consent)"),
    Forward("POST", CASE + "/consent", "intake", "record_consent", contract.RecordConsent,
            "Record the worker's consent (or its withdrawal) to share their identity with the business, "
            "and how it was given", "staff"),
    Forward("GET", CASE + "/audit-verification", "remediation", "verify_audit_trail", contract.GetCase,
            "Verify the case's hash-chained audit trail: the first entry edited, removed or inserted, if any",
            "staff"),
    Forward("GET", "/v1/scorecards/<business_ref>", "remediation", "supplier_scorecard", contract.SupplierScorecard,
            "A business's remediation scorecard", "staff, the business itself, partners sourcing from it"),
    Forward("GET", "/v1/scorecards/<business_ref>/overdue", "remediation", "overdue_items", contract.OverdueItems,
            "A business's open cases past a deadline, with the escalation level each reached (limit, after)",
            "staff, the business itself, partners sourcing from it"),
    Forward("GET", "/v1/reports/public", "remediation", "public_report", contract.NoArguments,
            "The anonymised public report (small counts suppressed)", "anyone authenticated"),
    Forward("GET", "/v1/reports/tables", "remediation", "report_tables", contract.NoArguments,
            "The public report tables (by work area, ILO indicator, month received; workers reached and money "
            "repaid per currency), each released through disclosure control or refused with its reason; as a "
            "file: GET /v1/reports/export", "anyone authenticated"),
    Forward("POST", "/v1/reports/tables/refresh", "remediation", "refresh_report_tables", contract.NoArguments,
            "Release the public report tables now from the running counts", "staff"),
    Forward("GET", "/v1/reports/partner", "remediation", "partner_report_tables", contract.PartnerReport,
            "The same tables over one partner's supply chain (the registry's chain), through the same disclosure "
            "control, naming no business", "partner (its own), staff (partner_ref)"),
    Forward("GET", "/v1/scorecards", "remediation", "chain_scorecards", contract.PartnerReport,
            "The scorecards of every supplier and agency in a partner's supply chain, side by side (with open "
            "cases by age)", "partner (its own), staff (partner_ref)"),
    Forward("GET", "/v1/safeguarding/silent-sites", "remediation", "silent_sites", contract.SilentSites,
            "Sites that used to report and fell silent (voice_suppression.suspected), with their monthly counts, "
            "a page at a time", "staff"),
    Forward("POST", "/v1/parties", "remediation", "register_party", contract.RegisterParty,
            "Register a site, supplier, recruitment agency or partner", "staff, admin", status=201),
    Forward("GET", "/v1/parties", "remediation", "list_parties", contract.ListParties,
            "The party registry, a page at a time", "staff, admin"),
    Forward("GET", PARTY, "remediation", "get_party", contract.GetParty,
            "One party and its links", "staff, admin, the party itself"),
    Forward("POST", PARTY + "/links", "remediation", "link_parties", contract.Link,
            "Link two parties (site_of, recruits_for, sources_from): a partner's supply chain follows",
            "staff, admin"),
    Forward("DELETE", PARTY + "/links/<link>/<to_ref>", "remediation", "unlink_parties", contract.Link,
            "Remove a link", "staff, admin"),
    Forward("GET", ALERTS, "remediation", "list_alerts", contract.ListAlerts,
            "The safeguarding queue: open retaliation alerts, oldest first, a page at a time", "staff"),
    Forward("POST", ALERTS + "/<alert_id>/acknowledgement", "remediation", "acknowledge_alert",
            contract.AcknowledgeAlert, "Acknowledge a retaliation alert (as the named caller; on the case's trail)",
            "safeguarding lead"),
    Forward("POST", ALERTS + "/<alert_id>/measures", "remediation", "record_protective_measure",
            contract.RecordMeasure, "Record a protective measure for the worker (on the case's trail)",
            "safeguarding lead", status=201),
    Forward("POST", ALERTS + "/<alert_id>/resolution", "remediation", "resolve_alert", contract.ResolveAlert,
            "Resolve a safeguarding alert with a note (off the queue; the case's severity may be lowered once none "
            "of its alerts is open; on the case's trail)", "safeguarding lead"),
    Forward("POST", "/v1/webhooks", "notifications", "register_webhook", contract.RegisterWebhook,
            "Subscribe an endpoint to case updates and alerts of the caller's scope (a business: its own cases' "
            "updates and deadline reminders, never alerts)", "partner, supplier, agency, safeguarding lead",
            status=201),
    Forward("GET", "/v1/webhooks", "notifications", "list_webhooks", contract.ListWebhooks,
            "The caller's own endpoints (staff: every endpoint), a page at a time (limit, after): URL, event "
            "types, whether active and why not", "owner, staff"),
    Forward("GET", HOOK + "/deliveries", "notifications", "list_deliveries",
            contract.ListDeliveries, "The delivery log of one of the caller's endpoints (attempt time, status code, "
            "latency, error class), oldest first, a page at a time", "owner, staff"),
    Forward("DELETE", HOOK, "notifications", "delete_webhook", contract.WebhookRef,
            "Unsubscribe: delete an endpoint (its waiting deliveries are cancelled)", "owner, staff"),
    Forward("POST", HOOK + "/enable", "notifications", "enable_webhook", contract.WebhookRef,
            "Re-enable a disabled endpoint: what it missed is replayed in order, with the original ids",
            "owner, staff"),
    Forward("POST", HOOK + "/secret", "notifications", "rotate_webhook_secret", contract.WebhookRef,
            "Rotate the signing secret (shown once); the old one signs beside it for the overlap window",
            "owner, staff"),
    Forward("POST", HOOK + "/deliveries/<delivery_id>/replay", "notifications", "replay_delivery",
            contract.ReplayDelivery, "Send one delivery again (a new round of retries, the same webhook-id)",
            "owner, staff"),
    Forward("POST", HOOK + "/replay", "notifications", "replay_deliveries", contract.ReplayDeliveries,
            "Send again the deliveries of the events between since and until, in order", "owner, staff"),
    # Remedy (issue 11): plans returned with reasons, action progress, the remedy ledger.
    Forward("POST", CASE + "/plan-return", "remediation", "return_plan", contract.ReturnPlan,
            "Return the submitted plan to the business with reasons (it submits a revision)", "staff"),
    Forward("POST", CASE + "/actions/<action_id>", "remediation", "update_action", contract.UpdateAction,
            "Update a plan action: status (planned, in_progress, done), a progress note, evidence metadata",
            "staff, the business the case is referred to"),
    Forward("POST", CASE + "/ledger", "remediation", "record_ledger_entry", contract.LedgerEntry,
            "Record a remedy ledger entry: owed (staff), paid (the business or staff), correction (staff)",
            "staff, the business the case is referred to", status=201),
    Forward("GET", CASE + "/ledger", "remediation", "get_ledger", contract.GetLedger,
            "The case's remedy ledger lines and totals per currency (worker keys: staff only)",
            "staff, the business the case is referred to"),
    Forward("GET", "/v1/ledger/totals", "remediation", "ledger_totals", contract.LedgerTotals,
            "A business's remedy ledger totals per currency", "staff, the business itself"),
    # --- case work as a team (services/remediation/assignment.py, notes.py) ---
    Forward("POST", CASE + "/assignment", "remediation", "assign_case", contract.AssignCase,
            "Assign the case to a staff member (null: unassigned); on the case's trail", "staff"),
    Forward("POST", "/v1/case-hand-overs", "remediation", "hand_over_cases", contract.HandOver,
            "Hand every case of one staff member to another (e.g. a colleague who left); each case audited",
            "staff"),
    Forward("POST", CASE + "/lease", "remediation", "take_case_lease", contract.TakeLease,
            "Take (or renew) the edit lease: 409 naming the holder while another staff member holds it, "
            "unless force (audited)", "staff"),
    Forward("DELETE", CASE + "/lease", "remediation", "release_case_lease", contract.ReleaseLease,
            "Release your edit lease", "staff"),
    Forward("POST", CASE + "/notes", "remediation", "add_case_note", contract.AddNote,
            "Add a note: internal (staff), private (you), business (the business the case is referred to), "
            "partner (the partners of its chain)", "staff", status=201),
    Forward("POST", CASE + "/worker-messages", "intake", "message_worker", contract.MessageWorker,
            "A note to the worker, sent on the chat they reported from (written in their language: the answer "
            "names it); 409 when they have no open chat", "staff", status=202),
    Forward("POST", CASE + "/tags", "remediation", "tag_case", contract.TagCase,
            "Add or remove the case's tags (staff's own labels, never shown to businesses; on the trail)", "staff"),
    Forward("GET", "/v1/deadlines", "remediation", "deadline_board", contract.DeadlineBoard,
            "The deadlines board: each deadline not yet met that is overdue or due within hours (default 24), "
            "soonest first, with the escalation level reached; assignee= for one person's", "staff"),
    # --- saved views (services/remediation/saved_views.py): each staff member's own ---
    Forward("GET", VIEWS, "remediation", "list_views", contract.NoArguments,
            "Your saved views, each with how many cases it holds and how many are new or changed since you last "
            "opened it", "staff"),
    Forward("POST", VIEWS, "remediation", "save_view", contract.SaveView,
            "Save (or replace) a named view: the filters of GET /v1/cases", "staff"),
    Forward("DELETE", VIEW, "remediation", "delete_view", contract.NamedView, "Delete one of your views", "staff"),
    Forward("GET", VIEW + "/cases", "remediation", "view_cases", contract.ViewCases,
            "The view's cases, a page at a time (changed_only: new or changed since you last opened it); the "
            "first page marks the view opened", "staff"),
    Forward("POST", VIEW + "/assignment", "remediation", "bulk_assign", contract.BulkAssign,
            "Assign every case of the view (up to 500 a call; more: true says call again), each on its trail",
            "staff"),
    Forward("POST", VIEW + "/tags", "remediation", "bulk_tag", contract.BulkTag,
            "Add or remove tags on every case of the view (up to 500 a call), each on its trail", "staff"),
    Forward("GET", CASE + "/access-log", "remediation", "case_access_log", contract.CaseAccessLog,
            "Who viewed the case or revealed its worker's identity, when, oldest first (limit, after)", "admin"),
)

_MAP = Map([Rule(f.path, methods=[f.verb], endpoint=i) for i, f in enumerate(FORWARDS)])


def resolve(verb: str, path: str) -> tuple[Forward, dict]:
    """The route for a request and its path variables; NotFound (404) otherwise."""
    try:
        index, variables = _MAP.bind("gateway").match(path, method=verb)
    except (NoRoute, MethodNotAllowed):
        raise NotFound(f"no such endpoint: {verb} {path}") from None
    return FORWARDS[index], variables


# What any forwarded call may answer besides its result: who are you (401), may you or
# is it in your scope (403), no such thing (404), a step the case's state forbids
# (409), too many requests (429), the owner did not answer in time (503).
FORWARD_PROBLEMS = (401, 403, 404, 409, 429, 503)
RESULT = {"type": "object", "description": "The owning service's answer."}
_VARIABLE = re.compile(r"<([^<>]+)>")


def operations():
    """(OpenAPI path, verb, operation) of every forwarded route, from its contract: the
    path variables are path parameters, the rest the body (POST) or the query."""
    for f in FORWARDS:
        names = _VARIABLE.findall(f.path)
        rest = f.contract(exclude=names) if names else f.contract()
        yield (_VARIABLE.sub(r"{\1}", f.path), f.verb.lower(), operation(
            f"{f.service}.{f.method}", f.summary, f"Who may call: {f.who}.",
            path=f.contract(only=names) if names else None,
            query=rest if f.verb != "POST" and rest.fields else None,
            body=rest if f.verb == "POST" else None,
            answers={f.status: RESULT}, problems=FORWARD_PROBLEMS))
