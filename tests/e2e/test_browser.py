"""The web page in headless Debian chromium: submit an account, see flags, highlighted evidence and advice."""
import os
import shutil

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# The page is under test here, not the model (the reference case's own test is in tests/model): a clear
# account with the reference case's three flags.
REFERENCE = ("At my second interview the owner laughed at my CV and called my degree a joke. He asked how old I was "
             "and whether I planned to have kids soon. Then he said the salary would be much lower than the advert "
             "and the role might be part-time.")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver must be installed in CI (make browser)")
        pytest.skip("chromium/chromedriver not installed: run `make browser`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=420,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def real_server(real_model_path, tmp_path_factory):
    from tests.e2e.server import Server

    srv = Server(real_model_path, tmp_path_factory.mktemp("browser") / "server.log", workers=1)
    try:
        srv.wait()
        yield srv
    finally:
        srv.stop()


def test_three_flags_in_the_page(browser, real_server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(real_server.url + "/")
    box = browser.find_element(By.ID, "anecdote")
    box.send_keys(REFERENCE)
    # keyboard only: tab past the checkbox and the stage choice to the button and press Enter
    box.send_keys(Keys.TAB, Keys.TAB, Keys.TAB, Keys.ENTER)
    WebDriverWait(browser, 20).until(EC.visibility_of_element_located((By.ID, "result")))
    flags = {li.get_attribute("data-category") for li in browser.find_elements(By.CSS_SELECTOR, "#flags li")}
    assert {"disrespect", "discrimination", "bait_and_switch"} <= flags
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")]
    assert marks and all(m in REFERENCE for m in marks)
    assert browser.find_element(By.ID, "highlighted").text.replace("\n", " ").strip() == REFERENCE
    card = browser.find_element(By.ID, "recommendation")
    assert "end interview" in card.text.lower() and "could have said" in card.text.lower()
    # no horizontal scrolling on a phone-width window
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_empty_submission_shows_a_message(browser, real_server):
    from selenium.webdriver.common.by import By

    browser.get(real_server.url + "/")
    browser.find_element(By.ID, "submit").click()
    status = browser.find_element(By.ID, "status")
    assert "describe" in status.text.lower()


def test_highlights_land_on_the_evidence_after_emoji_and_combining_marks(browser, real_server):
    """The API counts code points, JavaScript strings count UTF-16 units: the page must convert."""
    import requests
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    text = ("Cafe\u0301 first 😀😀👍🏽 so far so good. Then the owner asked me to send my bank details and a copy of my "
            "passport on WhatsApp before any offer 🙃. I left.")
    evidence = {e["text"] for f in requests.post(real_server.url + "/v1/classify", json={"text": text},
                                                 timeout=10).json()["red_flags"] for e in f["evidence"]}
    assert any("bank details" in e for e in evidence)
    browser.get(real_server.url + "/")
    # ChromeDriver cannot type characters beyond the BMP, so the text is set as a paste would set it
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, "anecdote"), text)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 20).until(EC.visibility_of_element_located((By.ID, "result")))
    marks = [m.get_attribute("textContent") for m in browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")]
    assert marks and all(any(m in e or e in m for e in evidence) for m in marks), (marks, evidence)
    assert browser.find_element(By.ID, "highlighted").get_attribute("textContent") == text
