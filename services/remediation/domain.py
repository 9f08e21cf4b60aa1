"""The case aggregate: state machine, deadlines, audit trail. Pure: no I/O, no clock
(callers pass ``now``), no broker. Every rule of DOMAIN.md "A case's life" lives here.

    received -> triaged -> referred -> acknowledged -> plan_submitted -> remediating
             -> remediation_reported -> validating -> closed
    validating -> remediating            (workers say the fix is not real: reopened)
    plan_submitted -> acknowledged       (staff return the plan with reasons: plan.py)
    any open state -> withdrawn          (only at the worker's request)

``closed`` is reachable only through ``apply_validation_outcome`` with a
``confirmed`` outcome for the round currently open: no command, role or override
closes a case any other way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.contracts.common import (
    BUSINESS_ROLES, DEADLINE_NAMES, OPEN_CASE_STATES, PARTNER_ROLES, STAFF_ROLES, SYSTEM_ROLES,
    WORKER_ROLES,
)
from shared.contracts.events import CASE_STATUS_CHANGED, iso
from services.remediation.assignment import ASSIGNMENT_ACTIONS, Assigned
from services.remediation.case_list import TAG_ACTIONS, Listed
from services.remediation.escalation import Escalating
from services.remediation.notes import NOTE_ACTIONS, Noted
from services.remediation.plan import Planned
from services.remediation.safeguarding import SAFEGUARDING_ACTIONS, Safeguarded
from shared import audit_chain
from shared.domain import Aggregate
from shared.errors import Forbidden, InvalidTransition

SERVICE = "remediation"
OPEN_STATES = frozenset(OPEN_CASE_STATES)
STAFF = frozenset(STAFF_ROLES)
BUSINESS = frozenset(BUSINESS_ROLES)
SYSTEM = frozenset(SYSTEM_ROLES)
PARTNER = frozenset(PARTNER_ROLES)
WORKER = frozenset(WORKER_ROLES)
# Audit actions a business or partner never sees: that the worker went to an
# inspectorate, court or NGO must not reach the business (DOMAIN.md "Never"), nor
# anything of safeguarding.
STAFF_ONLY_ACTIONS = frozenset({"record_other_channel", "identity_revealed", "worker_message",
                                "visit_answer_recorded"}) | SAFEGUARDING_ACTIONS
STAFF_ONLY_ACTIONS |= ASSIGNMENT_ACTIONS | NOTE_ACTIONS | TAG_ACTIONS   # team work: assignment.py, notes.py, case_list.py


@dataclass(frozen=True)
class Step:
    sources: frozenset
    target: str
    roles: frozenset


# The whole state machine: (step name) -> which states it leaves, where it goes, who may.
STEPS = {
    "triage": Step(frozenset({"received"}), "triaged", STAFF),
    "refer": Step(frozenset({"triaged"}), "referred", STAFF),
    "acknowledge": Step(frozenset({"referred"}), "acknowledged", BUSINESS),
    "submit_plan": Step(frozenset({"acknowledged"}), "plan_submitted", BUSINESS),
    "accept_plan": Step(frozenset({"plan_submitted"}), "remediating", STAFF),
    "report_remediation": Step(frozenset({"remediating"}), "remediation_reported", BUSINESS),
    "start_validation": Step(frozenset({"remediation_reported"}), "validating", SYSTEM),
    "close": Step(frozenset({"validating"}), "closed", SYSTEM),
    "reopen": Step(frozenset({"validating"}), "remediating", SYSTEM),
    "withdraw": Step(OPEN_STATES, "withdrawn", WORKER),
    "return_plan": Step(frozenset({"plan_submitted"}), "acknowledged", STAFF),   # plan.py
}

# Which deadline each step starts (index into the (ack, plan, remediate) day triple),
# and which deadline it meets.
STARTS_DEADLINE = {"refer": "acknowledge", "acknowledge": "plan", "accept_plan": "remediation",
                   "reopen": "remediation", "return_plan": "plan"}
MEETS_DEADLINE = {"acknowledge": "acknowledge", "submit_plan": "plan",
                  "report_remediation": "remediation"}
DEADLINE_INDEX = {name: i for i, name in enumerate(DEADLINE_NAMES)}
# Deadline policy: severity -> days for each of DEADLINE_NAMES (DEADLINES_* settings).
DeadlinePolicy = dict


def days_between(start: str, end: str) -> float:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds() / 86400


def allowed(step: str, status: str) -> bool:
    return status in STEPS[step].sources


@dataclass
class Case(Escalating, Planned, Safeguarded, Assigned, Noted, Listed, Aggregate):
    case_ref: str
    status: str
    severity: str
    work_area: str
    worker_key: str
    channel: str
    language: str
    retaliation: bool
    forced_labour_indicators: list
    supplier_ref: str | None
    site_ref: str | None
    agency_ref: str | None
    opened_at: str
    business_ref: str | None = None
    business_type: str | None = None
    version: int = 0
    deadlines: dict = field(default_factory=dict)   # name -> {started, due, done_at, met}
    deadline_history: list = field(default_factory=list)   # earlier rounds of a deadline
    plan: list = field(default_factory=list)
    plan_history: list = field(default_factory=list)   # returned plans with their reasons (plan.py)
    remediation_reports: list = field(default_factory=list)
    validation_rounds: list = field(default_factory=list)  # {round_no, outcome}
    other_channels: list = field(default_factory=list)
    alerts: list = field(default_factory=list)     # open retaliation alerts (safeguarding.py)
    audit: list = field(default_factory=list)
    # Events raised by the last commands, drained by the handler into the outbox.
    raised: list = field(default_factory=list, repr=False, compare=False)
    assignee: str | None = None                     # a staff username (assignment.py)
    lease: dict | None = None                       # who is editing now: {holder, until} (assignment.py)
    notes: list = field(default_factory=list)       # scoped notes (notes.py)
    tags: list = field(default_factory=list)        # staff's own labels (case_list.py)

    # --- creation ------------------------------------------------------------
    @classmethod
    def open(cls, case_ref: str, grievance: dict, now: datetime) -> "Case":
        case = cls(
            case_ref=case_ref, status="received", severity=grievance["severity"],
            work_area=grievance["work_area"], worker_key=grievance["worker_key"],
            channel=grievance["channel"], language=grievance["language"],
            retaliation=grievance["retaliation"],
            forced_labour_indicators=list(grievance["forced_labour_indicators"]),
            supplier_ref=grievance["supplier_ref"], site_ref=grievance["site_ref"],
            agency_ref=grievance["agency_ref"], opened_at=iso(now),
        )
        case._record(None, "received", "open", {"id": "intake", "role": "system"}, now, {})
        return case

    # --- commands ------------------------------------------------------------
    def triage(self, actor: dict, now: datetime, severity: str | None = None, note: str | None = None,
               work_area: str | None = None):
        self.check_severity(severity)
        if work_area:
            self.work_area = work_area
        self._step("triage", actor, now, {"note": note, "severity": severity or self.severity,
                                          "work_area": self.work_area})
        if severity:
            self.severity = severity

    def refer(self, actor: dict, now: datetime, business_ref: str, business_type: str, deadlines: dict):
        self._check("refer", actor)
        self.business_ref, self.business_type = business_ref, business_type
        self._step("refer", actor, now, {"business_ref": business_ref, "business_type": business_type},
                   deadlines)

    def acknowledge(self, actor: dict, now: datetime, deadlines: dict, note: str | None = None):
        self._step("acknowledge", actor, now, {"note": note}, deadlines)

    def submit_plan(self, actor: dict, now: datetime, actions: list):
        self._check("submit_plan", actor)
        self.plan = self._number_plan(actions, now)
        self._step("submit_plan", actor, now, {"actions": len(actions)})

    def accept_plan(self, actor: dict, now: datetime, deadlines: dict, note: str | None = None):
        self._step("accept_plan", actor, now, {"note": note}, deadlines)

    def report_remediation(self, actor: dict, now: datetime, summary: str, evidence: list):
        self._check("report_remediation", actor)
        self.remediation_reports.append({"at": iso(now), "summary": summary, "evidence": list(evidence)})
        # The plan's action types travel with the event: validation asks about each.
        actions = list(dict.fromkeys(a["type"] for a in self.plan))
        self._step("report_remediation", actor, now, {"evidence": len(evidence)},
                   facts={"remedy_actions": actions})

    def withdraw(self, actor: dict, now: datetime, reason: str):
        """Only the worker withdraws (DOMAIN.md): the actor is the worker of this case."""
        if actor.get("case_ref") != self.case_ref:
            raise Forbidden(f"only the worker of case {self.case_ref} may withdraw it")
        self._step("withdraw", actor, now, {"reason": reason})

    def record_other_channel(self, actor: dict, now: datetime, channel: str, note: str | None):
        """Right to remediation elsewhere: recorded, never blocks, pauses or closes."""
        if actor["role"] not in STAFF:
            raise Forbidden(f"role {actor['role']} may not record other channels")
        self.other_channels.append({"channel": channel, "at": iso(now)})
        self._audit(actor, now, "record_other_channel", self.status, self.status,
                    {"channel": channel, "note": note})

    def record_identity_reveal(self, actor: dict, basis: str, at: datetime):
        """Intake revealed the worker's identity (``identity.revealed``): on the
        staff-only trail with who and on what basis; the reason stays with intake."""
        self._audit(actor, at, "identity_revealed", self.status, self.status, {"basis": basis})

    def record_worker_message(self, kind: str, at: datetime) -> None:
        """The worker wrote again (``worker.message_received``): when and what kind, on
        the staff-only trail; the words stay sealed in intake (a reveal reads them)."""
        self._audit(_WORKER, at, "worker_message", self.status, self.status, {"kind": kind})

    def record_visit_answer(self, round_no: int, answer: str, recorded_by: dict, at: datetime) -> None:
        """A case worker recorded a worker's answer given in person (validation's
        ``validation.visit_answer_recorded``): that worker's answer, on the staff-only
        trail with who recorded it; never an override (the round decides)."""
        self._audit(recorded_by, at, "visit_answer_recorded", self.status, self.status,
                    {"round_no": round_no, "answer": answer})

    # --- validation (driven by the validation service's events) ---------------
    def start_validation(self, round_no: int, now: datetime) -> bool:
        """Returns False when the round is already known (a duplicate event). A round
        rerun after one expired unanswered finds the case validating: recorded, no step."""
        if any(r["round_no"] == round_no for r in self.validation_rounds):
            return False
        if self.status == "validating" and self.validation_rounds and self.validation_rounds[-1]["outcome"] is None:
            self._audit(_VALIDATION, now, "rerun_validation", self.status, self.status, {"round_no": round_no})
        else:
            self._step("start_validation", _VALIDATION, now, {"round_no": round_no})
        self.validation_rounds.append({"round_no": round_no, "outcome": None})
        return True

    def apply_validation_outcome(self, round_no: int, outcome: str, now: datetime, deadlines: dict,
                                 tally: dict | None = None):
        """``tally``: how many of those asked answered what; on a reopen it is the
        reasons, kept on the (staff-only) detail of the audit entry."""
        # The completion may overtake the round-opened event (separate queues).
        if self.status == "remediation_reported":
            self.start_validation(round_no, now)
        current = self.validation_rounds[-1] if self.validation_rounds else None
        if current is None or current["round_no"] != round_no or current["outcome"] is not None:
            raise InvalidTransition(f"case {self.case_ref}: round {round_no} is not the open round")
        if outcome not in ("confirmed", "not_resolved"):
            raise InvalidTransition(f"unknown validation outcome {outcome!r}")
        current["outcome"] = outcome
        step = "close" if outcome == "confirmed" else "reopen"
        detail = {"round_no": round_no, "outcome": outcome, "tally": tally if step == "reopen" else None}
        self._step(step, _VALIDATION, now, detail, deadlines, facts={
            "validation": {"round_no": round_no, "outcome": outcome}})

    # --- views ----------------------------------------------------------------
    def staff_view(self) -> dict:
        return self.to_dict()

    def business_view(self) -> dict:
        """What a supplier, agency or partner sees: no worker key, channel, language,
        retaliation flag or who among staff did what, and no trace that the worker
        also went to another channel, nor of safeguarding (not even the audit entries)."""
        hidden = {"worker_key", "channel", "language", "retaliation", "audit", "other_channels", "alerts",
                  "assignee", "lease", "notes", "tags"}
        view = {k: v for k, v in self.to_dict().items() if k not in hidden}
        view["audit"] = [{"at": a["at"], "action": a["action"], "from": a["from"], "to": a["to"]}
                         for a in self.audit if a["action"] not in STAFF_ONLY_ACTIONS]
        return self.plan_for_business(view)

    def worker_view(self) -> dict:
        """What the worker sees of their own case: where it stands, nothing of others."""
        return {"case_ref": self.case_ref, "status": self.status, "opened_at": self.opened_at,
                "updated_at": self.audit[-1]["at"] if self.audit else self.opened_at,
                "validation_open": self.status == "validating"}

    def view_for(self, actor: dict, chain=frozenset()) -> dict:
        """Scope (DOMAIN.md "Who may do what"): staff see everything; a business the
        cases referred to it; a partner the cases of the businesses in its supply
        chain (``chain``, from the party registry); a worker their own case."""
        role = actor["role"]
        if role in STAFF:
            return {**self.staff_view(), "notes": self.notes_for(actor)}
        if role in BUSINESS and actor["id"] == self.business_ref:
            return {**self.business_view(), "notes": self.notes_for(actor)}
        if role in PARTNER and chain and (self.business_ref in chain or self.supplier_ref in chain):
            return {**self.business_view(), "notes": self.notes_for(actor, in_chain=True)}
        if role in WORKER and actor.get("case_ref") == self.case_ref:
            return self.worker_view()
        raise Forbidden(f"case {self.case_ref} is not in the scope of {actor['id']}")

    # --- internals ----------------------------------------------------------------
    def _check(self, step: str, actor: dict) -> None:
        spec = STEPS[step]
        if actor["role"] not in spec.roles:
            raise Forbidden(f"role {actor['role']} may not {step} (allowed: {', '.join(sorted(spec.roles))})")
        if actor["role"] in BUSINESS and actor["id"] != self.business_ref:
            raise Forbidden(f"case {self.case_ref} is not referred to {actor['id']}")
        if not allowed(step, self.status):
            raise InvalidTransition(f"case {self.case_ref}: cannot {step} from {self.status}")

    def _step(self, step: str, actor: dict, now: datetime, detail: dict, deadlines: dict | None = None,
              facts: dict | None = None):
        self._check(step, actor)
        source, target = self.status, STEPS[step].target
        met = self._meet_deadline(MEETS_DEADLINE[step], now) if step in MEETS_DEADLINE else None
        if step in STARTS_DEADLINE:
            self._start_deadline(STARTS_DEADLINE[step], now, deadlines)
        self.status = target
        self._record(source, target, step, actor, now, detail, met, facts)

    def _record(self, source, target, step, actor, now, detail, deadline_met=None, facts=None):
        """``facts``: optional fields of the event for this step (validation, remedy_actions)."""
        self.version += 1
        self._audit(actor, now, step, source, target, detail)
        self.raised.append((CASE_STATUS_CHANGED, {
            "from_status": source, "to_status": target, "case_version": self.version,
            "severity": self.severity, "work_area": self.work_area,
            "supplier_ref": self.supplier_ref, "site_ref": self.site_ref,
            "business_ref": self.business_ref, "business_type": self.business_type,
            "actor": {"id": actor["id"], "role": actor["role"]}, "changed_at": iso(now),
            "deadline_met": deadline_met, "validation": None, **(facts or {}),
        }))

    def _audit(self, actor, now, action, source, target, detail):
        self.audit.append(audit_chain.link(self.audit, {
            "at": iso(now), "actor": {"id": actor["id"], "role": actor["role"]}, "service": SERVICE,
            "action": action, "from": source, "to": target,
            "detail": {k: v for k, v in detail.items() if v is not None}}))

    def _start_deadline(self, name: str, now: datetime, deadlines: dict | None):
        days = deadlines[self.severity][DEADLINE_INDEX[name]]
        if name in self.deadlines:      # a reopened case: keep the earlier round's record
            self.deadline_history.append({"name": name, **self.deadlines[name]})
        self.deadlines[name] = {"started": iso(now), "due": iso(now + timedelta(days=days)),
                                "done_at": None, "met": None}

    def _meet_deadline(self, name: str, now: datetime) -> dict | None:
        """Mark the deadline done; returns the facts the scorecards count."""
        entry = self.deadlines.get(name)
        if not entry or entry["done_at"] is not None:
            return None
        entry["done_at"] = iso(now)
        entry["met"] = iso(now) <= entry["due"]
        # ``escalated``: the scorecard counted it missed when it passed (level 1).
        return {"name": name, "days": round(days_between(entry["started"], entry["done_at"]), 4),
                "met": entry["met"], "escalated": entry.get("level", 0) > 0}


_VALIDATION = {"id": "validation", "role": "system"}
_WORKER = {"id": "worker", "role": "worker"}       # the case's own worker, unnamed on the trail
