"""The worker page (services/intake/pages.py) in-process: real HTTP to a nameko
container whose grievance store is an in-memory fake. The acts' refusals come back
as the form again, in the page's language, with the JSON door's status."""
import re

import requests
from pymongo.errors import AutoReconnect

from shared.page_http import CSRF_COOKIE, SECURITY_HEADERS
from services.intake.texts import translations
from shared.json_body import MAX_BODY_BYTES
from tests.fakes import FakeRepository

FORM = {"text": "นายจ้างไม่จ่ายค่าล่วงเวลาสามเดือน", "work_area": "working_conditions", "phone": "+66 81 555 0199"}


def th(text: str) -> str:
    return translations("pages", "th").gettext(text)


def token(session: requests.Session, url: str) -> str:
    """Open the form (the CSRF cookie is set) and read its hidden token."""
    form = session.get(url, timeout=5)
    assert form.status_code == 200 and session.cookies.get(CSRF_COOKIE)
    return re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)


def post(session, url, data, **kw):
    return session.post(url, data={**data, "csrf_token": token(session, url)}, timeout=10, **kw)


def test_a_report_in_thai_is_stored_from_the_worker_app_and_shows_the_receipt_once(intake):
    url, grievances = intake()
    s = requests.Session()
    answer = post(s, f"{url}/app/th/report", {**FORM, "retaliation": "yes"})
    assert answer.status_code == 200, answer.text
    assert '<html lang="th">' in answer.text and th("Write these two numbers down now. You will not see the "
                                                    "receipt again.") in answer.text
    ref = re.search(r'id="case-ref">([^<]+)<', answer.text).group(1)
    receipt = re.search(r'id="receipt">([^<]+)<', answer.text).group(1)
    stored = grievances.repo.docs[ref]
    assert stored["channel"] == "worker_app" and stored["language"] == "th" and stored["retaliation"] is True
    assert grievances.relay.types() == ["grievance.received", "retaliation.reported"]
    for path in ("/app/th/case", "/app/th/report", "/app"):      # never again
        assert receipt not in s.get(f"{url}{path}", timeout=5).text


def test_a_follow_up_needs_the_receipt_then_locks_out_with_the_wait_shown(intake):
    url, grievances = intake()
    s = requests.Session()
    created = post(s, f"{url}/app/th/report", FORM).text
    ref = re.search(r'id="case-ref">([^<]+)<', created).group(1)
    receipt = re.search(r'id="receipt">([^<]+)<', created).group(1)
    ok = post(s, f"{url}/app/th/case", {"case_ref": ref.lower(), "receipt": receipt, "action": "message",
                                        "message": "หัวหน้าขู่ว่าจะไล่ออก"})
    assert ok.status_code == 200 and th("Your message was received.") in ok.text
    assert len(grievances.repo.docs[ref]["follow_ups"]) == 1
    wrong = {"case_ref": ref, "receipt": "0000-0000-0000-0000-0001", "action": "message", "message": "hello"}
    refused = post(s, f"{url}/app/th/case", wrong)
    assert refused.status_code == 401
    assert th("The case number or the receipt is not right. Check both and try again.") in refused.text
    assert ">hello</textarea>" in refused.text and "0000-0000-0000-0000-0001" not in refused.text
    answers = [post(s, f"{url}/app/th/case", wrong) for _ in range(6)]
    locked = answers[-1]
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert th("Too many wrong tries. Please wait %(minutes)s minutes, then try again.").split("%")[0] in locked.text


def test_an_invalid_field_is_named_and_the_form_keeps_the_values(intake):
    url, grievances = intake()
    answer = post(requests.Session(), f"{url}/app/th/report", {**FORM, "work_area": "", "phone": "call me"})
    assert answer.status_code == 400
    assert th("Please check these fields:") in answer.text
    assert f'href="#work_area">{th("What is it about?")}<' in answer.text
    assert f'href="#phone">{th("Phone number")}<' in answer.text
    assert FORM["text"] in answer.text and 'value="call me"' in answer.text
    assert grievances.repo.docs == {}


def test_without_the_csrf_token_nothing_is_stored_and_403(intake):
    url, grievances = intake()
    s = requests.Session()
    token(s, f"{url}/app/th/report")
    for data in (FORM, {**FORM, "csrf_token": "x" * 43}):
        answer = s.post(f"{url}/app/th/report", data=data, timeout=5)
        assert answer.status_code == 403 and th("The form was too old or incomplete. Please send it again.") in \
            answer.text
    assert grievances.repo.docs == {}


def test_bodies_over_the_limit_or_not_forms_are_refused(intake):
    url, grievances = intake()
    s = requests.Session()
    big = post(s, f"{url}/app/en/report", {**FORM, "text": "x" * MAX_BODY_BYTES})
    assert big.status_code == 413
    json_body = s.post(f"{url}/app/en/report", json=FORM, timeout=5)
    assert json_body.status_code == 415
    assert grievances.repo.docs == {}


class StoreDown(FakeRepository):
    def insert(self, doc, events=()):
        raise AutoReconnect("connection refused")


def test_an_outage_is_a_503_page_in_the_workers_language(intake):
    url, _ = intake(StoreDown())
    answer = post(requests.Session(), f"{url}/app/km/report", FORM)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert translations("pages", "km").gettext("The service is busy or down right now. Nothing was saved. "
                                               "Please try again in a few minutes.") in answer.text


def test_every_page_has_the_security_headers_and_no_script(intake):
    url, _ = intake()
    s = requests.Session()
    answers = [s.get(f"{url}{path}", timeout=5) for path in ("/app", "/app/my", "/app/km/report", "/app/lo/case",
                                                             "/app/nowhere", "/app/static/app.css")]
    answers.append(s.post(f"{url}/app/ne/report", data=FORM, timeout=5))
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            if not (name == "Cache-Control" and answer.url.endswith(".css")):
                assert answer.headers[name] == value, (answer.url, name)
        assert "<script" not in answer.text.lower()
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 200, 403]
    cookie = answers[2].headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/app" in cookie


def test_the_browsers_language_is_preselected(intake):
    url, _ = intake()
    start = requests.get(f"{url}/app", headers={"Accept-Language": "th-TH,th;q=0.9,en;q=0.5"}, timeout=5)
    assert '<html lang="th">' in start.text
    assert 'href="/app/th" lang="th" aria-current="true"' in start.text
    other = requests.get(f"{url}/app", headers={"Accept-Language": "fr"}, timeout=5)
    assert '<html lang="en">' in other.text


def test_a_validation_answer_needs_a_choice_and_is_stored_with_its_flag(intake):
    url, grievances = intake()
    s = requests.Session()
    created = post(s, f"{url}/app/lo/report", FORM).text
    ref = re.search(r'id="case-ref">([^<]+)<', created).group(1)
    receipt = re.search(r'id="receipt">([^<]+)<', created).group(1)
    act = {"case_ref": ref, "receipt": receipt, "action": "answer", "answer_text": "ยังไม่ได้เงิน"}
    missing = post(s, f"{url}/app/lo/case", act)
    assert missing.status_code == 400 and 'href="#answer"' in missing.text
    assert "ยังไม่ได้เงิน</textarea>" in missing.text
    answered = post(s, f"{url}/app/lo/case", {**act, "answer": "not_resolved", "answer_retaliation": "yes"})
    assert answered.status_code == 200
    assert translations("pages", "lo").gettext("Thank you. Your answer was received.") in answered.text
    stored = grievances.repo.docs[ref]["validation_answers"]
    assert [(a["answer"], a["retaliation"]) for a in stored] == [("not_resolved", True)]
    assert grievances.relay.types()[-2:] == ["retaliation.reported", "worker.message_received"]


def test_the_page_offers_the_four_answers_and_unsafe_is_told_safety_comes_first(intake):
    url, grievances = intake()
    s = requests.Session()
    created = post(s, f"{url}/app/th/report", FORM).text
    ref = re.search(r'id="case-ref">([^<]+)<', created).group(1)
    receipt = re.search(r'id="receipt">([^<]+)<', created).group(1)
    form = s.get(f"{url}/app/th/case", timeout=5).text
    assert re.findall(r'name="answer" value="(\w+)"', form) == ["confirmed", "partly", "not_resolved", "unsafe"]
    assert th("Partly: only some of it is fixed") in form and th("It is not safe for me to answer") in form
    act, safety = {"case_ref": ref, "receipt": receipt, "action": "answer"}, th(
        "Your safety comes first. Our safety team will look at your case first and contact you.")
    partly = post(s, f"{url}/app/th/case", {**act, "answer": "partly"})
    assert partly.status_code == 200 and safety not in partly.text
    unsafe = post(s, f"{url}/app/th/case", {**act, "answer": "unsafe"})
    assert unsafe.status_code == 200 and safety in unsafe.text and safety.startswith("ความปลอดภัย")
    stored = grievances.repo.docs[ref]["validation_answers"]
    assert [(a["answer"], a["retaliation"]) for a in stored] == [("partly", False), ("unsafe", True)]
    assert grievances.relay.types()[-2:] == ["retaliation.reported", "worker.message_received"]
