"""Intake's HTTP bodies (the outside-facing API; internal contracts are in shared)."""
from marshmallow import fields, validate

from shared.contracts.common import CASE_STATES, VALIDATION_ANSWERS, OneOf, Ref, StrictSchema
from shared.contracts import grievance
from shared.contracts.grievance import TEXT

# The door's report body (shared with the calls case workers record: shared/contracts/grievance.py).
Contact, GrievanceReport = grievance.Contact, grievance.GrievanceReport


# The worker's proof that the case is theirs: the receipt given at intake.
Receipt = lambda: fields.String(required=True, validate=validate.Length(1, 64))  # noqa: E731


class ValidationAnswer(StrictSchema):
    receipt = Receipt()
    answer = OneOf(VALIDATION_ANSWERS, required=True)
    text = fields.String(validate=TEXT, load_default=None, allow_none=True)
    retaliation = fields.Boolean(load_default=False)
    voice_suppression = fields.Boolean(load_default=False)


class FollowUp(StrictSchema):
    receipt = Receipt()
    text = fields.String(required=True, validate=TEXT)   # sealed before it is stored
    retaliation = fields.Boolean(load_default=False)
    voice_suppression = fields.Boolean(load_default=False)


class WorkerProof(StrictSchema):
    receipt = Receipt()


class Withdrawal(StrictSchema):
    receipt = Receipt()
    reason = fields.String(required=True, validate=validate.Length(1, 2000))
    delete_my_data = fields.Boolean(load_default=False, metadata={
        "description": "Also erase the worker's data of this case for good (its contact and messages); "
                       "the case keeps only anonymous facts."})


class WorkerConsent(StrictSchema):
    receipt = Receipt()
    given = fields.Boolean(required=True, metadata={
        "description": "Whether the business the case is referred to may see the worker's name and contact "
                       "details (false withdraws an earlier consent)."})


class ConsentView(StrictSchema):
    case_ref = Ref(required=True)
    consent_to_share_identity = fields.Boolean(required=True)


class CaseRefPath(StrictSchema):
    case_ref = Ref(required=True)


# What the door answers (dumped with these, and documented from them).
class Reported(StrictSchema):
    """Reported: the case reference and the receipt (shown this once)."""
    case_ref = Ref(required=True)
    receipt = fields.String(required=True, metadata={"description": "Shown once: with the reference it proves the case is the worker's."})
    status = fields.String(required=True)
    severity = fields.String(required=True)
    retaliation_alert = fields.Boolean(required=True)


class Accepted(StrictSchema):
    """Accepted: the message is stored with the case."""
    case_ref = Ref(required=True)
    accepted = fields.Boolean(required=True)
    retaliation_alert = fields.Boolean(required=True)


class WorkerCaseView(StrictSchema):
    """The case as its worker sees it."""
    case_ref = Ref(required=True)
    status = OneOf(CASE_STATES, required=True)
    opened_at = fields.String()
    updated_at = fields.String()
    validation_open = fields.Boolean(required=True)


class Health(StrictSchema):
    """Up."""
    status = fields.String(required=True)
