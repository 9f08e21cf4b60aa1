"""The console's API keys page: list (with last use), issue (the key shown on that
answer only, never again), revoke. The same use cases and the same door check as
/v1/api-keys (services/gateway/handlers.py, KEY_ISSUERS), as the logged-in member.
Mixed into ConsolePages (uses its page plumbing)."""
from __future__ import annotations

from werkzeug.utils import redirect

from services.gateway import handlers
from services.gateway.console.page import page
from services.gateway.console.session import ROOT
from services.gateway.schemas import KeyIdPath, KeyPage, NewApiKey
from shared.contracts.common import BUSINESS_ROLES, PARTNER_ROLES, load
from shared.contracts.events import utc_now
from shared.logging import get_logger
from shared.page_http import check_csrf, read_form

log = get_logger(__name__)
KEY_ROLES = BUSINESS_ROLES + PARTNER_ROLES


class KeyPages:
    @page("GET", f"{ROOT}/keys")
    def console_keys(self, request):
        return self._keys_page(request, self._viewer(request))

    @page("POST", f"{ROOT}/keys")
    def console_issue_key(self, request):
        who, form = self._viewer(request), {}
        try:
            form = read_form(request)
            check_csrf(request, form)
            body = load(NewApiKey, {k: form.get(k, "").strip() for k in ("party_ref", "role", "label")})
            issued = handlers.issue_key(self.keys, who.require(handlers.KEY_ISSUERS).actor, body, utc_now())
        except Exception as exc:
            return self._keys_page(request, who, refusal=exc, form=form)
        log.info("console_key_issued", party_role=issued["role"])
        return self._keys_page(request, who, issued=issued)

    @page("POST", f"{ROOT}/keys/<string:key_id>/revocation")
    def console_revoke_key(self, request, key_id):
        who = self._viewer(request)
        try:
            check_csrf(request, read_form(request))
            key_id = load(KeyIdPath, {"key_id": key_id})["key_id"]
            handlers.revoke_key(self.keys, who.require(handlers.KEY_ISSUERS).actor, key_id, utc_now())
        except Exception as exc:
            return self._keys_page(request, who, refusal=exc)
        return redirect(f"{ROOT}/keys?done=revoked", 303)

    def _keys_page(self, request, who, refusal=None, **context):
        try:
            page = load(KeyPage, {k: v for k, v in request.args.items() if k in ("party_ref", "after") and v})
            listed = handlers.list_keys(self.keys, who.require(handlers.KEY_ISSUERS).actor, page)
        except Exception as exc:
            return self._refused(request, who, "keys.html", refusal or exc, keys=[], key_roles=KEY_ROLES, **context)
        context.update(keys=listed["items"], next=listed["next"], key_roles=KEY_ROLES, done=request.args.get("done"))
        return self._answer(request, who, "keys.html", refusal, **context)
