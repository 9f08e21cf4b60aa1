"""Gateway: the HTTP API for staff, businesses and partners (versioned under /v1).

It authenticates the caller (a staff access token or an API key, doorkeeper.py),
keeps staff accounts and API keys (handlers.py), and forwards everything else to the
service that owns the data as that principal, with a signed actor token (routes.py).
It decides nothing about cases: scope is enforced by their owners. Order on every
protected route: who are you (401), may you (403), then what you sent (400).
"""
from nameko.rpc import RpcProxy

from werkzeug.wrappers import Response

from services.gateway import exports, handlers, routes
from services.gateway.access import Access
from services.gateway.console.pages import ConsolePages
from services.gateway.credentials import ApiKey, StaffAccount
from services.gateway.schemas import (
    AccessToken, ApiKeyList, ApiKeyView, ExportQuery, Health, IssuedApiKey, KeyIdPath, KeyPage, Login, NewApiKey,
    NewStaffAccount, OtpCode, StaffAccountView, TwoFactorPolicyView, TwoFactorRule, TwoFactorSecret, UsernamePath,
    StaffLanguages, StaffList, StaffQuery, ViewExportQuery,
)
from services.gateway.store import AccountStore, ApiKeyStore, PolicyStore
from services.gateway.two_factor import TwoFactorPolicy
from shared.caller import Caller
from shared.contracts import webhooks
from shared.contracts.common import load
from shared.contracts.events import WEBHOOK_EVENT_TYPES, utc_now
from shared.errors import InvalidInput
from shared.http import json_http, read_json
from shared.json_body import body_bytes, parse_object
from shared.openapi import ApiDocs
from shared.rpc import call_within
from shared.service import ServiceBase
from shared.unit_of_work import Aggregates

GUARDED = (401, 403, 429)     # who are you; may you; too many requests


class GatewayService(ConsolePages, ApiDocs, ServiceBase):
    name = "gateway"
    api_title, api_version = "ILM API: staff, businesses and partners", "1"
    api_description = ("Send `Authorization: Bearer <token>`: a staff access token from POST /v1/auth/login, "
                       "or an API key (ilmk_...) issued by staff to a supplier, agency or partner. What each "
                       "caller may see and do is decided by the service that owns the data. Errors are RFC 9457 "
                       "problem details.")

    accounts = Aggregates(AccountStore, StaffAccount)
    keys = Aggregates(ApiKeyStore, ApiKey)
    policies = Aggregates(PolicyStore, TwoFactorPolicy)
    access = Access()
    caller = Caller(signs=True)       # vouches for the principal it authenticated
    remediation = RpcProxy("remediation")
    validation = RpcProxy("validation")
    notifications = RpcProxy("notifications")
    intake = RpcProxy("intake")

    @classmethod
    def api_operations(cls):
        return [*routes.operations(), *exports.operations()]

    @classmethod
    def api_webhooks(cls):
        """The payload of every webhook type, published in the OpenAPI document."""
        return [(name, webhooks.payload_schema(name), webhooks.HEADERS) for name in WEBHOOK_EVENT_TYPES]

    # --- the gateway's own: login, staff accounts, API keys -------------------------
    @json_http("POST", "/v1/auth/login", body=Login, answers={200: AccessToken}, problems=(401, 429))
    def login(self, request, body):
        """Log in (staff): a short-lived access token for a good password, and the current
        code (``otp``) for an account enrolled in two-factor login."""
        s = self.access.settings
        return 200, handlers.login(self.accounts, self.access.staff_tokens, self.access.limits,
                                   s.login_rate_limit, body, request.remote_addr,
                                   self.access.second_factor(self.policies, utc_now()))

    @json_http("POST", "/v1/auth/two-factor", answers={200: TwoFactorSecret}, problems=GUARDED + (409,))
    def begin_two_factor(self, request):
        """Start two-factor enrolment (staff): a new TOTP secret, shown once."""
        principal = self._authenticate(request, handlers.KEY_ISSUERS, enrolling=True)
        return 200, handlers.begin_enrolment(self.accounts, self.access.otp_vault, principal.id, utc_now())

    @json_http("POST", "/v1/auth/two-factor/confirmation", reads=OtpCode, answers={200: AccessToken},
               problems=GUARDED + (400, 409))
    def confirm_two_factor(self, request):
        """Confirm enrolment with the first code: two-factor login is then active, and the
        answer is a full access token."""
        principal = self._authenticate(request, handlers.KEY_ISSUERS, enrolling=True)
        a = self.access
        return 200, handlers.confirm_enrolment(self.accounts, a.staff_tokens, a.otp_vault, a.limits,
                                               a.settings.login_rate_limit, principal.id,
                                               read_json(request, OtpCode)["otp"], utc_now())

    @json_http("DELETE", "/v1/staff/<string:username>/two-factor", answers={200: StaffAccountView},
               problems=GUARDED + (400, 404, 409))
    def reset_two_factor(self, request, username):
        """Reset a staff member's two-factor enrolment (admins only; audited): they enrol again."""
        actor = self._authenticate(request, handlers.ACCOUNT_MAKERS).actor
        username = load(UsernamePath, {"username": username})["username"]
        return 200, handlers.reset_two_factor(self.accounts, actor, username, utc_now())

    @json_http("GET", "/v1/two-factor-policy", answers={200: TwoFactorPolicyView}, problems=GUARDED)
    def get_two_factor_policy(self, request):
        """The roles that must log in with two factors (admins only)."""
        self._authenticate(request, handlers.ACCOUNT_MAKERS)
        return 200, handlers.two_factor_policy(self.policies)

    @json_http("POST", "/v1/two-factor-policy", reads=TwoFactorRule, answers={200: TwoFactorPolicyView},
               problems=GUARDED + (400,))
    def set_two_factor_policy(self, request):
        """Make two factors mandatory for some roles or everyone (admins only; audited). An
        account under the rule without enrolment then gets a token that can only enrol."""
        actor = self._authenticate(request, handlers.ACCOUNT_MAKERS).actor
        return 200, handlers.require_two_factor(self.policies, actor, read_json(request, TwoFactorRule), utc_now())

    @json_http("GET", "/v1/staff", answers={200: StaffList}, problems=GUARDED + (400,))
    def list_staff(self, request):
        """Active case workers and safeguarding leads, to choose an assignee: ?language=my
        those who work in the worker's language, ?role= one role (staff and admins)."""
        self._authenticate(request, handlers.KEY_ISSUERS)
        return 200, handlers.list_staff(self.accounts, load(StaffQuery, request.args.to_dict()))

    @json_http("POST", "/v1/staff/<string:username>/languages", reads=StaffLanguages,
               answers={200: StaffAccountView}, problems=GUARDED + (400, 404))
    def set_staff_languages(self, request, username):
        """The languages a staff member works in (an admin, or the person themselves)."""
        actor = self._authenticate(request, handlers.KEY_ISSUERS).actor
        username = load(UsernamePath, {"username": username})["username"]
        return 200, handlers.set_languages(self.accounts, actor, username,
                                           read_json(request, StaffLanguages)["languages"], utc_now())

    @json_http("POST", "/v1/staff", reads=NewStaffAccount, answers={201: StaffAccountView}, problems=GUARDED)
    def create_staff_account(self, request):
        """Create a staff account (admins only)."""
        actor = self._authenticate(request, handlers.ACCOUNT_MAKERS).actor
        return 201, handlers.create_account(self.accounts, actor, read_json(request, NewStaffAccount), utc_now())

    @json_http("DELETE", "/v1/staff/<string:username>", answers={200: StaffAccountView},
               problems=GUARDED + (400, 404, 409))
    def deactivate_staff_account(self, request, username):
        """Deactivate a staff account (admins only): its tokens stop working at once."""
        actor = self._authenticate(request, handlers.ACCOUNT_MAKERS).actor
        username = load(UsernamePath, {"username": username})["username"]
        return 200, handlers.deactivate_account(self.accounts, actor, username, utc_now())

    @json_http("POST", "/v1/api-keys", reads=NewApiKey, answers={201: IssuedApiKey}, problems=GUARDED)
    def issue_api_key(self, request):
        """Issue an API key to one supplier, agency or partner (staff); the key is shown once."""
        actor = self._authenticate(request, handlers.KEY_ISSUERS).actor
        return 201, handlers.issue_key(self.keys, actor, read_json(request, NewApiKey), utc_now())

    @json_http("GET", "/v1/api-keys", answers={200: ApiKeyList}, problems=GUARDED + (400,))
    def list_api_keys(self, request):
        """API keys with their last use, a page at a time (staff); ?party_ref= ?after= ?limit="""
        actor = self._authenticate(request, handlers.KEY_ISSUERS).actor
        return 200, handlers.list_keys(self.keys, actor, load(KeyPage, request.args.to_dict()))

    @json_http("DELETE", "/v1/api-keys/<string:key_id>", answers={200: ApiKeyView}, problems=GUARDED + (400, 404, 409))
    def revoke_api_key(self, request, key_id):
        """Revoke an API key (staff): it stops working at once."""
        actor = self._authenticate(request, handlers.KEY_ISSUERS).actor
        key_id = load(KeyIdPath, {"key_id": key_id})["key_id"]
        return 200, handlers.revoke_key(self.keys, actor, key_id, utc_now())

    # --- everything else: forwarded to the owner of the data (described by routes.py) ---
    @json_http("GET,POST,DELETE", "/v1/<path:rest>", documented=False)
    def forward(self, request, rest):
        route, variables = routes.resolve(request.method, request.path)
        principal = self._authenticate(request)
        payload = parse_object(body_bytes(request)) if request.method == "POST" else request.args.to_dict()
        return route.status, self.forward_as(principal, request.method, request.path, payload)

    def forward_as(self, principal, verb: str, path: str, payload: dict):
        """The owning service's answer to ``verb path`` for ``principal``: the /v1 API's
        one forwarding path (the console's pages call it too, as the logged-in staff member)."""
        route, variables = routes.resolve(verb, path)
        clash = set(payload) & set(variables)
        if clash:
            raise InvalidInput({name: ["comes from the URL, not the body"] for name in clash})
        self.caller.vouch(principal)
        method = getattr(getattr(self, route.service), route.method)
        return call_within(self.access.settings.gateway_rpc_timeout, method, {**payload, **variables})

    @json_http("GET", "/v1/reports/export", documented=False)
    def export_report(self, request):
        """A released report table as a file: built here from remediation's JSON answer
        (exports.py), which has applied disclosure control; a refused table is a 409."""
        principal = self._authenticate(request)
        query = load(ExportQuery, request.args.to_dict())
        self.caller.vouch(principal)
        timeout = self.access.settings.gateway_rpc_timeout
        partner = {"partner_ref": query["partner_ref"]}
        if query["view"] == "scorecards":
            name, data = f"scorecards.{query['format']}", exports.scorecards_file(
                call_within(timeout, self.remediation.chain_scorecards, partner), query["format"])
        else:
            report = (call_within(timeout, self.remediation.partner_report_tables, partner) if query["view"] == "partner"
                      else call_within(timeout, self.remediation.report_tables, {}))
            name = f"{query['view']}-{query['table']}.{query['format']}"
            data = exports.file_of(report, query["table"], query["format"])
        return Response(data, status=200, headers={
            "Content-Type": exports.MEDIA_TYPES[query["format"]], "Content-Disposition": f'attachment; filename="{name}"'})

    @json_http("GET", "/v1/view-exports", documented=False)
    def export_view(self, request):
        """A saved view's cases as a file (exports.py) from remediation's export_view,
        which keeps the view's scope and logs the export on each case."""
        principal = self._authenticate(request)
        query = load(ViewExportQuery, request.args.to_dict())
        self.caller.vouch(principal)
        export = call_within(self.access.settings.gateway_rpc_timeout, self.remediation.export_view,
                             {"name": query["name"]})
        data, headers = exports.view_download(export, query["format"])
        return Response(data, status=200, headers=headers)

    @json_http("GET", "/health", answers={200: Health})
    def health(self, request):
        """Whether the door is up."""
        return 200, {"status": "ok"}

    def _authenticate(self, request, allow=None, enrolling=False):
        """The caller's principal (401 otherwise); ``allow``: the roles that may use
        one of the gateway's own endpoints (403 otherwise, before the body is read);
        ``enrolling``: a two-factor enrolment endpoint (an enrolment token may call it)."""
        principal = self.access.doorkeeper(self.accounts, self.keys).authenticate(
            request.headers.get("Authorization"), utc_now(), enrolling)
        return principal if allow is None else principal.require(allow)
