"""The business and partner portal (issue 13), under /portal: a supplier, agency or
partner logs in by pasting its API key, sees only the cases of its scope and takes
the steps their state allows for its role (a business: acknowledge, submit a plan,
record an action's progress with evidence metadata, report remediation; a partner
reads its chain's cases and scorecards).

The key is checked at login by the gateway's doorkeeper exactly as on the /v1 API,
then forgotten: the session cookie (HttpOnly, SameSite=Strict, Path=/portal, renewed
each page for STAFF_TOKEN_TTL) holds a short signed token naming the key's id, and
every page checks that key again (doorkeeper.portal), so a revoked key is out at its
next request. Every page acts as that principal through ``forward_as``: remediation
decides scope and redaction (a business view). Mixed into ConsolePages (its page
plumbing: _show, _refused, the CSRF token, the texts)."""
from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.utils import redirect

from services.gateway.console.forms import PLAN_ROWS, action_update, given, plan_actions, remediation_report
from services.gateway.console.page import portal_page
from services.gateway.console.session import PORTAL, PORTAL_COOKIE, end_session, keep_session, session_token
from services.gateway.credentials import KEY_PREFIX
from services.gateway.doorkeeper import PORTAL_SCOPE
from services.remediation.domain import STEPS
from services.remediation.plan import BUSINESS_UPDATES_IN
from shared.contracts.common import BUSINESS_ROLES, PARTNER_ROLES, REMEDY_ACTION_TYPES, Ref, StrictSchema, load
from shared.contracts.events import utc_now
from shared.errors import NotFound, Unauthorized
from shared.logging import get_logger
from shared.page_http import check_csrf, read_form

log = get_logger(__name__)
PORTAL_ROLES = BUSINESS_ROLES + PARTNER_ROLES
# The case page's forms: the step each is (its state and roles in remediation's STEPS),
# the /v1/cases/<ref>/... route it posts to, and how its fields become the body.
PORTAL_ACTS = {
    "acknowledgement": ("acknowledge", lambda f: given(f, "note")),
    "plan": ("submit_plan", plan_actions),
    "remediation-reports": ("report_remediation", remediation_report),
}
ACTION_STATUSES = ("planned", "in_progress", "done")


class ActionRef(StrictSchema):
    action_id = Ref(required=True)


def portal_steps(role: str, status: str) -> list[str]:
    """The forms a case's page offers this role in this state (the owner refuses any other anyway)."""
    acts = [act for act, (step, _) in PORTAL_ACTS.items() if status in STEPS[step].sources and role in STEPS[step].roles]
    return acts + (["actions"] if role in BUSINESS_ROLES and status in BUSINESS_UPDATES_IN else [])


class PortalPages:
    @portal_page("GET", PORTAL)
    def portal_home(self, request):
        self._party(request)
        return redirect(f"{PORTAL}/cases", 303)

    # --- login, logout ------------------------------------------------------------------
    @portal_page("GET", f"{PORTAL}/login")
    def portal_login_form(self, request):
        return self._show(request, None, "portal_login.html")

    @portal_page("POST", f"{PORTAL}/login")
    def portal_login(self, request):
        """The pasted key, checked as the /v1 API checks it (never logged, never in a URL)."""
        try:
            form = read_form(request)
            check_csrf(request, form)
            self.access.limits.hit(self.access.settings.login_rate_limit, f"login:source:{request.remote_addr}")
            key = form.get("api_key", "").strip()
            if not key.startswith(KEY_PREFIX):       # a staff token is no key: the console is theirs
                raise Unauthorized("not an API key")
            who = self.access.doorkeeper(self.accounts, self.keys).authenticate(f"Bearer {key}", utc_now())
            who.require(PORTAL_ROLES)
        except Unauthorized:
            return self._show(request, None, "portal_login.html", 401, error="key")
        except Exception as exc:
            return self._refused(request, None, "portal_login.html", exc)
        log.info("portal_login", role=who.role)
        return self._keep_portal_session(redirect(f"{PORTAL}/cases", 303), who, self._https(request))

    @portal_page("POST", f"{PORTAL}/logout")
    def portal_logout(self, request):
        check_csrf(request, read_form(request))
        return end_session(redirect(f"{PORTAL}/login", 303), self._https(request), PORTAL, PORTAL_COOKIE)

    # --- the cases of the party's scope -------------------------------------------------
    @portal_page("GET", f"{PORTAL}/cases")
    def portal_cases(self, request):
        who = self._party(request)
        filters = given(request.args, "status")
        try:
            listed = self.forward_as(who, "GET", "/v1/cases", {"limit": "25", **filters,
                                                               **given(request.args, "after")})
        except Exception as exc:
            return self._refused(request, who, "portal_cases.html", exc, cases=[], filters=filters)
        more = f"{PORTAL}/cases?{urlencode({**filters, 'after': listed['next']})}" if listed["next"] else None
        return self._show(request, who, "portal_cases.html", cases=listed["items"], filters=filters, more=more)

    @portal_page("GET", f"{PORTAL}/cases/<string:case_ref>")
    def portal_case(self, request, case_ref):
        return self._portal_case(request, self._party(request), case_ref, done=request.args.get("done"))

    @portal_page("POST", f"{PORTAL}/cases/<string:case_ref>/<string:act>")
    def portal_case_act(self, request, case_ref, act):
        """One of the case page's forms, posted to its /v1 route as the party."""
        who = self._party(request)
        if act not in PORTAL_ACTS:
            raise NotFound(act)
        try:
            form = read_form(request)
            check_csrf(request, form)
            self.forward_as(who, "POST", f"/v1/cases/{case_ref}/{act}", PORTAL_ACTS[act][1](form))
        except Exception as exc:
            return self._portal_case(request, who, case_ref, refusal=exc, act=act)
        log.info("portal_case_act", act=act)
        return redirect(f"{PORTAL}/cases/{case_ref}?done={act}", 303)

    @portal_page("POST", f"{PORTAL}/cases/<string:case_ref>/actions/<string:action_id>")
    def portal_update_action(self, request, case_ref, action_id):
        """An action's progress: status, note, one evidence file's metadata (the file stays with the business)."""
        who = self._party(request)
        try:
            form = read_form(request)
            check_csrf(request, form)
            action_id = load(ActionRef, {"action_id": action_id})["action_id"]
            self.forward_as(who, "POST", f"/v1/cases/{case_ref}/actions/{action_id}", action_update(form))
        except Exception as exc:
            return self._portal_case(request, who, case_ref, refusal=exc, act="actions")
        log.info("portal_case_act", act="update_action")
        return redirect(f"{PORTAL}/cases/{case_ref}?done=actions", 303)

    def _portal_case(self, request, who, case_ref, refusal=None, **context):
        try:
            case = self.forward_as(who, "GET", f"/v1/cases/{case_ref}", {})
        except Exception as exc:
            return self._refused(request, who, "portal_case.html", refusal or exc, case=None)
        context.update(case=case, steps=portal_steps(who.role, case["status"]), plan_rows=range(1, PLAN_ROWS + 1),
                       action_types=REMEDY_ACTION_TYPES, action_statuses=ACTION_STATUSES)
        return self._answer(request, who, "portal_case.html", refusal, **context)

    # --- a partner's chain scorecards ---------------------------------------------------
    @portal_page("GET", f"{PORTAL}/scorecards")
    def portal_scorecards(self, request):
        who = self._party(request)
        try:
            cards = self.forward_as(who, "GET", "/v1/scorecards", {})
        except Exception as exc:
            return self._refused(request, who, "portal_scorecards.html", exc, items=[])
        return self._show(request, who, "portal_scorecards.html", items=cards["items"],
                          computed_at=cards["computed_at"])

    # --- plumbing -----------------------------------------------------------------------
    def _party(self, request):
        """The logged-in supplier, agency or partner (Unauthorized: to the portal's login page)."""
        who = self.access.doorkeeper(self.accounts, self.keys).portal(session_token(request, PORTAL_COOKIE),
                                                                       utc_now())
        if who.role not in PORTAL_ROLES:
            raise Unauthorized("the portal is for businesses and partners")
        return who

    def _keep_portal_session(self, response, who, secure: bool):
        """The session token: the key's id, renewed for another STAFF_TOKEN_TTL."""
        token = self.access.staff_tokens.issue(who.key_id, who.role, scope=PORTAL_SCOPE)
        return keep_session(response, token, secure, PORTAL, PORTAL_COOKIE)
