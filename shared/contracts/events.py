"""Event contracts: the system's public language between services.

An event is an envelope (id, type, version, source, time, correlation id, case
reference) around a ``data`` body whose schema is fixed per (type, version). The
routing key carries the version (``grievance.received.v1``): a breaking change is a
new version published beside the old one, and consumers bind to the version they
understand. No event carries worker identity or free text; ``worker_key`` is a keyed
pseudonym that only intake can link back to a person.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from marshmallow import fields, validate

from shared.contracts.common import (
    BUSINESS_TYPES, CASE_STATES, CHANNELS, DEADLINE_NAMES, FORCED_LABOUR_INDICATORS, REMEDY_ACTION_TYPES,
    ROUND_OUTCOMES, SEVERITIES, VALIDATION_ANSWERS, WORK_AREAS, Actor, OneOf, Ref, StrictSchema, load,
)
from shared.contracts.common import SECTORS


@dataclass(frozen=True)
class EventContract:
    name: str
    version: int
    source: str          # the only service that publishes it
    data_schema: type
    urgent: bool = False  # travels the dedicated retaliation lane

    @property
    def routing_key(self) -> str:
        return f"{self.name}.v{self.version}"


# --- bodies ---------------------------------------------------------------------

class GrievanceReceived(StrictSchema):
    worker_key = fields.String(required=True)
    channel = OneOf(CHANNELS, required=True)
    language = fields.String(required=True)
    work_area = OneOf(WORK_AREAS, required=True)
    forced_labour_indicators = fields.List(OneOf(FORCED_LABOUR_INDICATORS), required=True)
    severity = OneOf(SEVERITIES, required=True)
    retaliation = fields.Boolean(required=True)
    supplier_ref = Ref(required=True, allow_none=True)
    site_ref = Ref(required=True, allow_none=True)
    agency_ref = Ref(required=True, allow_none=True)
    received_at = fields.String(required=True)
    # Optional (issue 15's report tables): the worker's country of origin, the destination sector.
    origin_country = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Z]{2}$"))
    sector = OneOf(SECTORS, load_default=None, allow_none=True)


class RetaliationReported(StrictSchema):
    """Alert for the safeguarding lead and partners. Deliberately minimal: no worker
    key, no text, nothing a business could use to single out the reporter."""
    alert_id = fields.String(required=True)
    raised_from = OneOf(("grievance", "follow_up", "validation_answer"), required=True)
    work_area = OneOf(WORK_AREAS, required=True, allow_none=True)
    supplier_ref = Ref(required=True, allow_none=True)
    site_ref = Ref(required=True, allow_none=True)
    reported_at = fields.String(required=True)


class VoiceSuppressionReported(RetaliationReported):
    """A worker reports being kept from speaking up (told not to use a channel, phones
    confiscated, complaints blocked): a concern for the safeguarding lead and the
    business's record (DOMAIN.md). Same minimal body as a retaliation alert. Not
    urgent: it does not take the dedicated retaliation lane, which is kept for the
    one message that must overtake any backlog within seconds; a report that also
    tells of reprisal raises ``retaliation.reported`` beside it."""


class ValidationAnswerSubmitted(StrictSchema):
    worker_key = fields.String(required=True)
    answer = OneOf(VALIDATION_ANSWERS, required=True)
    retaliation = fields.Boolean(required=True)
    submitted_at = fields.String(required=True)
    # The round the worker was asked about (a chat answer); None from a door that
    # cannot know. Lets validation tell a late answer from an early one.
    round_no = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class DeadlineMet(StrictSchema):
    name = OneOf(DEADLINE_NAMES, required=True)
    days = fields.Float(required=True, validate=validate.Range(min=0))
    met = fields.Boolean(required=True)
    # The deadline had escalated: counted missed when it passed, not again when done late.
    escalated = fields.Boolean(load_default=False)


class ValidationFact(StrictSchema):
    round_no = fields.Integer(required=True, validate=validate.Range(min=1))
    outcome = OneOf(ROUND_OUTCOMES, required=True)


class CaseFacts(StrictSchema):
    """What every case event says of the case: no worker fact, only the business's."""
    severity = OneOf(SEVERITIES, required=True)
    work_area = OneOf(WORK_AREAS, required=True)
    supplier_ref = Ref(required=True, allow_none=True)
    site_ref = Ref(required=True, allow_none=True)
    business_ref = Ref(required=True, allow_none=True)
    business_type = OneOf(BUSINESS_TYPES, required=True, allow_none=True)


class CaseStatusChanged(CaseFacts):
    from_status = OneOf(CASE_STATES, required=True, allow_none=True)
    to_status = OneOf(CASE_STATES, required=True)
    case_version = fields.Integer(required=True)
    actor = fields.Nested(Actor, required=True)
    changed_at = fields.String(required=True)
    # Facts for the businesses' scorecards, set on the steps they belong to.
    deadline_met = fields.Nested(DeadlineMet, load_default=None, allow_none=True)
    validation = fields.Nested(ValidationFact, load_default=None, allow_none=True)
    # On "remediation_reported": the plan's action types, so validation can ask about each.
    remedy_actions = fields.List(OneOf(REMEDY_ACTION_TYPES), load_default=None, allow_none=True)


class DeadlineEscalated(CaseFacts):
    """A case's deadline passed unmet (DOMAIN.md "Timeliness"): level 1 the business
    is reminded, level 2 the partners in its supply chain are told, level 3 it is
    flagged for partner consequences. Each (deadline, round, level) is published once."""
    deadline = OneOf(DEADLINE_NAMES, required=True)
    level = fields.Integer(required=True, validate=validate.Range(min=1, max=3))
    due = fields.String(required=True)
    escalated_at = fields.String(required=True)


class ValidationRoundOpened(StrictSchema):
    round_no = fields.Integer(required=True, validate=validate.Range(min=1))
    opened_at = fields.String(required=True)


class ValidationCompleted(StrictSchema):
    round_no = fields.Integer(required=True, validate=validate.Range(min=1))
    outcome = OneOf(ROUND_OUTCOMES, required=True)
    completed_at = fields.String(required=True)
    # The reasons of the decision: how many of those asked answered what (no worker keys).
    tally = fields.Dict(keys=OneOf(VALIDATION_ANSWERS), values=fields.Integer(validate=validate.Range(min=0)),
                        load_default=None, allow_none=True)
    asked = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))


class ValidationOutreachRequested(StrictSchema):
    """Ask these workers (pseudonymous keys: only intake can reach them) whether the
    remedy of the envelope's case is real, one question per remedy action, on their
    own channel and in their language. ``reminder``: they were asked already."""
    round_no = fields.Integer(required=True, validate=validate.Range(min=1))
    worker_keys = fields.List(fields.String(validate=validate.Length(1, 64)), required=True,
                              validate=validate.Length(1, 1000))
    remedy_actions = fields.List(OneOf(REMEDY_ACTION_TYPES), required=True)
    reminder = fields.Boolean(required=True)
    answer_by = fields.String(required=True)


class PartyChainChanged(StrictSchema):
    """A partner's whole supply chain as the registry now has it (full state, not a
    delta): a consumer keeps the highest ``chain_version`` and ignores older ones, so
    redelivery and reordering are harmless. Its envelope's ``case_ref`` is the
    partner's ref: the id of the aggregate that raised it."""
    partner_ref = Ref(required=True)
    chain_version = fields.Integer(required=True, validate=validate.Range(min=1))
    suppliers = fields.List(Ref(), required=True)
    sites = fields.List(Ref(), required=True)
    agencies = fields.List(Ref(), required=True)
    changed_at = fields.String(required=True)


class PartyLinksChanged(StrictSchema):
    """A site or agency was linked to or unlinked from a supplier: the chains of the
    partners sourcing from it are derived again (remediation consumes its own event,
    so the link and that follow-up are stored in one write)."""
    supplier_ref = Ref(required=True)
    changed_at = fields.String(required=True)


class LedgerEntryRecorded(StrictSchema):
    """An entry of the remedy ledger (services/remediation/ledger.py): amounts as exact
    decimal strings, the opaque line id, never the worker key. Remediation consumes it
    to put the entry on the case's trail and to count the business's totals. Its
    envelope's ``case_ref`` is the line id (the aggregate that raised it); the case is
    ``case_ref`` in the body."""
    case_ref = Ref(required=True)
    business_ref = Ref(required=True)
    line_id = Ref(required=True)
    entry_id = Ref(required=True)
    type = OneOf(("owed", "paid", "correction"), required=True)
    kind = OneOf(("recruitment_fee_repayment", "back_pay"), required=True)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    amount = fields.String(required=True)
    owed_change = fields.String(required=True)
    paid_change = fields.String(required=True)
    actor = fields.Nested(Actor, required=True)
    recorded_at = fields.String(required=True)


class ReportCountsChanged(StrictSchema):
    """A case's contribution to the report tables changed (services/remediation/
    report_tables.py): the signed difference for one scope (the business, else the
    supplier, else ``*``). Remediation consumes its own event to add it to that scope's
    counts, so the case's facts and the difference are stored in one write. Counts
    only: no case, no worker. Its envelope's ``case_ref`` is the case's."""
    scope = fields.String(required=True, validate=validate.Regexp(r"^(\*|[A-Za-z0-9][A-Za-z0-9_-]{1,63})$"))
    cells = fields.Dict(keys=fields.String(validate=validate.Length(1, 64)), values=fields.Dict(
        keys=fields.String(validate=validate.Length(1, 64)), values=fields.Dict(
            keys=fields.String(validate=validate.Length(1, 64)), values=fields.Integer())), required=True)
    paid = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[A-Z]{3}$")), values=fields.String(),
                       required=True)


class VoiceSuppressionSuspected(StrictSchema):
    """A site that used to report fell silent (services/remediation/silence.py): for
    case workers and the business's record, never public. Once per silence. Its
    envelope's ``case_ref`` is the site's ref. Nothing of any worker or case."""
    site_ref = Ref(required=True)
    supplier_ref = Ref(required=True, allow_none=True)
    business_ref = Ref(required=True, allow_none=True)     # the supplier: whose record it is on
    busiest_month = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4}-[0-9]{2}$"))
    busiest_month_count = fields.Integer(required=True, validate=validate.Range(min=1))
    last_grievance_at = fields.String(required=True)
    silent_days = fields.Float(required=True, validate=validate.Range(min=0))
    suspected_at = fields.String(required=True)


class IdentityRevealed(StrictSchema):
    """Someone read the worker's identity on this case (services/intake/reveal_rules.py):
    who, on what basis, when. Never the identity, nor the reason's text (kept on
    intake's trail)."""
    actor = fields.Nested(Actor, required=True)
    basis = OneOf(("staff_role", "worker_consent"), required=True)
    revealed_at = fields.String(required=True)


class WorkerMessageReceived(StrictSchema):
    """The worker wrote again on their case (services/intake/domain.py): a follow-up or
    a validation answer, so the case's timeline shows it. Only that and when: the
    words stay sealed in intake, and the worker's key is not needed to say it."""
    kind = OneOf(("follow_up", "validation_answer"), required=True)
    received_at = fields.String(required=True)


class VisitAnswerRecorded(StrictSchema):
    """A case worker recorded an affected worker's answer given in person
    (services/validation/domain.py): who recorded it, when, for which round, and the
    answer; remediation puts it on the case's staff-only trail. Not the worker's key."""
    round_no = fields.Integer(required=True, validate=validate.Range(min=1))
    answer = OneOf(VALIDATION_ANSWERS, required=True)
    recorded_by = fields.Nested(Actor, required=True)
    recorded_at = fields.String(required=True)


class AlertUnacknowledged(StrictSchema):
    """A safeguarding alert waited SAFEGUARDING_ACK_MINUTES with no lead acknowledging
    it (services/remediation/safeguarding.py): notifications tells the backup contact
    on a second channel. The envelope's ``case_ref`` is the alert's case. Only what the
    backup message needs: no worker fact, no supplier or site."""
    alert_id = Ref(required=True)
    kind = OneOf(("retaliation", "voice_suppression"), required=True)
    work_area = OneOf(WORK_AREAS, required=True, allow_none=True)
    reported_at = fields.String(required=True)
    minutes_waited = fields.Float(required=True, validate=validate.Range(min=0))


# --- the catalogue --------------------------------------------------------------

GRIEVANCE_RECEIVED = EventContract("grievance.received", 1, "intake", GrievanceReceived)
RETALIATION_REPORTED = EventContract("retaliation.reported", 1, "intake", RetaliationReported,
                                     urgent=True)
VOICE_SUPPRESSION_REPORTED = EventContract("voice_suppression.reported", 1, "intake",
                                           VoiceSuppressionReported)
VALIDATION_ANSWER_SUBMITTED = EventContract("validation.answer_submitted", 1, "intake",
                                            ValidationAnswerSubmitted)
CASE_STATUS_CHANGED = EventContract("case.status_changed", 1, "remediation", CaseStatusChanged)
CASE_DEADLINE_ESCALATED = EventContract("case.deadline_escalated", 1, "remediation", DeadlineEscalated)
VALIDATION_ROUND_OPENED = EventContract("validation.round_opened", 1, "validation",
                                        ValidationRoundOpened)
VALIDATION_COMPLETED = EventContract("validation.completed", 1, "validation", ValidationCompleted)
VISIT_ANSWER_RECORDED = EventContract("validation.visit_answer_recorded", 1, "validation", VisitAnswerRecorded)
VALIDATION_OUTREACH_REQUESTED = EventContract("validation.outreach_requested", 1, "validation",
                                              ValidationOutreachRequested)
PARTY_CHAIN_CHANGED = EventContract("party.chain_changed", 1, "remediation", PartyChainChanged)
PARTY_LINKS_CHANGED = EventContract("party.links_changed", 1, "remediation", PartyLinksChanged)
LEDGER_ENTRY_RECORDED = EventContract("ledger.entry_recorded", 1, "remediation", LedgerEntryRecorded)
IDENTITY_REVEALED = EventContract("identity.revealed", 1, "intake", IdentityRevealed)
WORKER_MESSAGE_RECEIVED = EventContract("worker.message_received", 1, "intake", WorkerMessageReceived)
SAFEGUARDING_ALERT_UNACKNOWLEDGED = EventContract("safeguarding.alert_unacknowledged", 1, "remediation",
                                                  AlertUnacknowledged)
REPORT_COUNTS_CHANGED = EventContract("report.counts_changed", 1, "remediation", ReportCountsChanged)
VOICE_SUPPRESSION_SUSPECTED = EventContract("voice_suppression.suspected", 1, "remediation", VoiceSuppressionSuspected)

CATALOGUE = {c.routing_key: c for c in (
    GRIEVANCE_RECEIVED, RETALIATION_REPORTED, VOICE_SUPPRESSION_REPORTED, VALIDATION_ANSWER_SUBMITTED,
    CASE_STATUS_CHANGED, CASE_DEADLINE_ESCALATED, VALIDATION_ROUND_OPENED, VALIDATION_COMPLETED, VALIDATION_OUTREACH_REQUESTED,
    PARTY_CHAIN_CHANGED,
    PARTY_LINKS_CHANGED,
    LEDGER_ENTRY_RECORDED,
    IDENTITY_REVEALED,
    WORKER_MESSAGE_RECEIVED,
    VISIT_ANSWER_RECORDED,
    SAFEGUARDING_ALERT_UNACKNOWLEDGED,
    REPORT_COUNTS_CHANGED,
    VOICE_SUPPRESSION_SUSPECTED,
)}

# Event types a partner may subscribe a webhook to (names without version).
WEBHOOK_EVENT_TYPES = (CASE_STATUS_CHANGED.name, RETALIATION_REPORTED.name, CASE_DEADLINE_ESCALATED.name,
                       VOICE_SUPPRESSION_SUSPECTED.name)


class Envelope(StrictSchema):
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    version = fields.Integer(required=True)
    source = fields.String(required=True)
    occurred_at = fields.String(required=True)
    correlation_id = fields.String(required=True)
    case_ref = Ref(required=True)
    data = fields.Dict(required=True)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(contract: EventContract, case_ref: str, data: dict, correlation_id: str,
               event_id: str | None = None) -> dict:
    """Build and validate an event: a malformed event fails here, before anything is
    stored, rather than in a consumer."""
    envelope = {
        "event_id": event_id or uuid.uuid4().hex,
        "event_type": contract.name,
        "version": contract.version,
        "source": contract.source,
        "occurred_at": iso(utc_now()),
        "correlation_id": correlation_id,
        "case_ref": case_ref,
        "data": load(contract.data_schema, data),
    }
    return load(Envelope, envelope)


def parse_event(contract: EventContract, body: dict) -> dict:
    """Validate a received event (envelope and body) or raise InvalidInput."""
    event = load(Envelope, body)
    if (event["event_type"], event["version"]) != (contract.name, contract.version):
        from shared.errors import InvalidInput
        raise InvalidInput({"event_type": [f"expected {contract.routing_key}"]})
    event["data"] = load(contract.data_schema, event["data"])
    return event
