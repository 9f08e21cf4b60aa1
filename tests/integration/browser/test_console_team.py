"""Case work as a team in the console (services/gateway/console/team_pages.py and the
case page), in headless Chromium against the real services: a saved view and its bulk
assignment; the edit lease between two members' browsers; a hand-over on the team
page; a note to a LINE worker arriving at the (fake) provider in their language; a
login with a TOTP code; the admins' access log of a case."""
import os
import time
from urllib.parse import quote

import pyotp
import pytest
import requests
from selenium.webdriver.common.by import By

from scripts.api_client import Api
from scripts.chat_worker import ChatWorker, case_and_receipt
from tests.integration.browser.conftest import chromium, go, last_status, submit
from tests.integration.browser.test_console import shot
from tests.integration.conftest import eventually
from tests.integration.helpers import PASSWORD, post_grievance, report, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def team(stack, staff):
    """Two case workers and an admin of the console (their usernames), and the API's case worker."""
    admin = staff["admin"]
    names = {who: unique(who).lower() for who in ("anna", "ben", "root")}
    for who, name in names.items():
        admin.ok("POST", "/v1/staff", {"username": name, "role": "admin" if who == "root" else "case_worker",
                                       "password": PASSWORD})
    return names


def login(driver, stack, username: str, otp: str | None = None) -> None:
    """Log in to the console (in English, kept in a cookie) as ``username``."""
    driver.get(f"{stack.gateway_url}/console/login?lang=en")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    if otp:
        driver.find_element(By.ID, "otp").send_keys(otp)
    go(driver, driver.find_element(By.ID, "password").submit)


def new_cases(stack, staff, supplier: str, count: int, refer: bool = False) -> list[str]:
    cw = staff["case_worker"]
    refs = [post_grievance(stack, report(supplier)).json()["case_ref"] for _ in range(count)]
    for ref in refs:
        eventually(lambda: cw.call("GET", f"/v1/cases/{ref}").status_code == 200, timeout=30)
        if refer:
            cw.ok("POST", f"/v1/cases/{ref}/triage", {})
            cw.ok("POST", f"/v1/cases/{ref}/referral", {"business_ref": supplier, "business_type": "supplier"})
    return refs


def test_a_view_saved_from_the_filters_assigns_all_its_cases(browser, stack, staff, team):
    browser.set_window_size(1100, 900)
    supplier = unique("SUP")
    refs = new_cases(stack, staff, supplier, 2, refer=True)
    login(browser, stack, team["anna"])
    browser.get(f"{stack.gateway_url}/console/cases")
    browser.find_element(By.ID, "business_ref").send_keys(supplier)
    go(browser, lambda: browser.find_element(By.CSS_SELECTOR, "#case-filters button[type=submit]").click())
    assert sorted(r.get_attribute("data-case") for r in browser.find_elements(By.CSS_SELECTOR, "#cases tbody tr")) \
        == sorted(refs)
    name = f"Supplier {supplier}"
    browser.find_element(By.ID, "view-name").send_keys(name)
    submit(browser, "save-view")
    assert browser.current_url == f"{stack.gateway_url}/console/views/{quote(name)}"
    assert browser.find_element(By.ID, "view-name").text == name

    browser.find_element(By.ID, "bulk-assignee").send_keys(team["ben"])
    submit(browser, "bulk-assign")
    assert "2 of 2 cases assigned" in browser.find_element(By.ID, "bulk-result").text
    assert [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#cases td.assignee")] == [team["ben"]] * 2
    shot(browser, "console-view")

    export = browser.find_element(By.CSS_SELECTOR, "a.export[href$='format=csv']").get_attribute("href")
    got = requests.get(export, cookies={"ilm_console": browser.get_cookie("ilm_console")["value"]}, timeout=20)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("text/csv")
    assert all(ref in got.text for ref in refs) and got.text.count(team["ben"]) == 2
    browser.get(f"{stack.gateway_url}/console/cases?business_ref={supplier}")      # the list shows it too
    assert [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#cases td.assignee")] == [team["ben"]] * 2
    browser.get(f"{stack.gateway_url}/console")                                     # home: the view's counts
    row = browser.find_element(By.CSS_SELECTOR, f"#views tr[data-view='{name}']")
    assert row.find_element(By.CSS_SELECTOR, "td.count").text == "2"
    assert row.find_element(By.CSS_SELECTOR, "td.changed").text == "0"             # seen after the assignment
    shot(browser, "console-home-views")
    browser.get(f"{stack.gateway_url}/console/deadlines?hours=720")
    shot(browser, "console-deadlines")


def test_the_edit_lease_names_the_other_editor_who_may_take_it_over(browser, stack, staff, team):
    ref = new_cases(stack, staff, unique("SUP"), 1)[0]
    case_url = f"{stack.gateway_url}/console/cases/{ref}"
    login(browser, stack, team["anna"])
    browser.get(case_url)
    assert browser.find_elements(By.ID, "lease-mine") and not browser.find_elements(By.ID, "lease-warning")
    other = chromium()
    try:
        login(other, stack, team["ben"])
        other.get(case_url)
        assert team["anna"] in other.find_element(By.ID, "lease-warning").text
        submit(other, "take-over")
        assert other.find_elements(By.ID, "lease-mine") and not other.find_elements(By.ID, "lease-warning")
    finally:
        other.quit()
    browser.get(case_url)
    assert team["ben"] in browser.find_element(By.ID, "lease-warning").text
    browser.find_element(By.ID, "assignee-name").send_keys("x")                    # an edit is refused meanwhile
    submit(browser, "assign")
    assert last_status(browser, f"{case_url}/assignment") == 409
    assert team["ben"] in browser.find_element(By.ID, "lease-warning").text
    actions = [li.get_attribute("data-action") for li in browser.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert "lease_forced" in actions and "assign" not in actions


def test_the_team_page_hands_over_all_of_one_persons_cases(browser, stack, staff, team):
    leaver, successor = unique("leaver").lower(), unique("successor").lower()
    refs = new_cases(stack, staff, unique("SUP"), 2)
    for ref in refs:
        staff["case_worker"].ok("POST", f"/v1/cases/{ref}/assignment", {"assignee": leaver})
    login(browser, stack, team["anna"])
    browser.get(f"{stack.gateway_url}/console/team")
    browser.find_element(By.ID, "from-assignee").send_keys(leaver)
    browser.find_element(By.ID, "to-assignee").send_keys(successor)
    submit(browser, "hand-over")
    assert browser.find_element(By.ID, "hand-over-result").text == f"2 cases handed from {leaver} to {successor}."
    assert sorted(a.text for a in browser.find_elements(By.CSS_SELECTOR, "#moved a")) == sorted(refs)
    browser.get(f"{stack.gateway_url}/console/cases?assignee={successor}")
    assert sorted(r.get_attribute("data-case") for r in browser.find_elements(By.CSS_SELECTOR, "#cases tbody tr")) \
        == sorted(refs)


def test_a_note_to_the_worker_arrives_on_their_line_chat_in_their_language(browser, stack, staff, team, providers):
    worker = ChatWorker("line", stack.intake_url, providers, os.environ)
    worker.send("ค่าจ้างของฉันถูกหักโดยไม่มีเหตุผล")
    ref, _ = case_and_receipt(worker.next_reply())
    eventually(lambda: staff["case_worker"].call("GET", f"/v1/cases/{ref}").status_code == 200, timeout=30)
    login(browser, stack, team["anna"])
    browser.get(f"{stack.gateway_url}/console/cases/{ref}")
    assert browser.find_element(By.ID, "language").text == "th"
    words = "เราได้รับเรื่องของคุณแล้ว จะติดต่อกลับภายในสองวัน"
    browser.find_element(By.ID, "worker-text").send_keys(words)
    submit(browser, "message-worker")
    sent = browser.find_element(By.ID, "worker-message-sent").text
    assert "line" in sent and "th" in sent
    assert worker.next_reply(containing=words) == words          # at the provider, on the worker's own chat


def test_a_member_enrolled_in_two_factor_logs_in_with_the_code(browser, stack, staff):
    name = unique("tfa").lower()
    staff["admin"].ok("POST", "/v1/staff", {"username": name, "role": "case_worker", "password": PASSWORD})
    token = requests.post(f"{stack.gateway_url}/v1/auth/login", json={"username": name, "password": PASSWORD},
                          timeout=20).json()["access_token"]
    member = Api(stack.gateway_url, token)
    totp = pyotp.TOTP(member.ok("POST", "/v1/auth/two-factor")["secret"])
    member.ok("POST", "/v1/auth/two-factor/confirmation", {"otp": totp.now()})
    login(browser, stack, name)                                          # the password alone no longer does
    assert last_status(browser, f"{stack.gateway_url}/console/login") == 401
    assert browser.find_elements(By.CSS_SELECTOR, ".notice.error")
    login(browser, stack, name, otp=totp.at(time.time() + 30))            # the next step: the first one is spent
    assert browser.current_url == f"{stack.gateway_url}/console/alerts"
    assert name in browser.find_element(By.ID, "who").text


def test_the_access_log_page_lists_who_opened_the_case_for_admins_only(browser, stack, staff, team):
    ref = new_cases(stack, staff, unique("SUP"), 1)[0]
    log_url = f"{stack.gateway_url}/console/cases/{ref}/access-log"
    for member in ("anna", "ben"):
        login(browser, stack, team[member])
        browser.get(f"{stack.gateway_url}/console/cases/{ref}")
    browser.get(log_url)                                                  # a case worker: the owner's 403
    assert last_status(browser, log_url) == 403 and not browser.find_elements(By.ID, "access-log")
    login(browser, stack, team["root"])
    browser.get(f"{stack.gateway_url}/console/access-log")
    browser.find_element(By.ID, "log-ref").send_keys(ref)
    go(browser, lambda: browser.find_element(By.ID, "log-ref").submit())
    assert browser.current_url == log_url
    viewed = {(r.get_attribute("data-actor"), r.get_attribute("data-action"))
              for r in browser.find_elements(By.CSS_SELECTOR, "#access-log tbody tr")}
    assert {(team["anna"], "view"), (team["ben"], "view")} <= viewed
