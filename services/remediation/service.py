"""Remediation: opens a case per grievance and walks it through the state machine
(domain.py). Entrypoints only; each use case is a function in handlers.py."""
from services.remediation import (
    access_log, alerts, assignment, audit_check, case_list, engagement, escalation, handlers, notes, registry, remedy,
    report_views, saved_views, silence,
)
from services.remediation.domain import Case
from services.remediation.ledger import LedgerTotals, Line
from services.remediation.parties import Party
from services.remediation.report_tables import ReportCounts, ReportedCase
from services.remediation.reports import BusinessRecord
from services.remediation.safeguarding import Alert
from services.remediation.saved_views import SavedView
from services.remediation.silence import SiteActivity
from services.remediation.store import (
    AccessLogStore, AlertStore, BusinessRecordStore, CaseStore, LedgerStore, LedgerTotalsStore, PartyStore,
    ReportCountsStore, ReportedCaseStore, SavedViewStore, SiteActivityStore,
)
from shared import metrics
from shared.contracts import rpc as contract
from shared.contracts.common import (
    ACTOR_ROLES, ADMIN_ROLES, BUSINESS_ROLES, PARTNER_ROLES, SAFEGUARDING_ROLES, STAFF_ROLES, WORKER_ROLES,
)
from shared.contracts.events import (
    CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, IDENTITY_REVEALED, LEDGER_ENTRY_RECORDED,
    PARTY_LINKS_CHANGED, REPORT_COUNTS_CHANGED, RETALIATION_REPORTED, VALIDATION_COMPLETED, VALIDATION_ROUND_OPENED,
    VISIT_ANSWER_RECORDED, VOICE_SUPPRESSION_REPORTED, VOICE_SUPPRESSION_SUSPECTED, WORKER_MESSAGE_RECEIVED, iso,
    utc_now,
)
from shared.messaging import on_event
from shared.rpc import command, query
from shared.service import ServiceBase, every
from shared.unit_of_work import Aggregates


class RemediationService(ServiceBase):
    name = "remediation"

    cases = Aggregates(CaseStore, Case)
    records = Aggregates(BusinessRecordStore, BusinessRecord)
    parties = Aggregates(PartyStore, Party)
    alerts = Aggregates(AlertStore, Alert)
    ledger = Aggregates(LedgerStore, Line)
    remedy_totals = Aggregates(LedgerTotalsStore, LedgerTotals)   # not "ledger_totals": the RPC method
    access_entries = Aggregates(AccessLogStore, access_log.AccessEntry)
    reported = Aggregates(ReportedCaseStore, ReportedCase)        # report tables (report_views.py)
    report_counts = Aggregates(ReportCountsStore, ReportCounts)
    sites = Aggregates(SiteActivityStore, SiteActivity)            # silent sites (silence.py)
    views = Aggregates(SavedViewStore, SavedView)                  # staff's saved views (saved_views.py)

    # --- events -----------------------------------------------------------------
    @on_event(GRIEVANCE_RECEIVED)
    def on_grievance_received(self, event):
        handlers.open_case(self.cases, event, utc_now())
        alerts.link_waiting_alerts(self.alerts, self.cases, event["case_ref"], utc_now(), self.config.deadlines)

    @on_event(RETALIATION_REPORTED)
    def on_retaliation_reported(self, event):
        alerts.record_alert(self.alerts, self.cases, event, utc_now(), self.config.deadlines,
                            self.config.safeguarding_ack_minutes)

    @on_event(VOICE_SUPPRESSION_REPORTED)
    def on_voice_suppression_reported(self, event):
        alerts.record_alert(self.alerts, self.cases, event, utc_now(), self.config.deadlines,
                            self.config.safeguarding_ack_minutes)

    @on_event(VALIDATION_ROUND_OPENED)
    def on_validation_round_opened(self, event):
        handlers.start_validation(self.cases, event, utc_now())

    @on_event(VALIDATION_COMPLETED)
    def on_validation_completed(self, event):
        handlers.apply_validation_outcome(self.cases, event, utc_now(), self.config.deadlines)

    @on_event(IDENTITY_REVEALED)
    def on_identity_revealed(self, event):
        handlers.record_identity_reveal(self.cases, event)

    @on_event(WORKER_MESSAGE_RECEIVED)
    def on_worker_message(self, event):
        handlers.record_worker_message(self.cases, event)

    @on_event(VISIT_ANSWER_RECORDED)
    def on_visit_answer_recorded(self, event):
        handlers.record_visit_answer(self.cases, event)

    @on_event(IDENTITY_REVEALED)
    def log_identity_reveal(self, event):
        access_log.record_reveal(self.access_entries, event)

    @on_event(CASE_STATUS_CHANGED)
    def project_business_record(self, event):
        handlers.project_business_record(self.records, event)

    @on_event(PARTY_LINKS_CHANGED)
    def derive_partner_chains(self, event):
        registry.derive_chains(self.parties, event, utc_now())

    # --- case work (RPC): who may call is declared here, scope is the domain's -------
    @query(contract.GetCase, allow=STAFF_ROLES + BUSINESS_ROLES + PARTNER_ROLES + WORKER_ROLES)
    def get_case(self, p, actor):
        view = handlers.get_case(self.cases, p, actor, registry.chain_of(self.parties, actor))
        if actor["role"] not in WORKER_ROLES:       # a worker reading their own case is not logged
            access_log.record(self.access_entries, p["case_ref"], actor, "view", utc_now())
        return view

    @query(contract.ListCases, allow=STAFF_ROLES + BUSINESS_ROLES + PARTNER_ROLES)
    def list_cases(self, p, actor):
        return case_list.list_cases(self.cases, self.parties, p, actor, registry.chain_of(self.parties, actor),
                                    utc_now())

    @command(contract.Triage, allow=STAFF_ROLES)
    def triage(self, p, actor):
        return handlers.triage(self.cases, p, actor, utc_now())

    @command(contract.Refer, allow=STAFF_ROLES)
    def refer(self, p, actor):
        return handlers.refer(self.cases, p, actor, utc_now(), self.config.deadlines)

    @command(contract.Acknowledge, allow=BUSINESS_ROLES)
    def acknowledge(self, p, actor):
        return handlers.acknowledge(self.cases, p, actor, utc_now(), self.config.deadlines)

    @command(contract.SubmitPlan, allow=BUSINESS_ROLES)
    def submit_plan(self, p, actor):
        return handlers.submit_plan(self.cases, p, actor, utc_now())

    @command(contract.AcceptPlan, allow=STAFF_ROLES)
    def accept_plan(self, p, actor):
        return handlers.accept_plan(self.cases, p, actor, utc_now(), self.config.deadlines)

    @command(contract.ReportRemediation, allow=BUSINESS_ROLES)
    def report_remediation(self, p, actor):
        return handlers.report_remediation(self.cases, p, actor, utc_now())

    @command(contract.Withdraw, allow=WORKER_ROLES)
    def withdraw(self, p, actor):
        return handlers.withdraw(self.cases, p, actor, utc_now())

    @command(contract.RecordOtherChannel, allow=STAFF_ROLES)
    def record_other_channel(self, p, actor):
        return handlers.record_other_channel(self.cases, p, actor, utc_now())

    @query(contract.GetCase, allow=STAFF_ROLES)
    def verify_audit_trail(self, p, actor):
        return audit_check.verification(self.cases.repo.load(p["case_ref"]), p["case_ref"])

    # --- safeguarding: the lead works the queue; case workers may read it ----------------
    @query(contract.ListAlerts, allow=STAFF_ROLES)
    def list_alerts(self, p, actor):
        return alerts.list_alerts(self.alerts, p)

    @command(contract.AcknowledgeAlert, allow=SAFEGUARDING_ROLES)
    def acknowledge_alert(self, p, actor):
        return alerts.acknowledge_alert(self.alerts, self.cases, p, actor, utc_now())

    @command(contract.RecordMeasure, allow=SAFEGUARDING_ROLES)
    def record_protective_measure(self, p, actor):
        return alerts.record_measure(self.alerts, self.cases, p, actor, utc_now())

    @command(contract.ResolveAlert, allow=SAFEGUARDING_ROLES)
    def resolve_alert(self, p, actor):
        return alerts.resolve_alert(self.alerts, self.cases, p, actor, utc_now())

    @every("safeguarding_sweep_seconds")
    def tell_backup_of_unacknowledged_alerts(self):
        alerts.notify_unacknowledged(self.alerts, utc_now())

    # --- engaged businesses, public reporting ------------------------------------------
    @query(contract.SupplierScorecard, allow=STAFF_ROLES + BUSINESS_ROLES + PARTNER_ROLES)
    def supplier_scorecard(self, p, actor):
        return engagement.supplier_scorecard(self.records, self.report_counts, p, actor, utc_now(),
                                             registry.chain_of(self.parties, actor))

    # --- the party registry: kept by staff; a business or partner reads its own record --
    @command(contract.RegisterParty, allow=STAFF_ROLES + ADMIN_ROLES)
    def register_party(self, p, actor):
        return registry.register_party(self.parties, p, actor, utc_now())

    @command(contract.Link, allow=STAFF_ROLES + ADMIN_ROLES)
    def link_parties(self, p, actor):
        return registry.link(self.parties, p, actor, utc_now())

    @command(contract.Link, allow=STAFF_ROLES + ADMIN_ROLES)
    def unlink_parties(self, p, actor):
        return registry.unlink(self.parties, p, actor, utc_now())

    @query(contract.GetParty, allow=STAFF_ROLES + ADMIN_ROLES + BUSINESS_ROLES + PARTNER_ROLES)
    def get_party(self, p, actor):
        return registry.get_party(self.parties, p, actor)

    @query(contract.ListParties, allow=STAFF_ROLES + ADMIN_ROLES)
    def list_parties(self, p, actor):
        return registry.list_parties(self.parties, p, actor)

    @query(contract.NoArguments, allow=ACTOR_ROLES)
    def public_report(self, p, actor):
        """The report tables' work area table in the public report's shape (report_views.py)."""
        return report_views.public_report(self.report_counts, utc_now(), self.config.report_disclosure)

    @command(contract.NoArguments, allow=STAFF_ROLES)
    def refresh_public_report(self, p, actor):
        return report_views.refresh_public_report(self.report_counts, utc_now(), self.config.report_disclosure)

    @every("metrics_refresh_interval")
    def refresh_case_gauges(self):
        for status, count in self.cases.repo.count_open_by_status().items():
            metrics.OPEN_CASES.labels(status).set(count)
        for deadline, count in self.cases.repo.count_overdue(iso(utc_now())).items():
            metrics.OVERDUE_DEADLINES.labels(deadline).set(count)
        for level, count in self.cases.repo.count_escalated().items():
            metrics.ESCALATED_CASES.labels(str(level)).set(count)

    # --- deadlines that escalate (escalation.py) ------------------------------------------
    @every("escalation_sweep_interval")
    def escalate_overdue_deadlines(self):
        escalation.escalate_due(self.cases, utc_now(), self.config.escalation_level_hours)

    @on_event(CASE_DEADLINE_ESCALATED)
    def project_escalation(self, event):
        handlers.project_business_record(self.records, event, BusinessRecord.apply_escalation)

    @query(contract.OverdueItems, allow=STAFF_ROLES + BUSINESS_ROLES + PARTNER_ROLES)
    def overdue_items(self, p, actor):
        return escalation.overdue_items(self.cases, p, actor, utc_now(), registry.chain_of(self.parties, actor))

    # --- remedy: plans returned, action progress, the ledger (remedy.py) -----------------
    @command(contract.ReturnPlan, allow=STAFF_ROLES)
    def return_plan(self, p, actor):
        return remedy.return_plan(self.cases, p, actor, utc_now(), self.config.deadlines)

    @command(contract.UpdateAction, allow=STAFF_ROLES + BUSINESS_ROLES)
    def update_action(self, p, actor):
        return remedy.update_action(self.cases, p, actor, utc_now())

    @command(contract.LedgerEntry, allow=STAFF_ROLES + BUSINESS_ROLES)
    def record_ledger_entry(self, p, actor):
        return remedy.record_entry(self.ledger, self.cases, p, actor, utc_now())

    @query(contract.GetLedger, allow=STAFF_ROLES + BUSINESS_ROLES)
    def get_ledger(self, p, actor):
        return remedy.get_ledger(self.ledger, self.cases, p, actor)

    @query(contract.LedgerTotals, allow=STAFF_ROLES + BUSINESS_ROLES)
    def ledger_totals(self, p, actor):
        return remedy.ledger_totals(self.remedy_totals, p, actor)

    @on_event(LEDGER_ENTRY_RECORDED)
    def audit_ledger_entry(self, event):
        remedy.audit_on_case(self.cases, event)

    @on_event(LEDGER_ENTRY_RECORDED)
    def count_ledger_entry(self, event):
        remedy.count_entry(self.remedy_totals, event)

    # --- case work as a team: assignment, edit leases, scoped notes (assignment.py, notes.py) --
    @command(contract.AssignCase, allow=STAFF_ROLES)
    def assign_case(self, p, actor):
        return assignment.assign(self.cases, p, actor, utc_now())

    @command(contract.HandOver, allow=STAFF_ROLES)
    def hand_over_cases(self, p, actor):
        return assignment.hand_over(self.cases, p, actor, utc_now())

    @command(contract.TakeLease, allow=STAFF_ROLES)
    def take_case_lease(self, p, actor):
        return assignment.take_lease(self.cases, p, actor, utc_now(), self.config.case_lease_seconds)

    @command(contract.ReleaseLease, allow=STAFF_ROLES)
    def release_case_lease(self, p, actor):
        return assignment.release_lease(self.cases, p, actor, utc_now())

    @command(contract.AddNote, allow=STAFF_ROLES)
    def add_case_note(self, p, actor):
        return notes.add_note(self.cases, p, actor, utc_now())

    @query(contract.CaseAccessLog, allow=ADMIN_ROLES)
    def case_access_log(self, p, actor):
        return access_log.of_case(self.access_entries, p)

    # --- the shift's lists: deadlines board, tags, saved views (case_list.py, saved_views.py) --
    @query(contract.DeadlineBoard, allow=STAFF_ROLES)
    def deadline_board(self, p, actor):
        return case_list.deadline_board(self.cases, p, utc_now())

    @command(contract.TagCase, allow=STAFF_ROLES)
    def tag_case(self, p, actor):
        return case_list.tag_case(self.cases, p, actor, utc_now())

    @command(contract.SaveView, allow=STAFF_ROLES)
    def save_view(self, p, actor):
        return saved_views.save_view(self.views, self.cases, self.parties, p, actor, utc_now())

    @query(contract.NoArguments, allow=STAFF_ROLES)
    def list_views(self, p, actor):
        return saved_views.list_views(self.views, self.cases, self.parties, actor, utc_now())

    @command(contract.NamedView, allow=STAFF_ROLES)
    def delete_view(self, p, actor):
        return saved_views.delete_view(self.views, p, actor)

    @query(contract.ViewCases, allow=STAFF_ROLES)
    def view_cases(self, p, actor):
        return saved_views.view_cases(self.views, self.cases, self.parties, p, actor, utc_now())

    @command(contract.BulkAssign, allow=STAFF_ROLES)
    def bulk_assign(self, p, actor):
        return saved_views.bulk_assign(self.views, self.cases, self.parties, p, actor, utc_now())

    @command(contract.BulkTag, allow=STAFF_ROLES)
    def bulk_tag(self, p, actor):
        return saved_views.bulk_tag(self.views, self.cases, self.parties, p, actor, utc_now())

    @query(contract.NamedView, allow=STAFF_ROLES)
    def export_view(self, p, actor):
        return saved_views.export_view(self.views, self.cases, self.parties, self.access_entries, p, actor,
                                       utc_now())
    # --- report tables built from events (report_tables.py, report_views.py) -------------
    @on_event(GRIEVANCE_RECEIVED)
    def report_grievance(self, event):
        report_views.project_grievance(self.reported, event)

    @on_event(CASE_STATUS_CHANGED)
    def report_status(self, event):
        report_views.project_status(self.reported, event)

    @on_event(LEDGER_ENTRY_RECORDED)
    def report_ledger_entry(self, event):
        report_views.project_ledger(self.reported, event)

    @on_event(REPORT_COUNTS_CHANGED)
    def count_report(self, event):
        report_views.count(self.report_counts, event)

    @query(contract.NoArguments, allow=ACTOR_ROLES)
    def report_tables(self, p, actor):
        return report_views.public_tables(self.report_counts, utc_now(), self.config.report_disclosure)

    @command(contract.NoArguments, allow=STAFF_ROLES)
    def refresh_report_tables(self, p, actor):
        return report_views.refresh_public_tables(self.report_counts, utc_now(), self.config.report_disclosure)

    @every("public_report_interval")
    def refresh_report_tables_periodically(self):
        report_views.refresh_public_tables(self.report_counts, utc_now(), self.config.report_disclosure)

    @query(contract.PartnerReport, allow=PARTNER_ROLES + STAFF_ROLES)
    def partner_report_tables(self, p, actor):
        return report_views.partner_tables(self.report_counts, self.parties, p, actor, utc_now(),
                                           self.config.report_disclosure)

    # --- business engagement across a partner's chain (engagement.py) ----------------------
    @query(contract.PartnerReport, allow=PARTNER_ROLES + STAFF_ROLES)
    def chain_scorecards(self, p, actor):
        return engagement.chain_scorecards(self.records, self.report_counts, self.parties, p, actor, utc_now())

    # --- silent sites: suppression of voice (silence.py) -----------------------------------
    @on_event(GRIEVANCE_RECEIVED)
    def count_site_grievance(self, event):
        silence.count_grievance(self.sites, event, self.config.silent_sites)

    @every("silent_site_sweep_interval")
    def find_silent_sites(self):
        silence.sweep(self.sites, utc_now(), self.config.silent_sites)

    @on_event(VOICE_SUPPRESSION_SUSPECTED)
    def record_silence(self, event):
        handlers.project_business_record(self.records, event, BusinessRecord.apply_silence)

    @on_event(VOICE_SUPPRESSION_REPORTED)
    def record_voice_report(self, event):
        silence.record_voice_report(self.records, event)

    @query(contract.SilentSites, allow=STAFF_ROLES)
    def silent_sites(self, p, actor):
        return silence.list_suspected(self.sites, p)
