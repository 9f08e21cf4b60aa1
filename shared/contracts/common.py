"""Vocabulary and field types shared by every contract (from DOMAIN.md)."""
import base64
import functools

from marshmallow import Schema, ValidationError, fields, validate

from shared.errors import InvalidInput

WORK_AREAS = (
    "labour_recruitment",
    "working_conditions",
    "employer_employee_relations",
    "living_eating_conditions",
)
FORCED_LABOUR_INDICATORS = (
    "abuse_of_vulnerability", "deception", "restriction_of_movement", "isolation",
    "physical_and_sexual_violence", "intimidation_and_threats",
    "retention_of_identity_documents", "withholding_of_wages", "debt_bondage",
    "abusive_working_and_living_conditions", "excessive_overtime",
)
# Destination sectors a grievance may name (issue 15's report tables); optional at intake.
SECTORS = ("agriculture", "construction", "domestic_work", "electronics", "fishing_and_seafood", "food_processing",
           "garments_and_textiles", "hospitality", "manufacturing_other", "mining", "services_other")
CHANNELS = ("hotline", "line", "facebook_messenger", "whatsapp", "viber", "sms", "worker_app",
            "in_person", "ngo_referral")
SEVERITIES = ("critical", "high", "normal")
# A case's life (DOMAIN.md): the open states in order, then the two final ones.
OPEN_CASE_STATES = ("received", "triaged", "referred", "acknowledged", "plan_submitted",
                    "remediating", "remediation_reported", "validating")
FINAL_CASE_STATES = ("closed", "withdrawn")
CASE_STATES = OPEN_CASE_STATES + FINAL_CASE_STATES
# The three deadlines of a case, in the order of the DEADLINES_* day triples.
DEADLINE_NAMES = ("acknowledge", "plan", "remediation")
# Who may act (DOMAIN.md "Who may do what"); shared/auth.py says which door vouches for whom.
STAFF_ROLES = ("case_worker", "safeguarding_lead")
ADMIN_ROLES = ("admin",)                   # accounts, keys and the party registry; no case work
BUSINESS_TYPES = ("supplier", "agency")
BUSINESS_ROLES = BUSINESS_TYPES            # a business acts in the role of its type
PARTNER_ROLES = ("partner",)
WORKER_ROLES = ("worker",)                 # a worker proven by receipt, for one case
SYSTEM_ROLES = ("system",)                 # a service acting as itself
ACTOR_ROLES = STAFF_ROLES + ADMIN_ROLES + BUSINESS_ROLES + PARTNER_ROLES + WORKER_ROLES + SYSTEM_ROLES
# A worker's answer to "is the remedy real?" (DOMAIN.md, validation); "unsafe": it is not
# safe to answer (an alert is raised and the round is held).
VALIDATION_ANSWERS = ("confirmed", "partly", "not_resolved", "unsafe")
# Where else a worker may have gone (the right to remediation elsewhere; staff record it).
OTHER_CHANNELS = ("labour_inspectorate", "court", "ngo", "union", "embassy", "other")
# What a business's plan may promise (each action is asked about when workers validate).
REMEDY_ACTION_TYPES = (
    "recruitment_fee_repayment", "back_pay", "return_of_documents", "contract_correction",
    "accommodation_fix", "policy_change", "supervisor_discipline", "training", "other",
)
# What a round decides: the remedy is confirmed (the case may close), or it is not
# (remediation reopens, with the tally of answers as its reasons).
ROUND_OUTCOMES = ("confirmed", "not_resolved")
# Safeguarding (DOMAIN.md "Retaliation"): who works the alert queue, and what they decide.
SAFEGUARDING_ROLES = ("safeguarding_lead",)
PROTECTIVE_MEASURES = ("moved_to_another_site", "legal_support", "relocation", "police", "embassy", "other")
# The party registry (remediation): who is in which supply chain. A link goes from a
# party of one kind to a supplier: (link name) -> (kind it starts from, kind it reaches).
PARTY_KINDS = ("site", "supplier", "agency", "partner")
AGENCY_SIDES = ("origin", "destination")
PARTY_LINKS = {"site_of": ("site", "supplier"), "recruits_for": ("agency", "supplier"),
               "sources_from": ("partner", "supplier")}

# Public references: letters and digits only, so they are safe in URLs and filters.
REF = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$", error="must be 2-64 letters, digits, - or _")


def Ref(**kw):
    return fields.String(validate=REF, **kw)


class Cursor(fields.String):
    """An opaque page cursor: the caller hands back what the last page returned.
    Inside it is the last reference of that page (pages are ordered by reference)."""

    PREFIX = "p1:"

    @classmethod
    def encode(cls, last_ref: str) -> str:
        return base64.urlsafe_b64encode((cls.PREFIX + last_ref).encode()).decode().rstrip("=")

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        ref = decoded.removeprefix(self.PREFIX)
        if not decoded.startswith(self.PREFIX) or not REF.regex.match(ref):
            raise ValidationError("not a cursor this service returned")
        return ref


def page_of(items: list, next_ref: str | None) -> dict:
    """A list answer: the items and the cursor of the next page (None: no more)."""
    return {"items": items, "next": Cursor.encode(next_ref) if next_ref else None}


class LengthFirst:
    """A string field that refuses a value over its Length validator's maximum before
    any other validator (an address pattern) runs on it: patterns only see short text."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        longest = min((v.max for v in self.validators if isinstance(v, validate.Length) and v.max is not None),
                      default=None)
        if longest is not None and len(value) > longest:
            raise ValidationError(f"Longer than maximum length {longest}.")
        return value


class Email(LengthFirst, fields.Email):
    """An e-mail address, at most 254 characters (RFC 5321)."""

    def __init__(self, **kw):
        super().__init__(validate=validate.Length(max=254), **kw)


def OneOf(choices, **kw):
    return fields.String(validate=validate.OneOf(choices), **kw)


class StrictSchema(Schema):
    """Unknown fields are an error: a typo must not be silently dropped."""

    class Meta:
        ordered = True


class Page(StrictSchema):
    """A page of a list: at most ``limit`` items after the cursor ``after``."""
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    after = Cursor(load_default=None)


class Actor(StrictSchema):
    id = fields.String(required=True, validate=validate.Length(1, 128))
    role = OneOf(ACTOR_ROLES, required=True)


@functools.cache
def schema_instance(schema_cls: type) -> Schema:
    # Building a Schema costs more than loading a payload with it (profiled): one
    # instance per class, reused (loading keeps no state on the instance).
    return schema_cls()


def load(schema: Schema | type, data, *, partial=False) -> dict:
    """Validate ``data`` against a schema (class or instance) or raise InvalidInput
    naming every bad field."""
    if isinstance(schema, type):
        schema = schema_instance(schema)
    if not isinstance(data, dict):
        raise InvalidInput({"_schema": ["expected a JSON object"]})
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise InvalidInput(_flatten(exc.messages)) from None


def _flatten(messages, prefix=""):
    """{'actions': {0: {'type': [..]}}} -> {'actions.0.type': [..]}"""
    flat = {}
    for key, value in messages.items():
        # A nested schema's own error is named after the nested field itself.
        name = prefix[:-1] if key == "_schema" and prefix else f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat

