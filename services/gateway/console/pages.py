"""The case workers' console: server-rendered pages on the gateway (mixed into
GatewayService), under /console.

Every page acts as the logged-in staff member through the /v1 API's own forwarding
path (``GatewayService.forward_as``: the route table, a signed actor token, the
owning service's RPC), so the owner decides scope exactly as for an API call; the
page only shows what it was given and offers the steps the case's state allows for
the viewer's role (the owner refuses any other anyway). No script: plain forms with
a CSRF token each, the worker page's strict headers (shared/page_http.py), and the
worker's words only on the answer to a reveal with a reason (never stored, never
cached). Businesses and partners have no console login: their portal (portal_pages.py) takes their
API key.
"""
from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.gateway import handlers
from services.gateway.console.forms import (
    NOTE_SCOPES, assignee_of, case_filters, given as _given, lease_held_by, tag_list,
)
from services.gateway.console.key_pages import KeyPages
from services.gateway.console.page import page
from services.gateway.console.party_pages import PartyPages
from services.gateway.console.portal_pages import PortalPages
from services.gateway.console.session import PORTAL, ROOT, bearer, end_session, keep_session, over_https
from services.gateway.console.team_pages import TeamPages
from services.gateway.console.views import LANG_COOKIE, LANGUAGES, STATIC, language_of, render
from services.gateway.schemas import Login
from services.remediation.domain import STEPS
from shared.contracts.common import SAFEGUARDING_ROLES, STAFF_ROLES, Ref, StrictSchema, load
from shared.contracts.events import iso, utc_now
from shared.errors import (
    Forbidden, InvalidInput, InvalidTransition, NotFound, PayloadTooLarge, ServiceUnavailable, TooManyAttempts,
    Unauthorized, UnsupportedMediaType,
)
from shared.failures import as_unavailable
from shared.logging import get_logger
from shared.page_http import CsrfRefused, check_csrf, csrf_token, html, read_form, secured, set_csrf_cookie
from shared.page_views import static_file

log = get_logger(__name__)
CONSOLE_ROLES = handlers.KEY_ISSUERS          # staff and admins; never a business or partner
CASE_STEPS = ("triage", "refer", "accept_plan", "return_plan")
# The case page's forms: the /v1 route each posts to, and how its fields become the body.
ACTS = {
    "triage": lambda f: _given(f, "severity", "work_area", "note"),
    "referral": lambda f: _given(f, "business_ref", "business_type"),
    "plan-acceptance": lambda f: _given(f, "note"),
    "plan-return": lambda f: {"reasons": [line.strip() for line in f.get("reasons", "").splitlines() if line.strip()]},
    "identity-reveals": lambda f: {"reason": f.get("reason", "")},
    "assignment": assignee_of,
    "tags": lambda f: {"add": tag_list(f.get("add")), "remove": tag_list(f.get("remove"))},
    "notes": lambda f: {"scope": f.get("scope", ""), "text": f.get("text", "").strip()},
    "worker-messages": lambda f: {"text": f.get("text", "").strip()},
    "lease": lambda f: {"force": True},          # "take over editing": on the case's trail
    "validation/answers": lambda f: _given(f, "worker_key", "answer", "note"),   # a visit's answer
    "other-channels": lambda f: _given(f, "channel", "note"),
}
# Forms that edit nothing on the case (a read; the lease itself): the others take the edit lease first.
UNLEASED = frozenset({"identity-reveals", "lease"})
# Answers shown on the page that answers the form (not a redirect): a reveal (never kept), where a note went.
SHOWN_ANSWERS = {"identity-reveals": "revealed", "worker-messages": "sent"}
# Refusals shown on the page (with the owner's own words), in this order (CsrfRefused is a Forbidden).
SHOWN = ((CsrfRefused, "resend"), (UnsupportedMediaType, "resend"), (PayloadTooLarge, "size"),
         (InvalidInput, "fields"), (Forbidden, "forbidden"), (InvalidTransition, "state"), (NotFound, "missing"),
         (TooManyAttempts, "wait"), (ServiceUnavailable, "unavailable"))


class CaseRef(StrictSchema):
    case_ref = Ref(required=True)


class ConsolePages(KeyPages, TeamPages, PartyPages, PortalPages):
    """Mixed into GatewayService (uses its accounts, keys, access and forward_as)."""

    @page("GET", ROOT)
    def console_home(self, request):
        """Staff: their saved views with counts (views_page); admins: the API keys."""
        who = self._viewer(request)
        if who.role not in STAFF_ROLES:
            return redirect(_start(who), 303)
        return self._views_page(request, who)

    @page("GET", f"{ROOT}/static/<string:name>")
    def console_static(self, request, name):
        body = static_file(STATIC, name)
        if body is None or not name.endswith(".css"):
            raise NotFound(name)
        return secured(Response(body, mimetype="text/css"), cache="public, max-age=3600")

    # --- login, logout ------------------------------------------------------------------
    @page("GET", f"{ROOT}/login")
    def console_login_form(self, request):
        return self._show(request, None, "login.html")

    @page("POST", f"{ROOT}/login")
    def console_login(self, request):
        """POST /v1/auth/login's own use case (handlers.login): its limits, its refusal."""
        form = {}
        try:
            form = read_form(request)
            check_csrf(request, form)
            body = load(Login, {"username": form.get("username", ""), "password": form.get("password", ""),
                                **({"otp": form["otp"]} if form.get("otp") else {})})
            s = self.access.settings
            # The same second factor as POST /v1/auth/login: codes, and the admins' mandatory rule.
            token = handlers.login(self.accounts, self.access.staff_tokens, self.access.limits, s.login_rate_limit,
                                   body, request.remote_addr, self.access.second_factor(self.policies, utc_now()))
            who = self.access.doorkeeper(self.accounts, self.keys).authenticate(
                f"Bearer {token['access_token']}", utc_now()).require(CONSOLE_ROLES)
        except Unauthorized:        # the same words for an unknown account, a wrong password, a deactivated one
            return self._show(request, None, "login.html", 401, error="login", username=form.get("username", ""))
        except Exception as exc:
            return self._refused(request, None, "login.html", exc, username=form.get("username", ""))
        log.info("console_login", role=who.role)
        return keep_session(redirect(_start(who), 303), token, self._https(request))

    @page("POST", f"{ROOT}/logout")
    def console_logout(self, request):
        check_csrf(request, read_form(request))
        return end_session(redirect(f"{ROOT}/login", 303), self._https(request))

    # --- the safeguarding queue ---------------------------------------------------------
    @page("GET", f"{ROOT}/alerts")
    def console_alerts(self, request):
        who = self._viewer(request)
        return self._alerts_page(request, who)

    @page("POST", f"{ROOT}/alerts/<string:alert_id>/acknowledgement")
    def console_acknowledge_alert(self, request, alert_id):
        who = self._viewer(request)
        try:
            form = read_form(request)
            check_csrf(request, form)
            self.forward_as(who, "POST", f"/v1/safeguarding/alerts/{alert_id}/acknowledgement", _given(form, "note"))
        except Exception as exc:
            return self._alerts_page(request, who, refusal=exc)
        return redirect(f"{ROOT}/alerts?done=acknowledged", 303)

    def _alerts_page(self, request, who, refusal=None):
        query = _given(request.args, "after")
        try:
            listed = self.forward_as(who, "GET", "/v1/safeguarding/alerts", {"limit": "50", **query})
        except Exception as exc:
            return self._refused(request, who, "alerts.html", exc, alerts=[])
        # Oldest first, as the owner answers; retaliation before other concerns of the page.
        alerts = sorted(listed["items"], key=lambda a: a.get("kind") != "retaliation")
        context = dict(alerts=alerts, next=listed["next"], can_acknowledge=who.role in SAFEGUARDING_ROLES,
                       done=request.args.get("done"))
        return self._answer(request, who, "alerts.html", refusal, **context)

    # --- the case list ------------------------------------------------------------------
    @page("GET", f"{ROOT}/cases")
    def console_cases(self, request):
        who = self._viewer(request)
        wanted = request.args.get("ref", "").strip().upper()
        if wanted:
            try:
                return redirect(f"{ROOT}/cases/{load(CaseRef, {'case_ref': wanted})['case_ref']}", 303)
            except Exception as exc:
                return self._refused(request, who, "cases.html", exc, cases=[], filters={}, ref=wanted)
        return self._cases_page(request, who, case_filters(request.args))

    def _cases_page(self, request, who, filters: dict, refusal=None, **context):
        try:
            listed = self.forward_as(who, "GET", "/v1/cases", {"limit": "25", **filters,
                                                               **_given(request.args, "after")})
        except Exception as exc:
            return self._refused(request, who, "cases.html", refusal or exc, cases=[], filters=filters, **context)
        more = f"{ROOT}/cases?{urlencode({**filters, 'after': listed['next']})}" if listed["next"] else None
        return self._answer(request, who, "cases.html", refusal, cases=listed["items"], filters=filters, more=more,
                            **context)

    # --- the case page ------------------------------------------------------------------
    @page("GET", f"{ROOT}/cases/<string:case_ref>")
    def console_case(self, request, case_ref):
        who = self._viewer(request)
        return self._case_page(request, who, case_ref, done=request.args.get("done"))

    @page("POST", f"{ROOT}/cases/<string:case_ref>/<path:act>")
    def console_case_act(self, request, case_ref, act):
        """One of the case page's forms, posted to its /v1 route as the viewer."""
        who = self._viewer(request)
        if act not in ACTS:
            raise NotFound(act)
        try:
            form = read_form(request)
            check_csrf(request, form)
            if act not in UNLEASED:     # an edit: only by the lease's holder (409 naming another)
                self.forward_as(who, "POST", f"/v1/cases/{case_ref}/lease", {})
            answer = self.forward_as(who, "POST", f"/v1/cases/{case_ref}/{act}", ACTS[act](form))
        except Exception as exc:
            return self._case_page(request, who, case_ref, refusal=exc, act=act)
        log.info("console_case_act", act=act)
        if act in SHOWN_ANSWERS:      # shown on this answer only (no-store), never kept
            return self._case_page(request, who, case_ref, **{SHOWN_ANSWERS[act]: answer})
        return redirect(f"{ROOT}/cases/{case_ref}?done={act}", 303)

    def _case_page(self, request, who, case_ref, refusal=None, **context):
        try:
            if who.role in STAFF_ROLES:   # opening the case takes (renews) the edit lease, unless another holds it
                self._take_lease(who, case_ref)
            case = self.forward_as(who, "GET", f"/v1/cases/{case_ref}", {})
        except Exception as exc:     # the form's own refusal first (a CSRF failure stays a 403)
            return self._refused(request, who, "case.html", refusal or exc, case=None)
        steps = [s for s in CASE_STEPS if case["status"] in STEPS[s].sources and who.role in STEPS[s].roles]
        context.update(case=case, steps=steps, can_reveal=who.role in STAFF_ROLES, note_scopes=NOTE_SCOPES,
                       held=lease_held_by(case, who.id, iso(utc_now())), affected=self._affected(who, case),
                       speakers=self._speakers(who, case))
        return self._answer(request, who, "case.html", refusal, **context)

    def _speakers(self, who, case) -> list[str]:
        """Colleagues working in the worker's language: whom to assign the case to (the
        gateway keeps the staff accounts)."""
        if who.role not in STAFF_ROLES or not case.get("language"):
            return []
        found = handlers.list_staff(self.accounts, {"language": case["language"], "role": None})["items"]
        return [s["username"] for s in found]

    def _affected(self, who, case) -> list[str]:
        """The affected workers' keys (pseudonyms) while their answers are asked: the
        visit answer's choices (validation decides whether a round is open)."""
        if who.role not in STAFF_ROLES or case["status"] != "validating":
            return []
        try:
            rounds = self.forward_as(who, "GET", f"/v1/cases/{case['case_ref']}/validation", {})
        except NotFound:
            return []
        return [a["worker_key"] for a in rounds.get("affected", ())]

    def _take_lease(self, who, case_ref) -> None:
        try:
            self.forward_as(who, "POST", f"/v1/cases/{case_ref}/lease", {})
        except InvalidTransition:      # another member holds it: the page says who, until when
            pass

    # --- webhook endpoints and an endpoint's delivery log --------------------------------
    @page("GET", f"{ROOT}/webhooks")
    def console_webhook_log(self, request):
        """The endpoints (each linked to its log), or the delivery log of one endpoint by its
        id (notifications decides who may read which)."""
        who = self._viewer(request)
        wanted = _given(request.args, "subscription_id", "after")
        if "subscription_id" not in wanted:
            return self._webhooks_page(request, who, wanted)
        try:
            listed = self.forward_as(who, "GET", f"/v1/webhooks/{wanted.pop('subscription_id')}/deliveries",
                                     {"limit": "50", **wanted})
        except Exception as exc:
            return self._refused(request, who, "webhooks.html", exc, deliveries=[], wanted=_given(
                request.args, "subscription_id"))
        shown = _given(request.args, "subscription_id")
        more = f"{ROOT}/webhooks?{urlencode({**shown, 'after': listed['next']})}" if listed["next"] else None
        return self._show(request, who, "webhooks.html", deliveries=listed["items"], more=more, wanted=shown)

    def _webhooks_page(self, request, who, query: dict):
        try:
            listed = self.forward_as(who, "GET", "/v1/webhooks", {"limit": "50", **query})
        except Exception as exc:
            return self._refused(request, who, "webhooks.html", exc, endpoints=[], deliveries=[], wanted={})
        more = f"{ROOT}/webhooks?{urlencode({'after': listed['next']})}" if listed["next"] else None
        return self._show(request, who, "webhooks.html", endpoints=listed["items"], deliveries=[], more=more,
                          wanted={})

    # --- plumbing -----------------------------------------------------------------------
    def _viewer(self, request):
        """The logged-in staff member (Unauthorized: to the login page)."""
        principal = self.access.doorkeeper(self.accounts, self.keys).authenticate(bearer(request), utc_now())
        if principal.role not in CONSOLE_ROLES:
            raise Unauthorized("the console is for staff")
        return principal

    def _https(self, request) -> bool:
        return over_https(request, self.access.settings.console_https_proxy)

    def _show(self, request, who, template: str, status: int = 200, **context) -> Response:
        """A page with a fresh CSRF token; a logged-in viewer's session renewed (idle expiry).
        The portal's pages (under PORTAL) keep their cookies on their own path."""
        lang, token, secure = language_of(request), csrf_token(request), self._https(request)
        root = PORTAL if request.path.startswith(PORTAL) else ROOT
        body = render(template, lang, who=who, csrf=token, path=request.path, root=root, **context)
        response = set_csrf_cookie(html(body, status), request, token, path=root, secure=secure)
        if who is not None and root == PORTAL:
            self._keep_portal_session(response, who, secure)
        elif who is not None:
            keep_session(response, self.access.staff_tokens.issue(who.id, who.role), secure)
        if request.args.get("lang") in LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=root, httponly=True,
                                samesite="Strict", secure=secure)
        return response

    def _answer(self, request, who, template: str, refusal: Exception | None, **context) -> Response:
        """The page; with what was refused (a form's post) when there was a refusal."""
        if refusal is not None:
            return self._refused(request, who, template, refusal, **context)
        return self._show(request, who, template, **context)

    def _refused(self, request, who, template: str, exc: Exception, **context) -> Response:
        """The page again with what went wrong and the status the API would answer;
        not logged in any more: the login page; anything unexpected re-raised (500)."""
        answer = as_unavailable(exc)
        if isinstance(answer, Unauthorized):
            raise answer
        kind = next((k for cls, k in SHOWN if isinstance(answer, cls)), None)
        if kind is None:
            raise exc
        log.warning("console_refused", kind=kind, error_type=type(exc).__name__)
        fields = sorted(answer.errors) if kind == "fields" else []
        response = self._show(request, who, template, answer.http_status, error=kind, fields=fields,
                              detail=str(answer) if kind in ("forbidden", "state", "missing") else "", **context)
        if getattr(answer, "retry_after", None) is not None:
            response.headers["Retry-After"] = str(answer.retry_after)
        return response


def _start(who) -> str:
    """Where a member starts: staff at the queue; admins (no case work) at the API keys."""
    return f"{ROOT}/alerts" if who.role in STAFF_ROLES else f"{ROOT}/keys"
