"""A worker uses the worker app in Thai, in headless Chromium, against the real
services: reports, sees the receipt once, checks the status, adds a message, mistypes
the receipt, withdraws. Screenshots of each main page go to the test's tmp dir."""
import re

import pytest
from selenium.webdriver.common.by import By

from services.intake.texts import LANGUAGES, translations
from shared.contracts.common import CASE_STATES
from tests.integration.browser.conftest import last_status, navigate, requested_urls
from tests.integration.conftest import eventually

WHAT_HAPPENED = "นายจ้างไม่จ่ายค่าล่วงเวลามาสามเดือนแล้ว ทั้งทีมสิบคน"


def th(text: str) -> str:
    return translations("pages", "th").gettext(text)


def shot(driver, folder, name: str) -> None:
    """The whole page at a phone's width."""
    height = driver.find_element(By.TAG_NAME, "body").size["height"]
    driver.set_window_size(412, max(915, height + 120))
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.set_window_size(412, 915)


def fill(driver, field_id: str, text: str) -> None:
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)


def click_and_wait(driver, by, selector) -> None:
    navigate(driver, lambda: driver.find_element(by, selector).click(), timeout=20)


def press(driver, action: str) -> None:
    click_and_wait(driver, By.CSS_SELECTOR, f"button[name=action][value={action}]")


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-page-screens")


@pytest.fixture(scope="module")
def reported(browser, stack, shots):
    """The worker reports in Thai: start page (Thai preselected) -> home -> form -> receipt."""
    browser.get(f"{stack.intake_url}/app")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "th"
    shot(browser, shots, "1-start")
    click_and_wait(browser, By.CSS_SELECTOR, "a[aria-current=true]")
    click_and_wait(browser, By.LINK_TEXT, th("Report a problem"))
    fill(browser, "text", WHAT_HAPPENED)
    browser.find_element(By.CSS_SELECTOR, "input[name=work_area][value=working_conditions]").click()
    fill(browser, "line_id", "somchai.k")
    browser.find_element(By.CSS_SELECTOR, "input[name=consent]").click()
    shot(browser, shots, "2-report-form")
    click_and_wait(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert last_status(browser, f"{stack.intake_url}/app/th/report") == 200
    shot(browser, shots, "3-reported")
    return {"case_ref": browser.find_element(By.ID, "case-ref").text,
            "receipt": browser.find_element(By.ID, "receipt").text, "page": browser.page_source}


def test_the_report_page_is_thai_and_shows_the_receipt_once(reported, browser, rpc):
    assert re.fullmatch(r"[0-9]{4}(-[0-9]{4}){4}", reported["receipt"])
    assert th("Write these two numbers down now. You will not see the receipt again.") in reported["page"]
    assert th("Keep the receipt secret: with it, anyone can act on your case.") in reported["page"]
    case = eventually(lambda: rpc.remediation.get_case({"case_ref": reported["case_ref"]}))
    assert case["case_ref"] == reported["case_ref"] and case["status"] == "received"
    click_and_wait(browser, By.LINK_TEXT, th("Go to my case"))
    assert reported["receipt"] not in browser.page_source


def test_the_worker_checks_the_status_and_adds_a_message(reported, browser, stack, shots):
    assert browser.current_url == f"{stack.intake_url}/app/th/case"
    fill(browser, "case_ref", reported["case_ref"])
    fill(browser, "receipt", reported["receipt"])
    press(browser, "status")
    status = browser.find_element(By.ID, "status")
    assert status.get_attribute("data-status") in CASE_STATES
    assert status.text == th("We received your report.")
    assert reported["receipt"] not in browser.page_source
    shot(browser, shots, "4-status")
    assert browser.find_element(By.ID, "case_ref").get_attribute("value") == reported["case_ref"]   # kept
    fill(browser, "receipt", reported["receipt"])
    fill(browser, "message", "ตอนนี้หัวหน้าให้ทำงานถึงสี่ทุ่มทุกวัน")
    press(browser, "message")
    assert browser.find_element(By.ID, "status").text == th("Your message was received.")


def test_a_wrong_receipt_is_refused_in_thai_with_401(reported, browser, stack, shots):
    fill(browser, "case_ref", reported["case_ref"])
    fill(browser, "receipt", "1111-2222-3333-4444-5555")
    fill(browser, "message", "ข้อความนี้ต้องไม่หาย")
    press(browser, "message")
    assert last_status(browser, f"{stack.intake_url}/app/th/case") == 401
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert alert == th("The case number or the receipt is not right. Check both and try again.")
    assert browser.find_element(By.ID, "message").get_attribute("value") == "ข้อความนี้ต้องไม่หาย"
    assert browser.find_element(By.ID, "receipt").get_attribute("value") == ""
    shot(browser, shots, "5-wrong-receipt")


def test_the_worker_withdraws_with_a_reason(reported, browser, stack, rpc):
    fill(browser, "case_ref", reported["case_ref"])
    fill(browser, "receipt", reported["receipt"])
    fill(browser, "reason", "ได้งานใหม่แล้ว ไม่อยากให้ดำเนินการต่อ")
    press(browser, "withdraw")
    assert last_status(browser, f"{stack.intake_url}/app/th/case") == 200
    assert browser.find_element(By.ID, "status").text == th("You stopped this case.")
    assert rpc.remediation.get_case({"case_ref": reported["case_ref"]})["status"] == "withdrawn"


def test_the_receipt_never_travels_in_a_url(reported, browser):
    digits = reported["receipt"].replace("-", "")
    urls = requested_urls(browser) + [browser.current_url]
    assert len(urls) > 5
    assert not [u for u in urls if reported["receipt"] in u or digits in u.replace("-", "")]
    assert all(u.startswith(urls[0].split("/app")[0]) for u in urls)     # nothing loaded from elsewhere


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_renders_its_home_page(browser, stack, shots, lang):
    browser.get(f"{stack.intake_url}/app/{lang}")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert browser.find_element(By.TAG_NAME, "h1").text == translations("pages", lang).gettext(
        "Help with a problem at work")
    shot(browser, shots, f"home-{lang}")
