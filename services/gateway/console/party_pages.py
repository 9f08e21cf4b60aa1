"""The console's party registry pages: the parties a page at a time (by kind), register
one, a party's page with its links (and a partner's derived supply chain), and a form to
link it to a supplier. The /v1/parties use cases as the logged-in member (remediation
decides who may: staff and admins). Mixed into ConsolePages (uses its page plumbing)."""
from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.utils import redirect

from services.gateway.console.forms import given, new_party
from services.gateway.console.page import page
from services.gateway.console.session import ROOT
from shared.contracts.common import AGENCY_SIDES, PARTY_KINDS, PARTY_LINKS
from shared.logging import get_logger
from shared.page_http import check_csrf, read_form

log = get_logger(__name__)
CHOICES = dict(party_kinds=PARTY_KINDS, agency_sides=AGENCY_SIDES, party_links=tuple(PARTY_LINKS))


class PartyPages:
    @page("GET", f"{ROOT}/parties")
    def console_parties(self, request):
        return self._parties_page(request, self._viewer(request))

    @page("POST", f"{ROOT}/parties")
    def console_register_party(self, request):
        who, form = self._viewer(request), {}
        try:
            form = read_form(request)
            check_csrf(request, form)
            party = self.forward_as(who, "POST", "/v1/parties", new_party(form))
        except Exception as exc:
            return self._parties_page(request, who, refusal=exc, form=form)
        log.info("console_party_registered", kind=party["kind"])
        return redirect(f"{ROOT}/parties/{party['ref']}?done=registered", 303)

    def _parties_page(self, request, who, refusal=None, **context):
        kind = given(request.args, "kind")
        try:
            listed = self.forward_as(who, "GET", "/v1/parties", {"limit": "50", **kind,
                                                                 **given(request.args, "after")})
        except Exception as exc:
            return self._refused(request, who, "parties.html", refusal or exc, parties=[], kind=kind, **CHOICES,
                                 **context)
        more = f"{ROOT}/parties?{urlencode({**kind, 'after': listed['next']})}" if listed["next"] else None
        context.setdefault("form", {})
        return self._answer(request, who, "parties.html", refusal, parties=listed["items"], kind=kind, more=more,
                            **CHOICES, **context)

    @page("GET", f"{ROOT}/parties/<string:ref>")
    def console_party(self, request, ref):
        return self._party_page(request, self._viewer(request), ref, done=request.args.get("done"))

    @page("POST", f"{ROOT}/parties/<string:ref>/links")
    def console_link_party(self, request, ref):
        """``ref`` --link--> a supplier (POST /v1/parties/<ref>/links)."""
        who = self._viewer(request)
        try:
            form = read_form(request)
            check_csrf(request, form)
            self.forward_as(who, "POST", f"/v1/parties/{ref}/links", {"link": form.get("link", ""),
                                                                     "to_ref": form.get("to_ref", "").strip()})
        except Exception as exc:
            return self._party_page(request, who, ref, refusal=exc)
        return redirect(f"{ROOT}/parties/{ref}?done=linked", 303)

    def _party_page(self, request, who, ref, refusal=None, **context):
        try:
            party = self.forward_as(who, "GET", f"/v1/parties/{ref}", {})
        except Exception as exc:
            return self._refused(request, who, "party.html", refusal or exc, party=None)
        links = [link for link, (source, _) in PARTY_LINKS.items() if source == party["kind"]]
        return self._answer(request, who, "party.html", refusal, party=party, links=links, **context)
