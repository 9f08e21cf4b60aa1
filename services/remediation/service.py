"""Remediation: opens a case per grievance and walks it through the state machine
(services/remediation/domain.py). Entrypoints only: each validates its payload,
hands the decision to the domain through ``shared.aggregates`` and returns a view."""

from nameko.timer import timer

from services.remediation import reports
from services.remediation.reports import BusinessRecord
from services.remediation.domain import STAFF, Case
from services.remediation.store import CaseStore
from shared import metrics
from shared.aggregates import change, change_or_create, create
from shared.config import settings
from shared.contracts import rpc as contract
from shared.contracts.events import (
    CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, VALIDATION_COMPLETED, VALIDATION_ROUND_OPENED, iso, utc_now,
)
from shared.errors import Forbidden, NotFound
from shared.logging import get_logger
from shared.rpc import command
from shared.messaging import EventSourcingService, on_event
from shared.store import Store

log = get_logger(__name__)


class RemediationService(EventSourcingService):
    name = "remediation"

    store = Store(CaseStore)

    # --- events ---------------------------------------------------------------
    @on_event(GRIEVANCE_RECEIVED)
    def on_grievance_received(self, event):
        case = Case.open(event["case_ref"], event["data"], utc_now())
        opened = create(self.store, self.relay, self.ctx.correlation_id, case.case_ref, case)
        log.info("case_opened" if opened else "case_already_open")

    @on_event(VALIDATION_ROUND_OPENED)
    def on_validation_round_opened(self, event):
        self._apply(event, lambda case: case.start_validation(event["data"]["round_no"], utc_now()))

    @on_event(VALIDATION_COMPLETED)
    def on_validation_completed(self, event):
        data = event["data"]
        self._apply(event, lambda case: case.apply_validation_outcome(
            data["round_no"], data["outcome"], utc_now(), settings().deadlines))

    # --- commands (RPC) -------------------------------------------------------
    @command(contract.GetCase)
    def get_case(self, p):
        doc = self.store.load(p["case_ref"])
        if doc is None:
            raise NotFound(f"case {p['case_ref']} not found")
        return Case.from_dict(doc).view_for(p["actor"])

    @command(contract.Triage)
    def triage(self, p):
        return self._command(p, lambda c, now: c.triage(p["actor"], now, p["severity"], p["note"]))

    @command(contract.Refer)
    def refer(self, p):
        return self._command(p, lambda c, now: c.refer(
            p["actor"], now, p["business_ref"], p["business_type"], settings().deadlines))

    @command(contract.Acknowledge)
    def acknowledge(self, p):
        return self._command(p, lambda c, now: c.acknowledge(p["actor"], now, settings().deadlines, p["note"]))

    @command(contract.SubmitPlan)
    def submit_plan(self, p):
        actions = [_plain(a) for a in p["actions"]]
        return self._command(p, lambda c, now: c.submit_plan(p["actor"], now, actions))

    @command(contract.AcceptPlan)
    def accept_plan(self, p):
        return self._command(p, lambda c, now: c.accept_plan(p["actor"], now, settings().deadlines, p["note"]))

    @command(contract.ReportRemediation)
    def report_remediation(self, p):
        return self._command(p, lambda c, now: c.report_remediation(
            p["actor"], now, p["summary"], p["evidence"]))

    @command(contract.Withdraw)
    def withdraw(self, p):
        return self._command(p, lambda c, now: c.withdraw(p["actor"], now, p["reason"]))

    @command(contract.RecordOtherChannel)
    def record_other_channel(self, p):
        return self._command(p, lambda c, now: c.record_other_channel(p["actor"], now, p["channel"], p["note"]))

    # --- reading: engaged businesses, public reporting ----------------------------
    @on_event(CASE_STATUS_CHANGED)
    def project_business_record(self, event):
        """Feed the scorecard counters of the business the case is referred to."""
        ref = event["data"]["business_ref"]
        if ref is None:
            return
        change_or_create(self.store.records, self.relay, self.ctx.correlation_id, ref, BusinessRecord,
                         lambda r: r.apply(event["data"]), lambda: BusinessRecord(ref),
                         applied_event=event["event_id"])

    @command(contract.SupplierScorecard)
    def supplier_scorecard(self, p):
        reports.check_scorecard_access(p["actor"], p["business_ref"])
        doc = self.store.records.load(p["business_ref"])
        return (BusinessRecord.from_dict(doc) if doc else BusinessRecord(p["business_ref"])).scorecard()

    @command(contract.PublicReport)
    def public_report(self, p):
        """Anonymised, small counts suppressed: anyone may read it. Served from the
        last snapshot (recomputed every PUBLIC_REPORT_INTERVAL), never a full scan."""
        return self.store.latest_report() or self._refresh_report()

    @command(contract.PublicReport)
    def refresh_public_report(self, p):
        if p["actor"]["role"] not in STAFF:
            raise Forbidden("only staff may force a public report recomputation")
        return self._refresh_report()

    @timer(interval=settings().public_report_interval)
    def refresh_public_report_periodically(self):
        self._refresh_report()

    @timer(interval=settings().metrics_refresh_interval)
    def refresh_case_gauges(self):
        for status, count in self.store.count_open_by_status().items():
            metrics.OPEN_CASES.labels(status).set(count)
        for deadline, count in self.store.count_overdue(iso(utc_now())).items():
            metrics.OVERDUE_DEADLINES.labels(deadline).set(count)

    # --- plumbing ---------------------------------------------------------------
    def _refresh_report(self):
        report = reports.public_report(self.store.counts_by_area(), iso(utc_now()))
        self.store.save_report(report)
        return report

    def _command(self, p, decide):
        case = change(self.store, self.relay, self.ctx.correlation_id, p["case_ref"], Case,
                      lambda c: decide(c, utc_now()))
        log.info("case_command", status=case.status)
        return case.view_for(p["actor"])

    def _apply(self, event, decide):
        case = change(self.store, self.relay, self.ctx.correlation_id, event["case_ref"], Case,
                      decide, applied_event=event["event_id"])
        log.info("case_event_applied" if case else "case_event_duplicate",
                 status=case.status if case else None)


def _plain(action: dict) -> dict:
    """Dates and decimals as strings, so the plan stores and travels as JSON."""
    return {k: (str(v) if v is not None and not isinstance(v, (int, str)) else v)
            for k, v in action.items()}


SERVICES = [RemediationService]
