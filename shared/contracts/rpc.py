"""RPC contracts. Every RPC method takes one ``payload`` dict, validated by the schema
named here on the serving side (a bad one raises InvalidInput naming the field and
changes nothing). Callers import these to know what to send.

No payload names its actor: who acts comes only from the signed token in the call's
context data (shared/auth.py), so an ``actor`` field is refused as unknown."""
from marshmallow import ValidationError, fields, validate, validates_schema

from shared.contracts.common import (
    AGENCY_SIDES, BUSINESS_TYPES, CASE_STATES, CHANNELS, OTHER_CHANNELS, PARTY_KINDS, PARTY_LINKS, PROTECTIVE_MEASURES, REMEDY_ACTION_TYPES,
    SEVERITIES, VALIDATION_ANSWERS, WORK_AREAS, Email, OneOf, Page, Ref, StrictSchema,
)
from shared.contracts.events import WEBHOOK_EVENT_TYPES
from shared.contracts.grievance import ReportFields

Text = lambda n, **kw: fields.String(validate=validate.Length(1, n), **kw)  # noqa: E731


class CaseCommand(StrictSchema):
    case_ref = Ref(required=True)


# --- remediation -------------------------------------------------------------------

class GetCase(CaseCommand):
    pass


# A staff username, as the gateway's accounts spell them.
Username = lambda **kw: fields.String(validate=validate.Regexp(  # noqa: E731
    r"^[a-z0-9][a-z0-9._-]{1,63}$", error="a staff username"), **kw)
Tag = lambda **kw: fields.String(validate=validate.Regexp(  # noqa: E731
    r"^[a-z0-9][a-z0-9_-]{0,31}$", error="a tag: 1-32 lower-case letters, digits, - or _"), **kw)


class CaseFilters(StrictSchema):
    """What narrows a case list (services/remediation/case_filters.py). A business or
    partner stays in its own scope whatever it asks, and may use only the filters on
    what it sees (status, severity, work area, deadlines, changes, reference)."""
    status = OneOf(CASE_STATES, load_default=None)
    severity = OneOf(SEVERITIES, load_default=None)
    work_area = OneOf(WORK_AREAS, load_default=None)
    business_ref = Ref(load_default=None)
    # staff only: the rest says how a case reached the operator and how it is worked
    partner_ref = Ref(load_default=None, metadata={"description": "cases in this partner's supply chain"})
    channel = OneOf(CHANNELS, load_default=None)
    language = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z]{2,3}$", error="a language code"))
    assignee = Username(load_default=None)
    unassigned = fields.Boolean(load_default=None, metadata={"description": "true: only cases nobody is assigned"})
    tag = Tag(load_default=None)
    overdue = fields.Boolean(load_default=None, metadata={"description": "true: past a deadline not yet met"})
    due_within_hours = fields.Float(load_default=None, validate=validate.Range(0, 24 * 60), metadata={
        "description": "a deadline not yet met is due within this many hours (or overdue)"})
    changed_since = fields.AwareDateTime(load_default=None)
    ref = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Za-z0-9-]{3,64}$", error="a case reference or its beginning"),
        metadata={"description": "search by case reference: the whole or its beginning"})


class ListCases(Page, CaseFilters):
    pass


class Triage(CaseCommand):
    severity = OneOf(SEVERITIES, load_default=None)
    # A chat report's work area is a first guess from its words: triage corrects it.
    work_area = OneOf(WORK_AREAS, load_default=None)
    note = Text(2000, load_default=None)


class Refer(CaseCommand):
    business_ref = Ref(required=True)
    business_type = OneOf(BUSINESS_TYPES, required=True)


class Acknowledge(CaseCommand):
    note = Text(2000, load_default=None)


class ListAlerts(Page):
    """The safeguarding lead's queue: open alerts, oldest first."""


class AlertCommand(StrictSchema):
    alert_id = Ref(required=True)


class AcknowledgeAlert(AlertCommand):
    note = Text(2000, load_default=None)


class RecordMeasure(AlertCommand):
    measure = OneOf(PROTECTIVE_MEASURES, required=True)
    note = Text(2000, required=True)


class ResolveAlert(AlertCommand):
    """The safeguarding lead closes an alert: what was done, in a note (staff-only trail)."""
    resolution = Text(2000, required=True)


class RemediationAction(StrictSchema):
    type = OneOf(REMEDY_ACTION_TYPES, required=True)
    description = Text(2000, required=True)
    owner = Text(200, required=True)
    due_date = fields.Date(required=True)
    # Not validate.Range: on a Decimal field it documents its minimum as the string "0",
    # which no JSON Schema tool accepts (found by schemathesis).
    amount = fields.Decimal(as_string=True, validate=lambda v: v >= 0, load_default=None, allow_none=True,
                            metadata={"minimum": 0, "description": "a decimal amount, at least 0"})
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"), load_default=None)
    workers_count = fields.Integer(validate=validate.Range(min=1), load_default=None)


class SubmitPlan(CaseCommand):
    actions = fields.List(fields.Nested(RemediationAction), required=True,
                          validate=validate.Length(min=1, max=50))


class AcceptPlan(CaseCommand):
    note = Text(2000, load_default=None)


class ReportRemediation(CaseCommand):
    summary = Text(4000, required=True)
    evidence = fields.List(Text(500), required=True, validate=validate.Length(min=1, max=50))


class Withdraw(CaseCommand):
    # Only the worker may withdraw: the token is the worker's, bound to this case.
    reason = Text(2000, required=True)


class RecordOtherChannel(CaseCommand):
    channel = OneOf(OTHER_CHANNELS, required=True)
    note = Text(2000, load_default=None)


# --- validation --------------------------------------------------------------------

class SubmitAnswer(CaseCommand):
    # The worker's key comes from the token: only the worker answers.
    answer = OneOf(VALIDATION_ANSWERS, required=True)


class GetRounds(CaseCommand):
    pass


class AddAffectedWorker(CaseCommand):
    """A worker the grievance also concerns (a co-worker who reported the same thing,
    a member of a group complaint), by the pseudonymous key staff see on their case."""
    worker_key = fields.String(required=True, validate=validate.Length(1, 64))


class RecordVisitAnswer(CaseCommand):
    """An answer a worker gave a case worker in person during a visit: recorded as that
    worker's answer (on the audit trail, with who recorded it), never as an override."""
    worker_key = fields.String(required=True, validate=validate.Length(1, 64))
    answer = OneOf(VALIDATION_ANSWERS, required=True)
    note = Text(2000, load_default=None)


class RerunRound(CaseCommand):
    """A round that expired unanswered is asked again (the case worker's decision;
    a case never closes without a passed round)."""
    reason = Text(500, required=True)


# --- intake --------------------------------------------------------------------------

# Channels a case worker records for a worker (a chat or the worker's page report themselves).
RECORDED_CHANNELS = ("hotline", "ngo_referral", "in_person")


class RecordCall(ReportFields):
    """A hotline call, a visit, or an NGO partner's referral, recorded by a case worker.
    A referral may bundle several workers who share the grievance (a group case)."""
    channel = OneOf(RECORDED_CHANNELS, required=True)
    workers_count = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    referred_by = Ref(load_default=None, allow_none=True)      # the NGO partner's party ref

    @validates_schema
    def referral_names_its_partner(self, data, **_):
        if data.get("referred_by") and data["channel"] != "ngo_referral":
            raise ValidationError({"referred_by": ["only an ngo_referral is referred by a partner"]})


class ReissueReceipt(CaseCommand):
    # Why the worker needs a new one, for the audit trail (never the worker's identity).
    reason = Text(500, required=True)


class RevealIdentity(CaseCommand):
    # Why it must be read: on intake's trail with who asked (never in an event or a log).
    reason = Text(500, required=True)

    @validates_schema
    def reason_says_something(self, data, **_):
        if not data.get("reason", "").strip():
            raise ValidationError({"reason": ["a reveal needs a reason"]})


class RecordConsent(CaseCommand):
    """The worker's consent to share their identity with the business the case is
    referred to (or its withdrawal), recorded by staff with how the worker gave it."""
    given = fields.Boolean(load_default=True)
    how = OneOf(("in_person", "hotline", "chat", "written", "worker_app"), required=True)


# --- notifications -----------------------------------------------------------------

class RegisterWebhook(StrictSchema):
    # Whose endpoint it is comes from the token: a partner's covers its supply chain,
    # a safeguarding lead's every alert and case.
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    event_types = fields.List(OneOf(WEBHOOK_EVENT_TYPES), required=True,
                              validate=validate.Length(min=1))
    # v1: HMAC with a shared secret; v1a: Ed25519, the owner holds only the public key.
    signature_scheme = OneOf(("v1", "v1a"), load_default="v1")
    # Who to tell when the endpoint is disabled (failing for days, or 410): the owner's
    # technical contact; without one, the operator's backup contacts are told instead.
    contact_email = Email(load_default=None)


# --- remediation: the party registry ------------------------------------------------

class RegisterParty(StrictSchema):
    ref = Ref(required=True)
    kind = OneOf(PARTY_KINDS, required=True)
    name = Text(200, required=True)
    country = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166 alpha-2 code"),
                            load_default=None)
    side = OneOf(AGENCY_SIDES, load_default=None)   # an agency's: origin or destination country

    @validates_schema
    def _side_is_an_agencys(self, data, **kwargs):
        if (data["kind"] == "agency") != (data.get("side") is not None):
            raise ValidationError("an agency states its side (origin or destination); other parties do not",
                                  "side")


class Link(StrictSchema):
    """``ref`` --link--> ``to_ref``: a site of a supplier, an agency recruiting for a
    supplier, a partner sourcing from a supplier."""
    ref = Ref(required=True)
    link = OneOf(tuple(PARTY_LINKS), required=True)
    to_ref = Ref(required=True)


class GetParty(StrictSchema):
    ref = Ref(required=True)


class ListParties(Page):
    kind = OneOf(PARTY_KINDS, load_default=None)


class WebhookRef(StrictSchema):
    subscription_id = fields.String(required=True, validate=validate.Length(1, 64))


class ListWebhooks(Page):
    """The caller's own endpoints (staff: every endpoint), a page at a time."""


class ListDeliveries(WebhookRef, Page):
    """The delivery log of one endpoint, oldest first."""


class ReplayDelivery(WebhookRef):
    delivery_id = fields.String(required=True, validate=validate.Length(1, 64))


class ReplayDeliveries(WebhookRef):
    """Replay the deliveries of the events that happened in [since, until]."""
    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)

    @validates_schema
    def _in_order(self, data, **kwargs):
        if data["since"] > data["until"]:
            raise ValidationError("must not be before since", "until")


# --- remediation: engaged businesses and public reporting ---------------------------

class SupplierScorecard(StrictSchema):
    business_ref = Ref(required=True)


class OverdueItems(Page):
    """A business's open cases past a deadline not yet met (services/remediation/escalation.py)."""
    business_ref = Ref(required=True)


class NoArguments(StrictSchema):
    pass


class SilentSites(Page):
    """Sites whose silence was flagged (services/remediation/silence.py), a page at a time."""


class PartnerReport(StrictSchema):
    """A partner's supply-chain tables: its own (a partner), or the named partner's (staff)."""
    partner_ref = Ref(load_default=None)


# --- remediation: plans returned, action progress, the remedy ledger (issue 11) ------

NonBlank = lambda n, **kw: fields.String(validate=[validate.Length(1, n), validate.Regexp(r"\S", error="blank")],  # noqa: E731
                                         **kw)
LEDGER_KINDS = ("recruitment_fee_repayment", "back_pay")
LEDGER_ENTRY_TYPES = ("owed", "paid", "correction")


class ReturnPlan(CaseCommand):
    """Staff send the plan back: the business learns the reasons and submits a revision."""
    reasons = fields.List(NonBlank(2000), required=True, validate=validate.Length(min=1, max=20))


class Evidence(StrictSchema):
    """Metadata of one evidence file (the file itself is kept elsewhere)."""
    file_name = fields.String(required=True, validate=[
        validate.Length(1, 255), validate.Regexp(r"^[^/\\\x00-\x1f]+$", error="a file name, no path")])
    sha256 = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9a-f]{64}$", error="64 lowercase hex digits (the file's SHA-256)"))
    media_type = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$", error="a media type like application/pdf"))


class UpdateAction(CaseCommand):
    action_id = Ref(required=True)
    status = OneOf(("planned", "in_progress", "done"), load_default=None)
    note = NonBlank(2000, load_default=None)
    reason = NonBlank(2000, load_default=None)      # required to move an action back
    evidence = fields.List(fields.Nested(Evidence), load_default=list, validate=validate.Length(max=20))


class LedgerEntry(CaseCommand):
    """One entry of the remedy ledger. ``owed`` (staff) names the worker, the kind and the
    currency, and opens the line for them; ``paid`` (the case's business or staff) and
    ``correction`` (staff, with a reason; a signed change of what is owed or paid) name
    the line. ``entry_id``: the caller's idempotency key, unique per line."""
    entry_id = Ref(required=True)
    type = OneOf(LEDGER_ENTRY_TYPES, required=True)
    amount = fields.String(required=True, validate=validate.Regexp(
        r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$", error="a decimal amount as a string, like \"1250.50\""))
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code"))
    worker_key = fields.String(load_default=None, validate=validate.Length(1, 64))
    kind = OneOf(LEDGER_KINDS, load_default=None)
    action_id = Ref(load_default=None)
    line_id = Ref(load_default=None)
    applies_to = OneOf(("owed", "paid"), load_default="owed")
    reason = NonBlank(2000, load_default=None)
    note = NonBlank(2000, load_default=None)

    @validates_schema
    def _names_its_line(self, data, **_):
        if data["type"] == "owed":
            missing = [f for f in ("worker_key", "kind") if not data.get(f)]
            if missing:
                raise ValidationError("required for an owed entry", missing[0])
        elif not data.get("line_id"):
            raise ValidationError("required for a paid or correction entry", "line_id")
        if data["type"] == "correction" and not data.get("reason"):
            raise ValidationError("a correction states its reason", "reason")


class GetLedger(CaseCommand):
    pass


class LedgerTotals(StrictSchema):
    business_ref = Ref(required=True)


# --- case work as a team (services/remediation/assignment.py, notes.py) ---------------

class AssignCase(CaseCommand):
    assignee = Username(required=True, allow_none=True, metadata={"description": "null: unassigned"})


class HandOver(StrictSchema):
    from_assignee = Username(required=True)
    to_assignee = Username(required=True)


class TakeLease(CaseCommand):
    force = fields.Boolean(load_default=False, metadata={"description": "take it over from another editor "
                                                                         "(on the case's trail)"})


class ReleaseLease(CaseCommand):
    pass


class AddNote(CaseCommand):
    scope = OneOf(("internal", "private", "business", "partner"), required=True)
    text = Text(4000, required=True)


class CaseAccessLog(Page):
    case_ref = Ref(required=True)


class MessageWorker(CaseCommand):
    """A note to the worker on their chat (services/intake/staff_messages.py)."""
    text = Text(2000, required=True)


# --- the case list for a shift: deadlines board, tags, saved views (case_filters.py, saved_views.py)

class DeadlineBoard(StrictSchema):
    """Open deadlines due within ``hours`` (and every overdue one), soonest first."""
    hours = fields.Float(load_default=24, validate=validate.Range(0, 24 * 60))
    assignee = Username(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class TagCase(CaseCommand):
    add = fields.List(Tag(), load_default=list, validate=validate.Length(max=10))
    remove = fields.List(Tag(), load_default=list, validate=validate.Length(max=10))


ViewName = lambda **kw: fields.String(validate=validate.Regexp(  # noqa: E731
    r"^[\w][\w .-]{0,59}$", error="a view name: 1-60 letters, digits, spaces, . or -"), **kw)


class SaveView(StrictSchema):
    name = ViewName(required=True)
    filters = fields.Nested(CaseFilters, required=True)


class NamedView(StrictSchema):
    name = ViewName(required=True)


class ViewCases(Page):
    name = ViewName(required=True)
    changed_only = fields.Boolean(load_default=False, metadata={
        "description": "only cases new or changed since I last looked at this view"})


class BulkAssign(StrictSchema):
    name = ViewName(required=True)
    assignee = Username(required=True, allow_none=True, metadata={"description": "null: unassigned"})


class BulkTag(StrictSchema):
    name = ViewName(required=True)
    add = fields.List(Tag(), load_default=list, validate=validate.Length(max=10))
    remove = fields.List(Tag(), load_default=list, validate=validate.Length(max=10))
