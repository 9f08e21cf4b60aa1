"""The business and partner portal (services/gateway/console/portal_pages.py) in headless
Chromium against the real services: a supplier logs in with its API key, sees only the
case referred to it, acknowledges it, submits a plan, and after a case worker accepts
it records an action's progress with evidence metadata; a partner sees its chain's
case read-only and not another chain's; a revoked key is logged out at its next page."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.integration.browser.conftest import chromium, go, submit
from tests.integration.browser.test_console import shot
from tests.integration.browser.test_console_team import new_cases
from tests.integration.conftest import eventually
from tests.integration.helpers import unique

pytestmark = pytest.mark.integration
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture(scope="module")
def chains(stack, staff):
    """Two suppliers, a case referred to each, a partner sourcing from the first, and their keys."""
    admin, cw = staff["admin"], staff["case_worker"]
    ours, theirs, partner = unique("SUP"), unique("SUP"), unique("PTN")
    for ref, kind in ((ours, "supplier"), (theirs, "supplier"), (partner, "partner")):
        admin.ok("POST", "/v1/parties", {"ref": ref, "kind": kind, "name": ref})
    admin.ok("POST", f"/v1/parties/{partner}/links", {"link": "sources_from", "to_ref": ours})
    (case,), (other,) = new_cases(stack, staff, ours, 1, refer=True), new_cases(stack, staff, theirs, 1, refer=True)
    keys = {who: cw.ok("POST", "/v1/api-keys", {"party_ref": ref, "role": role, "label": "portal test"})
            for who, ref, role in (("ours", ours, "supplier"), ("theirs", theirs, "supplier"),
                                   ("partner", partner, "partner"))}
    return {"ours": ours, "theirs": theirs, "partner": partner, "case": case, "other": other, "keys": keys}


def log_in(driver, stack, key: str) -> None:
    driver.get(f"{stack.gateway_url}/portal/login?lang=en")
    driver.find_element(By.ID, "api-key").send_keys(key)
    submit(driver, "portal-login")


def listed(driver) -> set[str]:
    return {row.get_attribute("data-case") for row in driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")}


def test_a_supplier_acknowledges_plans_and_records_progress_with_evidence(browser, stack, staff, chains):
    base, key = f"{stack.gateway_url}/portal", chains["keys"]["ours"]["api_key"]
    browser.set_window_size(1100, 900)
    log_in(browser, stack, key)
    assert browser.current_url.startswith(f"{base}/cases")
    assert key not in browser.current_url and all(key not in c["value"] for c in browser.get_cookies())
    session = next(c for c in browser.get_cookies() if c["name"] == "ilm_portal")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/portal"
    assert chains["case"] in listed(browser) and chains["other"] not in listed(browser)
    browser.get(f"{base}/cases/{chains['other']}")            # another supplier's case: the owner's 403
    assert browser.find_element(By.CSS_SELECTOR, ".notice.error") and chains["other"] not in listed(browser)

    go(browser, lambda: browser.get(f"{base}/cases"))
    go(browser, browser.find_element(By.LINK_TEXT, chains["case"]).click)
    assert browser.find_element(By.ID, "status").text == "referred"
    browser.find_element(By.ID, "acknowledge-note").send_keys("HR is on it")
    submit(browser, "acknowledge")
    assert browser.find_element(By.ID, "status").text == "acknowledged"

    Select(browser.find_element(By.ID, "type-1")).select_by_value("back_pay")
    browser.find_element(By.ID, "description-1").send_keys("Pay the missing overtime of three months")
    browser.find_element(By.ID, "owner-1").send_keys("HR manager")
    # A date input's typing follows the browser's locale: set its value (the form sends YYYY-MM-DD).
    browser.execute_script("arguments[0].value = '2027-01-31'", browser.find_element(By.ID, "due-date-1"))
    submit(browser, "submit-plan")
    assert browser.find_element(By.ID, "status").text == "plan submitted"
    assert "Pay the missing overtime" in browser.find_element(By.ID, "plan").text
    assert not browser.find_elements(By.ID, "update-P1-1")   # no progress before the plan is accepted

    staff["case_worker"].ok("POST", f"/v1/cases/{chains['case']}/plan-acceptance", {"note": "good"})
    go(browser, browser.refresh)
    assert browser.find_element(By.ID, "status").text == "remediating"
    Select(browser.find_element(By.ID, "status-P1-1")).select_by_value("in_progress")
    browser.find_element(By.ID, "note-P1-1").send_keys("first month paid")
    browser.find_element(By.ID, "file-name-P1-1").send_keys("payslips-january.pdf")
    browser.find_element(By.ID, "media-type-P1-1").send_keys("application/pdf")
    browser.find_element(By.ID, "sha256-P1-1").send_keys(SHA.upper())
    submit(browser, "update-P1-1")
    action = browser.find_element(By.CSS_SELECTOR, "#plan li[data-action='P1-1']")
    assert "in progress" in action.find_element(By.CLASS_NAME, "action-status").text
    assert "payslips-january.pdf" in action.text and SHA in action.text and "first month paid" in action.text
    actions = [li.get_attribute("data-action") for li in browser.find_elements(By.CSS_SELECTOR, "#timeline > li")]
    assert {"acknowledge", "submit_plan", "accept_plan", "update_action"} <= set(actions)
    assert browser.find_elements(By.ID, "report")              # remediating: the report form is offered
    shot(browser, "portal-case")

    go(browser, lambda: browser.find_element(By.CSS_SELECTOR, "form[action='/portal/logout'] button").click())
    assert browser.current_url == f"{base}/login"
    browser.get(f"{base}/cases")
    assert browser.current_url == f"{base}/login"


def test_a_partner_reads_its_chains_case_only(stack, chains):
    driver = chromium()
    try:
        base = f"{stack.gateway_url}/portal"
        log_in(driver, stack, chains["keys"]["partner"]["api_key"])

        def chain_listed():
            driver.get(f"{base}/cases")
            return chains["case"] in listed(driver) and listed(driver)
        assert chains["other"] not in eventually(chain_listed, timeout=30)
        go(driver, driver.find_element(By.LINK_TEXT, chains["case"]).click)
        assert driver.find_element(By.ID, "case-ref").text == chains["case"]
        assert not driver.find_elements(By.CSS_SELECTOR, "main form")        # read-only
        go(driver, driver.find_element(By.LINK_TEXT, "Scorecards").click)
        rows = driver.find_elements(By.CSS_SELECTOR, "#scorecards tbody tr")
        assert [r.get_attribute("data-business") for r in rows] == [chains["ours"]]
    finally:
        driver.quit()


def test_a_revoked_key_is_logged_out_at_its_next_page(stack, staff, chains):
    driver = chromium()
    try:
        base, issued = f"{stack.gateway_url}/portal", chains["keys"]["theirs"]
        log_in(driver, stack, issued["api_key"])
        assert chains["other"] in listed(driver)
        staff["case_worker"].ok("DELETE", f"/v1/api-keys/{issued['key_id']}")
        driver.get(f"{base}/cases/{chains['other']}")
        assert driver.current_url == f"{base}/login"
        log_in(driver, stack, issued["api_key"])                # and it cannot log in again
        assert driver.current_url == f"{base}/login"
        assert "not valid" in driver.find_element(By.CSS_SELECTOR, ".notice.error").text
    finally:
        driver.quit()
