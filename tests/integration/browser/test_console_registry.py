"""The console's registry pages (services/gateway/console/party_pages.py, ...) in headless
Chromium against the real services: a case worker registers a supplier and a partner,
links them and sees the partner's supply chain follow; finds a partner's webhook
endpoint in the list and opens its delivery log; on a case being validated, records
another channel the worker went to and an affected worker's answer given in person."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from scripts.demo import remediate, until
from tests.integration.browser.conftest import go, submit
from tests.integration.browser.test_console_team import login
from tests.integration.conftest import eventually
from tests.integration.helpers import PASSWORD, key_for, post_grievance, report, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def member(staff):
    name = unique("cara").lower()
    staff["admin"].ok("POST", "/v1/staff", {"username": name, "role": "case_worker", "password": PASSWORD})
    return name


def on_some_page(driver, text: str) -> list:
    """The link ``text`` on this page, else (turning to the next page) nothing yet."""
    found = driver.find_elements(By.LINK_TEXT, text)
    if not found and driver.find_elements(By.LINK_TEXT, "Next page"):
        go(driver, driver.find_element(By.LINK_TEXT, "Next page").click)
    return found


def test_parties_are_registered_listed_and_linked_from_the_console(browser, stack, member):
    browser.set_window_size(1100, 900)
    login(browser, stack, member)
    supplier, partner = unique("SUP"), unique("PTN")
    go(browser, browser.find_element(By.LINK_TEXT, "Parties").click)
    for ref, kind in ((supplier, "supplier"), (partner, "partner")):
        browser.find_element(By.ID, "party-ref").send_keys(ref)
        Select(browser.find_element(By.ID, "party-kind")).select_by_value(kind)
        browser.find_element(By.ID, "party-name").send_keys(f"{ref} Co")
        browser.find_element(By.ID, "party-country").send_keys("th")
        submit(browser, "register-party")
        assert browser.find_element(By.ID, "party-ref").text == ref
        go(browser, lambda: browser.get(f"{stack.gateway_url}/console/parties"))

    # An agency without its side: the owner's refusal names the field, the form keeps what was typed.
    browser.find_element(By.ID, "party-ref").send_keys(unique("AGY"))
    Select(browser.find_element(By.ID, "party-kind")).select_by_value("agency")
    browser.find_element(By.ID, "party-name").send_keys("No side")
    submit(browser, "register-party")
    assert "side" in browser.find_element(By.CSS_SELECTOR, ".notice.error").text
    assert browser.find_element(By.ID, "party-name").get_attribute("value") == "No side"

    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("partner")
    go(browser, lambda: browser.find_element(By.CSS_SELECTOR, "#party-filters button").click())
    kinds = {r.find_elements(By.TAG_NAME, "td")[1].text for r in browser.find_elements(By.CSS_SELECTOR, "#parties tbody tr")}
    assert kinds == {"partner"}

    go(browser, eventually(lambda: on_some_page(browser, partner), timeout=30)[0].click)
    Select(browser.find_element(By.ID, "link-kind")).select_by_value("sources_from")
    browser.find_element(By.ID, "to-ref").send_keys(supplier)
    submit(browser, "link-party")
    link = browser.find_element(By.CSS_SELECTOR, f"#links li[data-to='{supplier}']")
    assert link.get_attribute("data-link") == "sources_from"
    assert supplier in browser.find_element(By.ID, "chain").text
    go(browser, lambda: browser.find_element(By.LINK_TEXT, supplier).click())
    assert browser.find_element(By.ID, "party-name").text == f"{supplier} Co"
    assert not browser.find_elements(By.ID, "link-party")      # a supplier is linked to, it links nothing


def test_the_webhooks_page_lists_the_endpoints_each_linked_to_its_log(browser, stack, staff, member):
    partner = unique("PTN")
    staff["admin"].ok("POST", "/v1/parties", {"ref": partner, "kind": "partner", "name": partner})
    hook = key_for(staff, stack, partner, "partner").ok("POST", "/v1/webhooks", {
        "url": "http://127.0.0.1:9/hook", "event_types": ["case.status_changed"]})
    login(browser, stack, member)
    go(browser, browser.find_element(By.LINK_TEXT, "Webhooks").click)
    link = eventually(lambda: on_some_page(browser, hook["subscription_id"]), timeout=30)[0]
    row = browser.find_element(By.CSS_SELECTOR, f"#endpoints tr[data-endpoint='{hook['subscription_id']}']")
    assert partner in row.text and "http://127.0.0.1:9/hook" in row.text and "whsec_" not in browser.page_source
    go(browser, link.click)
    assert browser.find_element(By.ID, "subscription_id").get_attribute("value") == hook["subscription_id"]
    assert not browser.find_elements(By.CSS_SELECTOR, ".notice.error")


def test_the_case_page_records_another_channel_and_a_visits_answer(browser, stack, staff, member):
    supplier, cw = unique("SUP"), staff["case_worker"]
    ref = post_grievance(stack, report(supplier)).json()["case_ref"]
    remediate(cw, key_for(staff, stack, supplier, "supplier"), ref, supplier, say=lambda _: None)
    until(cw, ref, "validating")
    reporter = cw.ok("GET", f"/v1/cases/{ref}")["worker_key"]
    login(browser, stack, member)
    go(browser, lambda: browser.get(f"{stack.gateway_url}/console/cases/{ref}"))

    Select(browser.find_element(By.ID, "other-channel-choice")).select_by_value("labour_inspectorate")
    browser.find_element(By.ID, "other-channel-note").send_keys("filed at the provincial office")
    submit(browser, "other-channel")
    assert "labour inspectorate" in browser.find_element(By.ID, "other-channels").text

    assert [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "visit-worker")).options] == [reporter]
    Select(browser.find_element(By.ID, "visit-answer-choice")).select_by_value("partly")
    browser.find_element(By.ID, "visit-note").send_keys("met at the dormitory")
    submit(browser, "visit-answer")
    assert not browser.find_elements(By.CSS_SELECTOR, ".notice.error")
    (answer,) = cw.ok("GET", f"/v1/cases/{ref}/validation")["rounds"][0]["answers"]
    assert answer["worker_key"] == reporter and answer["answer"] == "partly"
    assert answer["recorded_by"] == {"id": member, "role": "case_worker"}
