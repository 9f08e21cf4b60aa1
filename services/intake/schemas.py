"""Intake's HTTP bodies (the outside-facing API; internal contracts are in shared)."""
from marshmallow import ValidationError, fields, validate, validates_schema

from shared.contracts.common import (
    CASE_STATES, CHANNELS, FORCED_LABOUR_INDICATORS, Email, VALIDATION_ANSWERS, WORK_AREAS, OneOf, Ref, StrictSchema,
)

TEXT = validate.Length(1, 10_000)
SHORT = validate.Length(1, 200)


class Contact(StrictSchema):
    name = fields.String(validate=SHORT)
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,24}$", error="not a phone number"))
    whatsapp = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,24}$", error="not a phone number"))
    line_id = fields.String(validate=SHORT)
    messenger_id = fields.String(validate=SHORT)
    email = Email()

    @validates_schema
    def reachable(self, data, **_):
        if not any(data.get(k) for k in ("phone", "whatsapp", "line_id", "messenger_id", "email")):
            raise ValidationError("give at least one of phone, whatsapp, line_id, messenger_id, email")


class GrievanceReport(StrictSchema):
    channel = OneOf(CHANNELS, required=True)
    language = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="must be a language tag such as th, my, km or en"))
    work_area = OneOf(WORK_AREAS, required=True)
    text = fields.String(required=True, validate=TEXT)
    contact = fields.Nested(Contact, load_default=None, allow_none=True)
    supplier_ref = Ref(load_default=None, allow_none=True)
    site_ref = Ref(load_default=None, allow_none=True)
    agency_ref = Ref(load_default=None, allow_none=True)
    forced_labour_indicators = fields.List(OneOf(FORCED_LABOUR_INDICATORS), load_default=list)
    retaliation = fields.Boolean(load_default=False)
    consent_to_share_identity = fields.Boolean(load_default=False)


# The worker's proof that the case is theirs: the receipt given at intake.
Receipt = lambda: fields.String(required=True, validate=validate.Length(1, 64))  # noqa: E731


class ValidationAnswer(StrictSchema):
    receipt = Receipt()
    answer = OneOf(VALIDATION_ANSWERS, required=True)
    text = fields.String(validate=TEXT, load_default=None, allow_none=True)
    retaliation = fields.Boolean(load_default=False)


class FollowUp(StrictSchema):
    receipt = Receipt()
    text = fields.String(required=True, validate=TEXT)   # sealed before it is stored
    retaliation = fields.Boolean(load_default=False)


class WorkerProof(StrictSchema):
    receipt = Receipt()


class Withdrawal(StrictSchema):
    receipt = Receipt()
    reason = fields.String(required=True, validate=validate.Length(1, 2000))
    delete_my_data = fields.Boolean(load_default=False, metadata={
        "description": "Also erase the worker's data of this case for good (its contact and messages); "
                       "the case keeps only anonymous facts."})


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
