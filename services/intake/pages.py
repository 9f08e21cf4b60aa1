"""The worker app: a small mobile web page served by intake, in the workers' languages.

Report a grievance; later, with the case reference and the receipt, check its status,
add a message, answer the validation question or withdraw. Each act is the same use
case as the JSON door's (services/intake/handlers.py), with its rules: the receipt
proves the case, failed tries lock out, an outage answers 503. The receipt travels
only in POST bodies and is shown once, on the page that answers the report. No
script: plain forms, usable without JavaScript. Mixed into IntakeService.
"""
from __future__ import annotations

from werkzeug.wrappers import Response

from services.intake import handlers
from shared.page_http import (
    CSRF_FIELD, CsrfRefused, check_csrf, csrf_token, html, page, read_form, secured, set_csrf_cookie,
)
from services.intake.page_views import preferred_language, render, static_file
from services.intake.schemas import FollowUp, GrievanceReport, ValidationAnswer, Withdrawal, WorkerProof
from services.intake.texts import LANGUAGES
from shared.contracts.common import Ref, StrictSchema, load
from shared.contracts.events import utc_now
from shared.errors import (
    InvalidInput, InvalidTransition, NotFound, PayloadTooLarge, ServiceUnavailable, TooManyAttempts,
    Unauthorized, UnsupportedMediaType,
)
from shared.failures import as_unavailable
from shared.logging import get_logger

log = get_logger(__name__)
APP = "/app/<string:lang>"
CASE_ACTIONS = ("status", "message", "answer", "withdraw")
RENAMED = {("message", "text"): "message", ("answer", "text"): "answer_text"}   # (act, schema field): form field
# Refusals a worker can act on, each with its own message on the page.
SHOWN = {Unauthorized: "receipt", TooManyAttempts: "wait", InvalidInput: "fields", ServiceUnavailable: "unavailable",
         InvalidTransition: "state", CsrfRefused: "resend", PayloadTooLarge: "size", UnsupportedMediaType: "resend"}


class CaseRef(StrictSchema):
    case_ref = Ref(required=True)


class WorkerPages:
    """The worker app's routes, under /app (mixed into IntakeService)."""

    @page("GET", "/app")
    def app_start(self, request):
        """Choose the language; the browser's Accept-Language preselects one."""
        return html(render("start.html", preferred_language(request)))

    @page("GET", "/app/static/<string:name>")
    def app_static(self, request, name):
        body = static_file(name)
        if body is None or not name.endswith(".css"):
            raise NotFound(name)
        return secured(Response(body, mimetype="text/css"), cache="public, max-age=3600")

    @page("GET", APP)
    def app_home(self, request, lang):
        return html(render("home.html", _language(lang)))

    @page("GET", f"{APP}/report")
    def app_report_form(self, request, lang):
        return _form_page(request, "report.html", _language(lang), {})

    @page("POST", f"{APP}/report")
    def app_report(self, request, lang):
        """Report through the JSON door's use case; the answer shows the receipt once."""
        lang, form = _language(lang), {}
        try:
            form = read_form(request)
            check_csrf(request, form)
            report = load(GrievanceReport, report_of(form, lang))
            grievance, receipt = handlers.submit_grievance(self.grievances, self.vault, self.receipts, report,
                                                           utc_now())
        except Exception as exc:
            return _refused(request, "report.html", lang, form, exc)
        log.info("worker_page_report", severity=grievance.severity)
        return html(render("reported.html", lang, case_ref=grievance.case_ref, receipt=receipt,
                           retaliation=grievance.retaliation))

    @page("GET", f"{APP}/case")
    def app_case_form(self, request, lang):
        return _form_page(request, "case.html", _language(lang), {})

    @page("POST", f"{APP}/case")
    def app_case(self, request, lang):
        """One act on the worker's case, chosen by the button pressed (``action``)."""
        lang, form = _language(lang), {}
        try:
            form = read_form(request)
            check_csrf(request, form)
            case_ref, action = _case_ref(form), form.get("action")
            if action not in CASE_ACTIONS:
                raise InvalidInput({"action": ["unknown action"]})
            try:
                done = self._act(action, case_ref, form, request.remote_addr)
            except InvalidInput as exc:     # name the page's field, not the schema's
                raise InvalidInput({RENAMED.get((action, k), k): v for k, v in exc.errors.items()}) from None
        except Exception as exc:
            return _refused(request, "case.html", lang, form, exc)
        log.info("worker_page_case_act", action=action)
        kept = {"case_ref": case_ref}       # the next act needs the reference again, never the receipt
        return _form_page(request, "case.html", lang, kept, done=done, action=action)

    def _act(self, action: str, case_ref: str, form: dict, source: str) -> dict:
        now, receipt = utc_now(), form.get("receipt", "")
        flagged = form.get(f"{action}_retaliation") == "yes"     # each act has its own checkbox
        if action == "status":
            return handlers.case_status(self.grievances, self.receipts, self.caller, self.remediation, case_ref,
                                        load(WorkerProof, {"receipt": receipt}), source, now)
        if action == "message":
            body = load(FollowUp, {"receipt": receipt, "text": form.get("message", ""), "retaliation": flagged})
            return {"retaliation": handlers.submit_follow_up(self.grievances, self.vault, self.receipts, case_ref,
                                                             body, source, now)}
        if action == "answer":
            body = load(ValidationAnswer, {"receipt": receipt, "answer": form.get("answer", ""),
                                           "text": form.get("answer_text") or None, "retaliation": flagged})
            return {"retaliation": handlers.submit_validation_answer(
                self.grievances, self.vault, self.receipts, case_ref, body, source, now),
                "unsafe": body["answer"] == "unsafe"}
        body = load(Withdrawal, {"receipt": receipt, "reason": form.get("reason", "")})
        return handlers.withdraw(self.grievances, self.receipts, self.caller, self.remediation, case_ref, body,
                                 source, now)


def report_of(form: dict, lang: str) -> dict:
    """The JSON door's report body from the page's form (channel: the worker app)."""
    contact = {k: form[k].strip() for k in ("phone", "line_id") if form.get(k, "").strip()}
    return {"channel": "worker_app", "language": lang, "work_area": form.get("work_area", ""),
            "text": form.get("text", "").strip(), "contact": contact or None,
            "retaliation": form.get("retaliation") == "yes", "consent_to_share_identity": form.get("consent") == "yes"}


def _case_ref(form: dict) -> str:
    return load(CaseRef, {"case_ref": form.get("case_ref", "").strip().upper()})["case_ref"]


def _language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise NotFound(f"no page in {lang!r}")
    return lang


def _form_page(request, template: str, lang: str, values: dict, status: int = 200, **context) -> Response:
    """A form with a fresh CSRF token (cookie + hidden field) and the values to show again."""
    token = csrf_token(request)
    shown = {k: v for k, v in values.items() if k not in ("receipt", CSRF_FIELD)}
    body = render(template, lang, values=shown, csrf=token, **context)
    return set_csrf_cookie(html(body, status), request, token)


def _refused(request, template: str, lang: str, form: dict, exc: Exception) -> Response:
    """The form again, with what went wrong in the worker's language and the HTTP status
    the JSON door would answer; anything unexpected is re-raised (a bare 500)."""
    answer = as_unavailable(exc)
    kind = next((k for cls, k in SHOWN.items() if isinstance(answer, cls)), None)
    if kind is None:
        raise exc
    log.warning("worker_page_refused", kind=kind, error_type=type(exc).__name__)
    fields = sorted(f.split(".")[-1] for f in answer.errors) if kind == "fields" else []
    response = _form_page(request, template, lang, form, answer.http_status, error=kind, fields=fields,
                          wait_minutes=-(-getattr(answer, "retry_after", 0) // 60) if kind == "wait" else 0)
    if getattr(answer, "retry_after", None) is not None:
        response.headers["Retry-After"] = str(answer.retry_after)
    return response
