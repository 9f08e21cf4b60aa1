"""The console's pages for a shift and a team: saved views (with their counts on the
home page), a view's cases with its bulk actions and export, the deadlines board, the
hand-over of one person's cases, and a case's access log (admins). Each acts as the
logged-in member through ``forward_as`` (the /v1 route table), so remediation decides
scope; the export is built here from its answer as GET /v1/view-exports builds it.
Mixed into ConsolePages (uses its page plumbing)."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.gateway import exports
from services.gateway.console.forms import assignee_of, case_filters, given, tag_list
from services.gateway.console.page import page
from services.gateway.console.session import ROOT
from services.gateway.schemas import ViewExportQuery
from shared.contracts.common import load
from shared.errors import NotFound
from shared.logging import get_logger
from shared.page_http import check_csrf, read_form, secured
from shared.rpc import call_within

log = get_logger(__name__)
VIEW = f"{ROOT}/views/<string:name>"
# A view page's bulk forms: the /v1/views/<name> route each posts to, and its body.
VIEW_ACTS = {
    "assignment": assignee_of,
    "tags": lambda f: {"add": tag_list(f.get("add")), "remove": tag_list(f.get("remove"))},
}
EXPORT_FORMATS = ("csv", "xlsx")


def view_url(name: str, **query) -> str:
    return f"{ROOT}/views/{quote(name, safe='')}" + (f"?{urlencode(query)}" if query else "")


class TeamPages:
    # --- saved views ------------------------------------------------------------------
    @page("GET", f"{ROOT}/views")
    def console_views(self, request):
        return self._views_page(request, self._viewer(request))

    @page("POST", f"{ROOT}/views")
    def console_save_view(self, request):
        """The case list's filters kept under a name (POST /v1/views)."""
        who, form = self._viewer(request), {}
        try:
            form = read_form(request)
            check_csrf(request, form)
            saved = self.forward_as(who, "POST", "/v1/views", {"name": form.get("name", "").strip(),
                                                               "filters": case_filters(form)})
        except Exception as exc:
            return self._cases_page(request, who, case_filters(form), refusal=exc, view_name=form.get("name", ""))
        return redirect(view_url(saved["name"]), 303)

    def _views_page(self, request, who, refusal=None):
        try:
            listed = self.forward_as(who, "GET", "/v1/views", {})
        except Exception as exc:
            return self._refused(request, who, "views.html", refusal or exc, views=[])
        return self._answer(request, who, "views.html", refusal, views=listed["items"],
                            done=request.args.get("done"))

    @page("GET", VIEW)
    def console_view(self, request, name):
        return self._view_page(request, self._viewer(request), name)

    @page("POST", f"{VIEW}/<string:act>")
    def console_view_act(self, request, name, act):
        """A bulk form of the view page (assign, tag every case of the view), or its deletion."""
        who = self._viewer(request)
        if act not in VIEW_ACTS and act != "deletion":
            raise NotFound(act)
        try:
            form = read_form(request)
            check_csrf(request, form)
            if act == "deletion":
                self.forward_as(who, "DELETE", f"/v1/views/{name}", {})
                return redirect(f"{ROOT}/views?done=deleted", 303)
            answer = self.forward_as(who, "POST", f"/v1/views/{name}/{act}", VIEW_ACTS[act](form))
        except Exception as exc:
            return self._view_page(request, who, name, refusal=exc)
        log.info("console_view_act", act=act, count=answer.get("assigned", answer.get("tagged")))
        return self._view_page(request, who, name, bulk=answer, act=act)

    def _view_page(self, request, who, name, refusal=None, **context):
        changed_only = request.args.get("changed_only") == "true"
        try:
            listed = self.forward_as(who, "GET", f"/v1/views/{name}/cases", {
                "limit": "25", "changed_only": "true" if changed_only else "false", **given(request.args, "after")})
        except Exception as exc:
            return self._refused(request, who, "view.html", refusal or exc, name=name, cases=[])
        more = view_url(name, changed_only="true" if changed_only else "false",
                        after=listed["next"]) if listed["next"] else None
        context.update(name=listed["view"], cases=listed["items"], changed_only=changed_only, more=more,
                       url=view_url(listed["view"]), export_formats=EXPORT_FORMATS)
        return self._answer(request, who, "view.html", refusal, **context)

    @page("GET", f"{VIEW}/export")
    def console_export_view(self, request, name):
        """The view's cases as a file, as GET /v1/view-exports makes it (each case's access log records it)."""
        who = self._viewer(request)
        query = load(ViewExportQuery, {"name": name, "format": request.args.get("format", "csv")})
        self.caller.vouch(who)
        export = call_within(self.access.settings.gateway_rpc_timeout, self.remediation.export_view,
                             {"name": query["name"]})
        log.info("console_view_exported", rows=len(export["rows"]))
        data, headers = exports.view_download(export, query["format"])
        return secured(Response(data, status=200, headers=headers))

    # --- the deadlines board --------------------------------------------------------------
    @page("GET", f"{ROOT}/deadlines")
    def console_deadlines(self, request):
        who = self._viewer(request)
        hours, mine = request.args.get("hours", "").strip() or "24", request.args.get("mine") == "true"
        query = {"hours": hours, **({"assignee": who.id} if mine else {})}
        try:
            board = self.forward_as(who, "GET", "/v1/deadlines", query)
        except Exception as exc:
            return self._refused(request, who, "deadlines.html", exc, items=[], hours=hours, mine=mine)
        return self._show(request, who, "deadlines.html", items=board["items"], more=board["more"], hours=hours,
                          mine=mine, as_of=board["as_of"])

    # --- the team: hand over one person's cases -----------------------------------------
    @page("GET", f"{ROOT}/team")
    def console_team(self, request):
        return self._show(request, self._viewer(request), "team.html", form={})

    @page("POST", f"{ROOT}/team/hand-over")
    def console_hand_over(self, request):
        who, form = self._viewer(request), {}
        try:
            form = read_form(request)
            check_csrf(request, form)
            moved = self.forward_as(who, "POST", "/v1/case-hand-overs", {
                k: form.get(k, "").strip().lower() for k in ("from_assignee", "to_assignee")})
        except Exception as exc:
            return self._refused(request, who, "team.html", exc, form=form)
        log.info("console_hand_over", count=moved["moved"])
        return self._show(request, who, "team.html", form={}, moved=moved)

    # --- a case's access log (admins) ---------------------------------------------------
    @page("GET", f"{ROOT}/access-log")
    def console_access_log_search(self, request):
        """Admins find a case's log by its reference (they have no case list)."""
        who = self._viewer(request)
        ref = request.args.get("ref", "").strip().upper()
        if ref:
            return redirect(f"{ROOT}/cases/{quote(ref, safe='')}/access-log", 303)
        return self._show(request, who, "access_log.html", case_ref=None, entries=[])

    @page("GET", f"{ROOT}/cases/<string:case_ref>/access-log")
    def console_access_log(self, request, case_ref):
        who = self._viewer(request)
        try:
            log_page = self.forward_as(who, "GET", f"/v1/cases/{case_ref}/access-log", {
                "limit": "100", **given(request.args, "after")})
        except Exception as exc:
            return self._refused(request, who, "access_log.html", exc, case_ref=case_ref, entries=[])
        more = (f"{ROOT}/cases/{case_ref}/access-log?{urlencode({'after': log_page['next']})}"
                if log_page["next"] else None)
        return self._show(request, who, "access_log.html", case_ref=case_ref, entries=log_page["items"], more=more)
