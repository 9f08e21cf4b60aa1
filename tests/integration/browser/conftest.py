"""Browser tier: the worker page (services/intake/pages.py) in headless Chromium,
against the integration tier's service processes. Debian's ``chromium`` and
``chromium-driver`` (scripts/system-packages.sh installs them): Selenium is given the
driver's path and SE_OFFLINE, so Selenium Manager never runs and nothing is downloaded."""
import json
import os

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module, in Thai, with its network log (statuses, URLs)."""
    driver = chromium()
    yield driver
    driver.quit()


def chromium():
    """A new headless Chromium session (its own cookies), in Thai; the caller quits it."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium and chromium-driver are missing: run scripts/system-packages.sh as root")
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=th",
                "--window-size=412,915"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "th,en"})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def network(driver) -> list[dict]:
    """Every network event of the browser so far (the log drains on reading: kept here)."""
    seen = driver.__dict__.setdefault("network_events", [])
    seen.extend(json.loads(e["message"])["message"] for e in driver.get_log("performance"))
    return seen


def last_status(driver, url: str) -> int:
    """The HTTP status of the last page loaded from ``url``."""
    return [m["params"]["response"]["status"] for m in network(driver)
            if m["method"] == "Network.responseReceived" and m["params"]["response"]["url"] == url][-1]


def requested_urls(driver) -> list[str]:
    """Every URL the browser asked for (pages, the style sheet, anything)."""
    return [m["params"]["request"]["url"] for m in network(driver) if m["method"] == "Network.requestWillBeSent"]


def replaced(element):
    """Stale: the page it was on is gone (Chromium sometimes says so with an inspector error
    instead of a stale-element one, while the new document takes over)."""
    def gone(_driver) -> bool:
        try:
            element.is_enabled()
        except (StaleElementReferenceException, WebDriverException):
            return True
        return False
    return gone


def navigate(driver, act, timeout: float = 30) -> None:
    """Do ``act`` (a click) and wait until the next page replaced this one: a click does
    not wait for a POST's answer."""
    page = driver.find_element(By.TAG_NAME, "html")
    act()
    WebDriverWait(driver, timeout).until(replaced(page))


def go(driver, act) -> None:
    """Do ``act`` (a click) and wait until the next console page is there."""
    navigate(driver, act)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "main"))


def submit(driver, form_id: str) -> None:
    """Send the console form of that id and wait for the page that answers it."""
    go(driver, lambda: driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click())
