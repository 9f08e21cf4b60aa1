"""A safeguarding lead's shift in the console (services/gateway/console), in headless
Chromium against the real services: logs in, finds a new retaliation alert at the top
of the queue and acknowledges it, opens the case from the list, triages and refers
it, reveals the worker's words with a reason and sees the reveal on the timeline.
With ILM_SCREENSHOTS=1 the main pages are saved to docs/screenshots/ (the README's)."""
import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.integration.browser.conftest import go, last_status, submit
from tests.integration.conftest import eventually
from tests.integration.helpers import PASSWORD, post_grievance, report, unique

pytestmark = pytest.mark.integration
SCREENSHOTS = Path(__file__).parents[3] / "docs" / "screenshots"
WORDS = "The supervisor said we will be blacklisted if we complain again. <b>Ko Min</b>"


def shot(driver, name: str) -> None:
    if os.environ.get("ILM_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        height = driver.find_element(By.TAG_NAME, "body").size["height"]
        driver.set_window_size(1100, min(max(700, height + 40), 1600))
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        driver.set_window_size(1100, 800)


@pytest.fixture(scope="module")
def shift(stack, staff):
    """A supplier, a safeguarding lead's account and a grievance reporting reprisal."""
    supplier, lead = unique("SUP"), unique("lead").lower()
    admin = staff["admin"]
    admin.ok("POST", "/v1/parties", {"ref": supplier, "kind": "supplier", "name": supplier})
    admin.ok("POST", "/v1/staff", {"username": lead, "role": "safeguarding_lead", "password": PASSWORD})
    created = post_grievance(stack, report(supplier, text=WORDS, retaliation=True))
    assert created.status_code == 201, created.text
    ref = created.json()["case_ref"]
    cw = staff["case_worker"]
    alert_id = eventually(lambda: (c := cw.call("GET", f"/v1/cases/{ref}")).status_code == 200
                          and c.json()["alerts"] and c.json()["alerts"][0], timeout=30)
    return {"supplier": supplier, "lead": lead, "ref": ref, "alert_id": alert_id}


def test_a_lead_acknowledges_the_alert_triages_refers_and_reveals_from_the_console(browser, stack, shift):
    base = f"{stack.gateway_url}/console"
    browser.set_window_size(1100, 800)
    browser.get(f"{base}/login?lang=en")          # the browser is Thai; English chosen and kept in a cookie
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    browser.find_element(By.ID, "username").send_keys(shift["lead"])
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    go(browser, browser.find_element(By.ID, "password").submit)
    assert browser.current_url == f"{base}/alerts" and last_status(browser, f"{base}/alerts") == 200

    # The queue: the new retaliation alert first (the browser tier runs before the other tests add alerts).
    rows = browser.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")
    mine = [r for r in rows if r.get_attribute("data-alert") == shift["alert_id"]]
    assert mine and "retaliation" in mine[0].get_attribute("class")
    assert rows[0].get_attribute("data-alert") == shift["alert_id"], "not at the top of the queue"
    shot(browser, "console-queue")
    mine[0].find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("called the worker back")
    go(browser, mine[0].find_element(By.CSS_SELECTOR, "button[name=acknowledge]").click)
    row = browser.find_element(By.CSS_SELECTOR, f"#alerts tr[data-alert='{shift['alert_id']}']")
    assert f"by {shift['lead']}" in row.text

    # The case list, filtered by status; the case opened from it (or found by its reference on a later page).
    go(browser, lambda: browser.find_element(By.LINK_TEXT, "Cases").click())
    Select(browser.find_element(By.ID, "status")).select_by_value("received")
    go(browser, lambda: browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click())
    shot(browser, "console-cases")
    listed = browser.find_elements(By.LINK_TEXT, shift["ref"])
    if listed:
        go(browser, listed[0].click)
    else:
        browser.find_element(By.ID, "ref").send_keys(shift["ref"])
        go(browser, lambda: browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click())
    assert browser.find_element(By.ID, "case-ref").text == shift["ref"]
    assert browser.find_element(By.ID, "severity").text == "critical"

    # Triage (the work area corrected; severity kept: critical while the alert is open), then refer.
    Select(browser.find_element(By.ID, "work-area-choice")).select_by_value("employer_employee_relations")
    submit(browser, "triage")
    assert browser.find_element(By.ID, "status").text == "triaged"
    Select(browser.find_element(By.ID, "business-type")).select_by_value("supplier")
    assert browser.find_element(By.ID, "business-ref").get_attribute("value") == shift["supplier"]
    submit(browser, "refer")
    assert browser.find_element(By.ID, "status").text == "referred"
    assert browser.find_element(By.ID, "business").text == shift["supplier"]

    # The worker's words: only with a reason, shown on that answer only, escaped, then on the timeline.
    browser.find_element(By.ID, "reason").send_keys("planning the call back about the threat")
    submit(browser, "reveal")
    assert browser.find_element(By.ID, "revealed-text").text == WORDS      # shown as text, not markup
    browser.get(f"{base}/cases/{shift['ref']}")
    assert WORDS not in browser.page_source and "Ko Min" not in browser.page_source

    def revealed_on_timeline():
        browser.refresh()
        return browser.find_elements(By.CSS_SELECTOR, "#timeline li[data-action=identity_revealed]")
    entry = eventually(revealed_on_timeline, timeout=30)
    assert shift["lead"] in entry[0].text
    actions = [li.get_attribute("data-action") for li in browser.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert {"refer", "triage", "acknowledge_alert", "safeguarding_alert"} <= set(actions)
    shot(browser, "console-case")
