"""What a grievance report holds, wherever it comes in: the worker's own report at
intake's door (services/intake/schemas.py) and a call or referral a case worker
records through the gateway (shared/contracts/rpc.py RecordCall)."""
from marshmallow import ValidationError, fields, validate, validates_schema

from shared.contracts.common import CHANNELS, FORCED_LABOUR_INDICATORS, Email, WORK_AREAS, OneOf, Ref, StrictSchema
from shared.contracts.common import SECTORS

# ISO 3166-1 alpha-2 (the worker's country of origin; optional, for the report tables).
COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166-1 alpha-2 country code such as MM")

TEXT = validate.Length(1, 10_000)
SHORT = validate.Length(1, 200)


class Contact(StrictSchema):
    name = fields.String(validate=SHORT)
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,24}$", error="not a phone number"))
    whatsapp = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,24}$", error="not a phone number"))
    line_id = fields.String(validate=SHORT)
    messenger_id = fields.String(validate=SHORT)
    viber_id = fields.String(validate=SHORT)
    email = Email()

    @validates_schema
    def reachable(self, data, **_):
        if not any(data.get(k) for k in ("phone", "whatsapp", "line_id", "messenger_id", "viber_id", "email")):
            raise ValidationError("give at least one of phone, whatsapp, line_id, messenger_id, viber_id, email")


class ReportFields(StrictSchema):
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
    voice_suppression = fields.Boolean(load_default=False)   # told not to complain, phone taken...
    consent_to_share_identity = fields.Boolean(load_default=False)
    origin_country = fields.String(load_default=None, allow_none=True, validate=COUNTRY)
    sector = OneOf(SECTORS, load_default=None, allow_none=True)


class GrievanceReport(ReportFields):
    channel = OneOf(CHANNELS, required=True)
