"""Bodies of the gateway's own endpoints (login, staff accounts, API keys). The
endpoints it forwards take the owning service's RPC contracts (routes.py)."""
from marshmallow import fields, validate

from services.gateway.credentials import ACCOUNT_ROLES
from shared.contracts import rpc

LANGUAGE = validate.Regexp(r"^[a-z]{2,3}$", error="a language code (en, th, my, km, lo, ne, ...)")
from shared.contracts.common import BUSINESS_ROLES, PARTNER_ROLES, OneOf, Ref, StrictSchema

USERNAME = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{1,63}$", error="2-64 lower-case letters, digits, . _ or -")


class Login(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 256))
    # The current code of the authenticator app, for an account enrolled in two-factor login.
    otp = fields.String(load_default=None, validate=validate.Length(1, 16))


class NewStaffAccount(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)
    role = OneOf(ACCOUNT_ROLES, required=True)
    # At least 12 characters (NIST 800-63B: length, not composition rules).
    password = fields.String(required=True, validate=validate.Length(12, 256))
    languages = fields.List(fields.String(validate=LANGUAGE), load_default=list, validate=validate.Length(max=10),
                            metadata={"description": "languages the person works in (codes: en, th, my, km, ...)"})


class StaffLanguages(StrictSchema):
    languages = fields.List(fields.String(validate=LANGUAGE), required=True, validate=validate.Length(max=10))


class StaffQuery(StrictSchema):
    """GET /v1/staff: active staff members, to choose an assignee (e.g. who speaks the worker's language)."""
    language = fields.String(load_default=None, validate=LANGUAGE)
    role = OneOf(ACCOUNT_ROLES, load_default=None)


class StaffList(StrictSchema):
    items = fields.List(fields.Dict(), required=True)


class NewApiKey(StrictSchema):
    party_ref = Ref(required=True)
    role = OneOf(BUSINESS_ROLES + PARTNER_ROLES, required=True)
    label = fields.String(required=True, validate=validate.Length(1, 200))


class KeyPage(StrictSchema):
    party_ref = Ref(load_default=None)
    after = fields.String(load_default=None, validate=validate.Length(1, 64))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


# --- answers ----------------------------------------------------------------------------

class AccessToken(StrictSchema):
    """A staff access token: send it as ``Authorization: Bearer <access_token>``."""
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"description": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    scope = fields.String(metadata={"description": "two_factor_enrolment: this token may only enrol in "
                                                   "two-factor login (mandatory for the account's role)"})


class StaffAccountView(StrictSchema):
    """The staff account (never its password hash)."""
    username = fields.String(required=True)
    role = OneOf(ACCOUNT_ROLES, required=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    two_factor = fields.Boolean(metadata={"description": "enrolled in two-factor login"})
    languages = fields.List(fields.String())


class ApiKeyView(StrictSchema):
    """An API key's record (never the key itself, which is shown only when issued)."""
    key_id = fields.String(required=True)
    party_ref = fields.String(required=True)
    role = OneOf(BUSINESS_ROLES + PARTNER_ROLES, required=True)
    label = fields.String(required=True)
    created_at = fields.String(required=True)
    revoked_at = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True)


class IssuedApiKey(ApiKeyView):
    """The new key: ``api_key`` is in this answer only; store it now."""
    api_key = fields.String(required=True)


class ApiKeyList(StrictSchema):
    """A page of keys; pass ``next`` as ``after`` for the following one (null: the last page)."""
    items = fields.List(fields.Nested(ApiKeyView), required=True)
    next = fields.String(allow_none=True, required=True)


class UsernamePath(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)


class KeyIdPath(StrictSchema):
    key_id = fields.String(required=True, validate=validate.Regexp(r"^key_[0-9a-f]{16}$"))


class Health(StrictSchema):
    """The door is up."""
    status = fields.String(required=True)


# --- two-factor login ------------------------------------------------------------------

class OtpCode(StrictSchema):
    otp = fields.String(required=True, validate=validate.Length(1, 16))


class TwoFactorRule(StrictSchema):
    """Who must log in with two factors: the listed roles, or everyone."""
    roles = fields.List(OneOf(ACCOUNT_ROLES), load_default=list)
    everyone = fields.Boolean(load_default=False)


class TwoFactorPolicyView(StrictSchema):
    required_roles = fields.List(fields.String(), required=True)


class TwoFactorSecret(StrictSchema):
    """The new TOTP secret, in this answer only: add it to an authenticator app (the URI
    as a QR code), then confirm with its first code."""
    secret = fields.String(required=True)
    provisioning_uri = fields.String(required=True)


class ViewExportQuery(StrictSchema):
    """GET /v1/view-exports: which of your saved views, which format."""
    name = rpc.ViewName(required=True)
    format = OneOf(("json", "csv", "xlsx"), load_default="csv")


class ExportQuery(StrictSchema):
    """GET /v1/reports/export: which view, which table, which format."""
    view = OneOf(("public", "partner", "scorecards"), load_default="public")
    table = OneOf(("work_area", "indicator", "month", "origin_country", "sector", "remedy_paid"),
                  load_default="work_area")
    format = OneOf(("json", "csv", "xlsx"), load_default="csv")
    partner_ref = Ref(load_default=None)
