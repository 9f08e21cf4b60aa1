"""Gateway: the HTTP API for staff, businesses and partners (versioned under /v1).

It authenticates the caller (a staff access token or an API key, doorkeeper.py),
keeps staff accounts and API keys (handlers.py), and forwards everything else to the
service that owns the data as that principal, with a signed actor token (routes.py).
It decides nothing about cases: scope is enforced by their owners.
"""
from nameko.rpc import RpcProxy

from services.gateway import handlers, routes
from services.gateway.access import Access
from services.gateway.credentials import ApiKey, StaffAccount
from services.gateway.schemas import KeyPage, Login, NewApiKey, NewStaffAccount
from services.gateway.store import AccountStore, ApiKeyStore
from shared.caller import Caller
from shared.contracts.common import load
from shared.contracts.events import utc_now
from shared.errors import InvalidInput
from shared.http import json_http, json_response, parse_json, read_json
from shared.rpc import call_within
from shared.service import ServiceBase
from shared.unit_of_work import Aggregates


class GatewayService(ServiceBase):
    name = "gateway"

    accounts = Aggregates(AccountStore, StaffAccount)
    keys = Aggregates(ApiKeyStore, ApiKey)
    access = Access()
    caller = Caller(signs=True)       # vouches for the principal it authenticated
    remediation = RpcProxy("remediation")
    validation = RpcProxy("validation")
    notifications = RpcProxy("notifications")
    intake = RpcProxy("intake")

    # --- the gateway's own: login, staff accounts, API keys -------------------------
    @json_http("POST", "/v1/auth/login")
    def login(self, request):
        s = self.access.settings
        return json_response(200, handlers.login(self.accounts, self.access.staff_tokens, self.access.limits,
                                                 s.login_rate_limit, read_json(request, Login), request.remote_addr))

    @json_http("POST", "/v1/staff")
    def create_staff_account(self, request):
        actor = self._authenticate(request, handlers.ACCOUNT_MAKERS).actor
        return json_response(201, handlers.create_account(self.accounts, actor, read_json(request, NewStaffAccount),
                                                          utc_now()))

    @json_http("POST", "/v1/api-keys")
    def issue_api_key(self, request):
        actor = self._authenticate(request, handlers.KEY_ISSUERS).actor
        return json_response(201, handlers.issue_key(self.keys, actor, read_json(request, NewApiKey), utc_now()))

    @json_http("GET", "/v1/api-keys")
    def list_api_keys(self, request):
        actor = self._authenticate(request, handlers.KEY_ISSUERS).actor
        return json_response(200, handlers.list_keys(self.keys, actor, load(KeyPage, request.args.to_dict())))

    @json_http("DELETE", "/v1/api-keys/<string:key_id>")
    def revoke_api_key(self, request, key_id):
        actor = self._authenticate(request, handlers.KEY_ISSUERS).actor
        return json_response(200, handlers.revoke_key(self.keys, actor, key_id, utc_now()))

    # --- everything else: forwarded to the owner of the data ---------------------------
    @json_http("GET,POST,DELETE", "/v1/<path:rest>")
    def forward(self, request, rest):
        route, variables = routes.resolve(request.method, request.path)
        principal = self._authenticate(request)
        payload = parse_json(request) if request.method == "POST" else request.args.to_dict()
        if not isinstance(payload, dict):
            raise InvalidInput({"_body": ["expected a JSON object"]})
        clash = set(payload) & set(variables)
        if clash:
            raise InvalidInput({name: ["comes from the URL, not the body"] for name in clash})
        self.caller.vouch(principal)
        method = getattr(getattr(self, route.service), route.method)
        return json_response(route.status, call_within(self.access.settings.gateway_rpc_timeout, method,
                                                       {**payload, **variables}))

    @json_http("GET", "/health")
    def health(self, request):
        return json_response(200, {"status": "ok"})

    def _authenticate(self, request, allow=None):
        """The caller's principal (401 otherwise); ``allow``: the roles that may use
        one of the gateway's own endpoints (403 otherwise, before the body is read)."""
        self.ctx.adopt(request.headers.get("X-Correlation-ID"))
        principal = self.access.doorkeeper(self.accounts, self.keys).authenticate(
            request.headers.get("Authorization"), utc_now())
        return principal if allow is None else principal.require(allow)
