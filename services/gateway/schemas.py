"""Bodies of the gateway's own endpoints (login, staff accounts, API keys). The
endpoints it forwards take the owning service's RPC contracts (routes.py)."""
from marshmallow import fields, validate

from services.gateway.credentials import ACCOUNT_ROLES
from shared.contracts.common import BUSINESS_ROLES, PARTNER_ROLES, OneOf, Ref, StrictSchema

USERNAME = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{1,63}$", error="2-64 lower-case letters, digits, . _ or -")


class Login(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 256))


class NewStaffAccount(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)
    role = OneOf(ACCOUNT_ROLES, required=True)
    # At least 12 characters (NIST 800-63B: length, not composition rules).
    password = fields.String(required=True, validate=validate.Length(12, 256))


class NewApiKey(StrictSchema):
    party_ref = Ref(required=True)
    role = OneOf(BUSINESS_ROLES + PARTNER_ROLES, required=True)
    label = fields.String(required=True, validate=validate.Length(1, 200))


class KeyPage(StrictSchema):
    party_ref = Ref(load_default=None)
    after = fields.String(load_default=None, validate=validate.Length(1, 64))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
