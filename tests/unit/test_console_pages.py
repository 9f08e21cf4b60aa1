"""The console's pieces without a server (services/gateway/console): the session
cookie's flags, https behind a trusted proxy only, the forms' bodies, the language
choice, escaping of case text, the Thai catalogue."""
from datetime import datetime, timezone

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from services.gateway.console.forms import (
    NOTE_SCOPES, action_update, assignee_of, case_filters, lease_held_by, new_party, plan_actions, remediation_report,
    tag_list,
)
from services.gateway.console.pages import ACTS
from services.gateway.console.portal_pages import ACTION_STATUSES, portal_steps
from services.gateway.console.session import SESSION_COOKIE, bearer, end_session, keep_session, over_https
from services.gateway.console.views import LOCALE_DIR, age, language_of, render
from services.gateway.exports import view_download
from shared.auth import Principal
from shared.catalogues import read_catalogue
from shared.contracts.common import REMEDY_ACTION_TYPES
from shared.errors import Unauthorized

LEAD = Principal("lena", "safeguarding_lead")
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def request(path="/console/alerts", headers=None, scheme="http") -> Request:
    return Request(EnvironBuilder(path=path, headers=headers or {}, base_url=f"{scheme}://gw.example").get_environ())


def test_the_session_cookie_is_httponly_strict_scoped_and_lives_one_token_ttl():
    cookie = keep_session(Response(), {"access_token": "tok", "expires_in": 900}, secure=True).headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=tok;")
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/console", "Max-Age=900"):
        assert flag in cookie
    assert "Secure" not in keep_session(Response(), {"access_token": "t", "expires_in": 9}, False).headers["Set-Cookie"]
    assert "Max-Age=0" in end_session(Response(), secure=False).headers["Set-Cookie"]


def test_https_is_believed_from_a_forwarded_header_only_behind_the_trusted_proxy():
    forwarded = request(headers={"X-Forwarded-Proto": "https"})
    assert over_https(forwarded, behind_https_proxy=True)
    assert not over_https(forwarded, behind_https_proxy=False)
    assert over_https(request(scheme="https"), behind_https_proxy=False)
    assert not over_https(request(), behind_https_proxy=True)


def test_the_session_is_the_cookie_or_nothing():
    assert bearer(request(headers={"Cookie": f"{SESSION_COOKIE}=abc"})) == "Bearer abc"
    for cookie in ("", f"{SESSION_COOKIE}=", f"{SESSION_COOKIE}={'x' * 5000}"):
        with pytest.raises(Unauthorized):
            bearer(request(headers={"Cookie": cookie} if cookie else {}))


def test_forms_become_the_api_bodies_without_blank_optional_fields():
    assert ACTS["triage"]({"severity": "", "work_area": "working_conditions", "note": "  "}) == {
        "work_area": "working_conditions"}
    assert ACTS["plan-return"]({"reasons": "no amounts\r\n\n  no dates  \n"}) == {"reasons": ["no amounts", "no dates"]}
    assert ACTS["identity-reveals"]({}) == {"reason": ""}          # the owner refuses a blank reason (400)
    assert ACTS["referral"]({"business_ref": " SUP-1 ", "business_type": "supplier", "x": "y"}) == {
        "business_ref": "SUP-1", "business_type": "supplier"}


def test_the_language_comes_from_the_query_then_the_cookie_then_the_browser():
    assert language_of(request("/console/login?lang=th")) == "th"
    assert language_of(request(headers={"Cookie": "ilm_console_lang=th", "Accept-Language": "en"})) == "th"
    assert language_of(request(headers={"Accept-Language": "th-TH,th;q=0.9"})) == "th"
    assert language_of(request("/console/login?lang=xx", headers={"Accept-Language": "de"})) == "en"


def test_case_text_is_escaped_everywhere_it_is_shown():
    case = {"case_ref": "ILM-7K2M9QXR", "status": "received", "severity": "high", "work_area": HOSTILE,
            "supplier_ref": HOSTILE, "opened_at": "2026-11-25T01:00:00Z", "deadlines": {}, "alerts": [],
            "audit": [{"at": "2026-11-25T01:00:00Z", "actor": {"id": HOSTILE, "role": "case_worker"},
                       "action": "triage", "from": "received", "to": "triaged", "detail": {"note": HOSTILE}}]}
    revealed = {"text": HOSTILE, "messages": [{"at": "2026-11-25T02:00:00Z", "text": HOSTILE}],
                "contact": {"name": HOSTILE}, "chat": None}
    for lang in ("en", "th"):
        page = render("case.html", lang, who=LEAD, csrf="t", path="/console/cases/x", case=case,
                      steps=["triage", "refer"], can_reveal=True, revealed=revealed)
        assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page


def test_the_queue_shows_age_and_who_acknowledged_and_a_form_only_to_a_lead():
    alerts = [{"alert_id": "A-1", "case_ref": "ILM-1", "kind": "retaliation", "raised_from": "report",
               "reported_at": "2026-11-25T01:00:00Z", "acknowledged_by": None},
              {"alert_id": "A-2", "case_ref": "ILM-2", "kind": "voice_suppression", "raised_from": "report",
               "reported_at": "2026-11-25T02:00:00Z", "acknowledged_by": "lena",
               "acknowledged_at": "2026-11-25T03:00:00Z"}]
    as_lead = render("alerts.html", "en", who=LEAD, csrf="t", path="/console/alerts", alerts=alerts,
                     can_acknowledge=True)
    assert as_lead.count('action="/console/alerts/') == 1 and "by lena" in as_lead
    as_worker = render("alerts.html", "en", who=Principal("cw", "case_worker"), csrf="t", path="/console/alerts",
                       alerts=alerts, can_acknowledge=False)
    assert 'action="/console/alerts/' not in as_worker
    now = datetime(2026, 11, 27, 3, 30, tzinfo=timezone.utc)
    assert (age("2026-11-25T01:00:00Z", now), age("2026-11-27T01:00:00Z", now), age("2026-11-27T03:29:00Z", now)) == (
        "2d 2h", "2h 30m", "1m")


def test_every_console_text_is_translated_to_thai():
    catalogue = read_catalogue(LOCALE_DIR, "console", "th")
    untranslated = [m.id for m in catalogue if m.id and not m.string]
    assert not untranslated
    assert "ภาษาไทย" not in render("login.html", "th", who=None, csrf="t", path="/console/login")  # offers English
    assert "เข้าสู่ระบบ" in render("login.html", "th", who=None, csrf="t", path="/console/login")


def test_the_delivery_log_shows_each_attempt():
    deliveries = [{"delivery_id": "d1", "webhook_type": "case.status_changed", "case_ref": "ILM-1",
                   "created_at": "2026-11-25T01:00:00Z", "status": "retrying", "next_attempt_at": "2026-11-25T01:05:00Z",
                   "attempts": [{"at": "2026-11-25T01:00:01Z", "status_code": 503, "error": None, "duration_ms": 12.5},
                                {"at": "2026-11-25T01:00:06Z", "status_code": None, "error": "timeout",
                                 "duration_ms": 5000.0}]}]
    page = render("webhooks.html", "en", who=LEAD, csrf="t", path="/console/webhooks", deliveries=deliveries,
                  wanted={"subscription_id": "sub_1"})
    assert "503 (12.5 ms)" in page and "timeout (5000.0 ms)" in page and "next try 2026-11-25 01:05:00" in page


def test_the_case_list_form_becomes_filters_without_blanks_or_unticked_boxes():
    form = {"status": "referred", "severity": "", "work_area": " working_conditions ", "business_ref": "SUP-1",
            "assignee": "  ", "tag": "urgent", "due_within_hours": "48", "overdue": "true", "unassigned": "on",
            "after": "ILM-1", "name": "mine"}
    assert case_filters(form) == {"status": "referred", "work_area": "working_conditions", "business_ref": "SUP-1",
                                  "tag": "urgent", "due_within_hours": "48", "overdue": "true"}
    assert case_filters({}) == {}


def test_tags_are_words_separated_by_spaces_or_commas_and_assignment_blank_is_nobody():
    assert tag_list(" Needs-Interpreter, urgent  urgent,,") == ["needs-interpreter", "urgent"]
    assert tag_list(None) == [] and tag_list("  ") == []
    assert assignee_of({"assignee": " Anna "}) == {"assignee": "anna"} and assignee_of({}) == {"assignee": None}
    assert ACTS["tags"]({"add": "a b", "remove": ""}) == {"add": ["a", "b"], "remove": []}
    assert ACTS["lease"]({}) == {"force": True}
    assert ACTS["notes"]({"scope": "internal", "text": " hi "}) == {"scope": "internal", "text": "hi"}


def test_the_lease_warns_only_of_another_members_running_lease():
    now = "2026-11-26T10:00:00Z"
    assert lease_held_by({"lease": {"holder": "ben", "until": "2026-11-26T10:05:00Z"}}, "anna", now) == {
        "holder": "ben", "until": "2026-11-26T10:05:00Z"}
    assert lease_held_by({"lease": {"holder": "anna", "until": "2026-11-26T10:05:00Z"}}, "anna", now) is None
    assert lease_held_by({"lease": {"holder": "ben", "until": "2026-11-26T09:59:00Z"}}, "anna", now) is None
    assert lease_held_by({"lease": None}, "anna", now) is None


def test_the_case_page_names_the_other_editor_and_offers_to_take_over():
    case = {"case_ref": "ILM-7K2M9QXR", "status": "received", "severity": "high", "work_area": "working_conditions",
            "opened_at": "2026-11-25T01:00:00Z", "deadlines": {}, "alerts": [], "audit": [], "language": "th",
            "lease": {"holder": "ben", "until": "2026-11-26T10:05:00Z"}, "assignee": "anna", "tags": ["urgent"],
            "notes": [{"note_id": "N1", "at": "2026-11-25T02:00:00Z", "scope": "private", "text": HOSTILE,
                       "author": {"id": "lena", "role": "safeguarding_lead"}}]}
    for lang in ("en", "th"):
        page = render("case.html", lang, who=LEAD, csrf="t", path="/console/cases/x", case=case, steps=[],
                      can_reveal=True, note_scopes=NOTE_SCOPES, held=case["lease"],
                      sent={"channel": "line", "language": "th"})
        assert 'id="lease-warning"' in page and "ben" in page and "2026-11-26 10:05" in page
        assert 'action="/console/cases/ILM-7K2M9QXR/lease"' in page and "<script" not in page
        for act in ("assignment", "tags", "notes", "worker-messages"):
            assert f'action="/console/cases/ILM-7K2M9QXR/{act}"' in page and act in ACTS
    assert "ben is editing this case until 2026-11-26 10:05 UTC" in render(
        "case.html", "en", who=LEAD, csrf="t", path="/", case=case, steps=[], can_reveal=True,
        note_scopes=NOTE_SCOPES, held=case["lease"])


def test_the_home_page_shows_each_views_counts_and_the_board_marks_overdue_rows():
    views = [{"name": "Overdue recruitment", "filters": {"overdue": True}, "count": 7, "changed": 2,
              "saved_at": "2026-11-25T01:00:00Z", "looked_at": None}]
    page = render("views.html", "th", who=LEAD, csrf="t", path="/console", views=views)
    assert 'href="/console/views/Overdue%20recruitment?changed_only=true">2<' in page and ">7<" in page
    items = [{"case_ref": "ILM-1", "deadline": "plan", "due": "2026-11-25T01:00:00Z", "overdue": True, "level": 1,
              "severity": "high", "status": "referred", "assignee": "anna", "business_ref": "SUP-1"},
             {"case_ref": "ILM-2", "deadline": "acknowledge", "due": "2026-11-27T01:00:00Z", "overdue": False,
              "level": 0, "severity": "normal", "status": "referred", "assignee": None, "business_ref": "SUP-1"}]
    board = render("deadlines.html", "en", who=LEAD, csrf="t", path="/console/deadlines", items=items, hours="24",
                   mine=False)
    assert board.count('class="overdue"') == 1 and 'data-case="ILM-1" class="overdue"' in board


def test_a_views_file_is_named_for_the_view():
    data, headers = view_download({"view": "Overdue / recruitment", "fields": ["case_ref"], "rows": [
        {"case_ref": "ILM-1"}], "more": False}, "csv")
    assert headers["Content-Disposition"] == 'attachment; filename="view-Overdue---recruitment.csv"'
    assert headers["Content-Type"].startswith("text/csv") and b"ILM-1" in data


def test_every_text_of_the_templates_is_in_both_catalogues():
    """What pybabel would extract (babel.cfg's mapping) is translated in English and Thai."""
    from babel.messages.extract import extract_from_dir
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    texts = {msg[2] if isinstance(msg[2], str) else msg[2][0] for msg in extract_from_dir(
        LOCALE_DIR.parent, [("templates/**.html", "jinja2")], {"templates/**.html": options})}
    assert len(texts) > 100
    for lang in ("en", "th"):
        translated = {m.id for m in read_catalogue(LOCALE_DIR, "console", lang) if m.id and m.string}
        assert not texts - translated, lang


def test_the_portal_forms_become_the_business_bodies():
    form = {"type_1": "back_pay", "description_1": " Pay overtime ", "owner_1": "HR", "due_date_1": "2027-01-31",
            "type_2": "training", "description_2": "", "owner_2": " ", "due_date_2": "",
            "type_3": "other", "owner_3": "Site manager"}
    assert plan_actions(form) == {"actions": [
        {"type": "back_pay", "description": "Pay overtime", "owner": "HR", "due_date": "2027-01-31"},
        {"type": "other", "owner": "Site manager"}]}            # the owner names the missing description
    assert plan_actions({}) == {"actions": []}
    assert action_update({"status": "in_progress", "note": " paid ", "reason": "", "file_name": "a.pdf",
                          "media_type": "application/pdf", "sha256": "AB" * 32}) == {
        "status": "in_progress", "note": "paid",
        "evidence": [{"file_name": "a.pdf", "media_type": "application/pdf", "sha256": "ab" * 32}]}
    assert action_update({"status": "done", "file_name": " "}) == {"status": "done", "evidence": []}
    assert remediation_report({"summary": " paid back ", "evidence": "payslips\r\n\n bank transfer \n"}) == {
        "summary": "paid back", "evidence": ["payslips", "bank transfer"]}


def test_the_portal_offers_each_role_the_steps_of_the_cases_state():
    assert portal_steps("supplier", "referred") == ["acknowledgement"]
    assert portal_steps("agency", "acknowledged") == ["plan"]
    assert portal_steps("supplier", "remediating") == ["remediation-reports", "actions"]
    assert portal_steps("supplier", "plan_submitted") == [] and portal_steps("supplier", "closed") == []
    for status in ("referred", "acknowledged", "remediating"):
        assert portal_steps("partner", status) == []               # a partner reads


def test_the_portal_case_page_offers_the_steps_and_escapes_the_businesss_text():
    supplier = Principal("SUP-1", "supplier", key_id="key_1")
    case = {"case_ref": "ILM-7K2M9QXR", "status": "remediating", "severity": "high", "work_area": "working_conditions",
            "opened_at": "2026-11-25T01:00:00Z", "deadlines": {}, "audit": [], "business_ref": "SUP-1",
            "plan": [{"action_id": "P1-1", "type": "back_pay", "description": HOSTILE, "owner": "HR",
                      "due_date": "2027-01-31", "status": "in_progress", "progress": [],
                      "evidence": [{"file_name": "a.pdf", "media_type": "application/pdf", "sha256": "ab" * 32}]}]}
    for lang in ("en", "th"):
        page = render("portal_case.html", lang, who=supplier, csrf="t", path="/portal/cases/x", root="/portal",
                      case=case, steps=portal_steps("supplier", "remediating"), plan_rows=range(1, 4),
                      action_types=REMEDY_ACTION_TYPES, action_statuses=ACTION_STATUSES)
        assert 'action="/portal/cases/ILM-7K2M9QXR/actions/P1-1"' in page and "<script" not in page
        assert 'action="/portal/cases/ILM-7K2M9QXR/remediation-reports"' in page and "ab" * 32 in page
        assert 'action="/portal/logout"' in page and "/console/" not in page.replace("/console/static/", "")


def test_a_new_partys_form_sends_only_what_is_filled_and_the_country_in_capitals():
    assert new_party({"ref": " SUP-1 ", "kind": "supplier", "name": "Acme", "country": "th", "side": ""}) == {
        "ref": "SUP-1", "kind": "supplier", "name": "Acme", "country": "TH"}
    page = render("party.html", "th", who=LEAD, csrf="t", path="/console/parties/P-1", links=["sources_from"],
                  party={"ref": "P-1", "kind": "partner", "name": HOSTILE, "country": None, "side": None,
                         "registered_at": "2026-11-25T01:00:00Z", "links": {"sources_from": ["SUP-1"]},
                         "chain": {"suppliers": ["SUP-1"], "sites": [], "agencies": []}})
    assert 'action="/console/parties/P-1/links"' in page and 'data-to="SUP-1"' in page and "<script" not in page


def test_a_visits_answer_and_another_channel_become_their_bodies_and_forms():
    assert ACTS["validation/answers"]({"worker_key": "wk_1", "answer": "partly", "note": " "}) == {
        "worker_key": "wk_1", "answer": "partly"}
    assert ACTS["other-channels"]({"channel": "court", "note": " filed "}) == {"channel": "court", "note": "filed"}
    case = {"case_ref": "ILM-7K2M9QXR", "status": "validating", "severity": "high", "work_area": "working_conditions",
            "opened_at": "2026-11-25T01:00:00Z", "deadlines": {}, "alerts": [], "audit": [], "lease": None,
            "other_channels": [{"channel": "labour_inspectorate", "at": "2026-11-25T02:00:00Z"}]}
    page = render("case.html", "th", who=LEAD, csrf="t", path="/", case=case, steps=[], can_reveal=True,
                  note_scopes=NOTE_SCOPES, held=None, affected=["wk_1"])
    assert 'action="/console/cases/ILM-7K2M9QXR/validation/answers"' in page and '<option value="wk_1">' in page
    assert 'action="/console/cases/ILM-7K2M9QXR/other-channels"' in page and 'id="other-channels"' in page
    assert "visit-answer" not in render("case.html", "en", who=LEAD, csrf="t", path="/", case=case, steps=[],
                                        can_reveal=True, note_scopes=NOTE_SCOPES, held=None, affected=[])
