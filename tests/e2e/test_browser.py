"""The web page in headless Debian chromium, as a new user meets it: submit an account, see flags ordered and
coloured, filter the evidence, read errors in plain words, score a CSV, read the API docs.

A failing test leaves a screenshot of the page in its tmp_path (see `screenshot_on_failure`)."""
import os
import re
import shutil
import time

import pytest
import requests

pytestmark = pytest.mark.e2e

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# The page is under test here, not the model (the reference case's own test is in tests/model): a clear
# account with the reference case's three flags.
REFERENCE = ("At my second interview the owner laughed at my CV and called my degree a joke. He asked how old I was "
             "and whether I planned to have kids soon. Then he said the salary would be much lower than the advert "
             "and the role might be part-time.")
SCAM = ("The recruiter asked me to send my bank details and a copy of my passport on WhatsApp before any offer, "
        "and to pay a fee for the training kit.")
# A mild flag the model is sure of and a grave one it is less sure of: the API's order (gravest first) and the
# page's (most likely first) differ.
MIXED_SEVERITY = ("They kept me waiting for two hours in the lobby, rescheduled twice and nobody had read my CV. "
                  "The manager made one snide remark about my accent.")
WAIT = 20  # seconds for one classification or upload; the real model answers in well under one


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
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def real_server(real_model_path, tmp_path_factory):
    from tests.e2e.server import running

    yield from running(real_model_path, tmp_path_factory.mktemp("browser") / "server.log", workers=1)


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, browser, tmp_path):
    """Keep what the page looked like when a test failed (the report hook is in tests/e2e/conftest.py)."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        path = tmp_path / "failure.png"
        browser.save_screenshot(str(path))
        print(f"screenshot of the failing page: {path}")


# ---- helpers ------------------------------------------------------------------------------------------------

def by_id(browser, element_id):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, element_id)


def css(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def wait_for(browser, condition, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda d: d.execute_script(condition))


def open_page(browser, server):
    browser.get(server.url + "/")
    browser.get_log("browser")  # start each test with an empty console log


def paste(browser, text):
    """Set the text as a paste would (ChromeDriver cannot type characters beyond the BMP) and fire `input`."""
    browser.execute_script("const box = arguments[0]; box.value = arguments[1];"
                           "box.dispatchEvent(new Event('input', {bubbles: true}))", by_id(browser, "anecdote"), text)


def submit(browser, text=None):
    """Submit and wait until this submission's answer (a result or an error) is on the page: a marker put in
    the flags list beforehand is gone once the page has redrawn or hidden the result."""
    if text is not None:
        paste(browser, text)
    browser.execute_script("const li = document.createElement('li'); li.id = 'stale-marker';"
                           "document.getElementById('flags').append(li)")
    by_id(browser, "submit").click()
    wait_for(browser, "const r = document.getElementById('result'), e = document.getElementById('error');"
                      "return !document.getElementById('submit').disabled && (!e.hidden || "
                      "(!r.hidden && !document.getElementById('stale-marker')))")


def classify(server, text, **context):
    body = {"text": text, **({"context": context} if context else {})}
    response = requests.post(server.url + "/v1/classify", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def in_view(browser, element):
    return browser.execute_script("const r = arguments[0].getBoundingClientRect();"
                                  "return r.top >= 0 && r.top < window.innerHeight", element)


def severe_logs(browser):
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def rgb(value):
    return tuple(int(x) for x in re.findall(r"\d+", value)[:3])


def contrast(a, b):
    """WCAG 2 contrast ratio of two sRGB colours."""
    def luminance(colour):
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in colour]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def expected_marks(text, spans):
    """The highlighted strings the page must show: spans merged where they overlap, sliced by code points."""
    merged = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [text[s:e] for s, e in merged]


# ---- the classify form ----------------------------------------------------------------------------------------

def test_three_flags_in_the_page(browser, real_server, tmp_path):
    from selenium.webdriver.common.keys import Keys

    open_page(browser, real_server)
    box = by_id(browser, "anecdote")
    box.send_keys(REFERENCE)
    # keyboard only: tab past the checkbox and the stage choice to the button and press Enter
    box.send_keys(Keys.TAB, Keys.TAB, Keys.TAB, Keys.ENTER)
    wait_for(browser, "return !document.getElementById('result').hidden")
    flags = {li.get_attribute("data-category") for li in css(browser, "#flags li")}
    assert {"disrespect", "discrimination", "bait_and_switch"} <= flags
    marks = [m.text for m in css(browser, "#highlighted mark")]
    assert marks and all(m in REFERENCE for m in marks)
    # the category names drawn after the marks are not part of the text
    assert by_id(browser, "highlighted").text.replace("\n", " ").strip() == REFERENCE
    card = by_id(browser, "recommendation")
    assert "end interview" in card.text.lower() and "could have said" in card.text.lower()
    # no horizontal scrolling on a phone-width window
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert not severe_logs(browser)


def test_result_replaces_the_previous_one_and_takes_focus_and_view(browser, real_server):
    open_page(browser, real_server)
    submit(browser, REFERENCE)
    heading = by_id(browser, "result-heading")
    assert browser.switch_to.active_element == heading
    assert in_view(browser, heading) and browser.execute_script("return window.scrollY") > 0
    assert len(css(browser, "#result")) == 1

    submit(browser, SCAM)
    expected = {f["category"] for f in classify(real_server, SCAM)["red_flags"]}
    assert "scam" in expected
    assert {li.get_attribute("data-category") for li in css(browser, "#flags li")} == expected
    assert browser.switch_to.active_element == heading and in_view(browser, heading)
    assert by_id(browser, "highlighted").get_attribute("textContent") == SCAM

    # a new error replaces the result, and takes focus and view in its turn
    browser.execute_script("window.scrollTo(0, 0)")
    submit(browser, "   \n ")
    error = by_id(browser, "error")
    assert not by_id(browser, "result").is_displayed()
    assert error.is_displayed() and "describe the interview" in error.text.lower()
    assert browser.switch_to.active_element == error and in_view(browser, error)

    # ... and the next result replaces the error
    submit(browser, REFERENCE)
    assert not error.is_displayed() and by_id(browser, "result").is_displayed()
    assert not severe_logs(browser)


def test_live_character_count_in_code_points_and_no_silent_cut(browser, real_server):
    open_page(browser, real_server)
    box, count, submit_button = by_id(browser, "anecdote"), by_id(browser, "char-count"), by_id(browser, "submit")
    assert box.get_attribute("maxlength") is None
    box.send_keys("Hello")
    assert count.text.startswith("5 of 20,000")
    # an emoji is 2 UTF-16 units and 1 code point; "e" + a combining accent is 2 code points, as the API counts
    paste(browser, "Hi 😀 e\u0301")  # 7 code points, 8 UTF-16 units
    assert browser.execute_script("return arguments[0].value.length", box) == 8
    assert count.text.startswith("7 of 20,000")

    long_text = "I waited. " * 2500  # 25,000 characters
    paste(browser, long_text)
    assert browser.execute_script("return arguments[0].value.length", box) == 25_000  # nothing cut
    warning = by_id(browser, "too-long")
    assert warning.is_displayed() and "20,000" in warning.text and "nothing is cut" in warning.text
    assert "5,000 too many" in count.text
    assert not submit_button.is_enabled() and box.get_attribute("aria-invalid") == "true"

    paste(browser, long_text[:20_000])
    assert not warning.is_displayed() and submit_button.is_enabled()
    assert count.text.startswith("20,000 of 20,000")


def test_api_validation_errors_are_said_in_plain_words(browser, real_server):
    open_page(browser, real_server)
    # An outdated page with a larger limit than the API: the API's 422 must reach the reader as a sentence.
    browser.execute_script("arguments[0].dataset.maxChars = '30000'", by_id(browser, "anecdote"))
    submit(browser, "x" * 20_001)
    error = by_id(browser, "error")
    assert error.is_displayed()
    assert "20,001 characters long" in error.text and "nothing has been cut" in error.text
    assert "String should" not in error.text and "text:" not in error.text

    # A stage the API does not know (as an older page might send): a plain sentence, not the validator's text.
    open_page(browser, real_server)
    browser.execute_script("document.getElementById('stage-after').value = 'later'")
    by_id(browser, "stage-after").click()
    submit(browser, REFERENCE)
    error = by_id(browser, "error")
    assert error.is_displayed()
    message = error.text
    assert "stage" in message.lower() and "reload the page" in message
    assert "Input should be" not in message and "context." not in message


def test_one_colour_per_category_named_beside_it_and_in_the_legend(browser, real_server):
    open_page(browser, real_server)
    submit(browser, REFERENCE)
    legend = css(browser, "#legend li")
    assert len(legend) == 9 and all(item.text.strip() for item in legend)
    colours = browser.execute_script("""
        return [...document.querySelectorAll('#legend li')].map((li) => {
          const mark = document.createElement('mark');
          mark.className = 'cat-' + li.dataset.category;
          mark.dataset.label = li.dataset.title;
          document.getElementById('highlighted').append(mark);
          const style = getComputedStyle(mark), label = getComputedStyle(mark, '::after');
          const row = {category: li.dataset.category, tint: style.backgroundColor, ink: style.color,
                       strong: label.backgroundColor, labelInk: label.color,
                       swatch: getComputedStyle(li.querySelector('.swatch')).backgroundColor};
          mark.remove();
          return row;
        })""")
    assert len({c["tint"] for c in colours}) == 9 and len({c["strong"] for c in colours}) == 9
    for c in colours:
        assert contrast(rgb(c["tint"]), rgb(c["ink"])) >= 4.5, c
        assert contrast(rgb(c["strong"]), rgb(c["labelInk"])) >= 4.5, c
        assert c["swatch"] == c["strong"], c  # the legend shows the colour the labels use
    by_category = {c["category"]: c for c in colours}
    titles = {li.get_attribute("data-category"): li.get_attribute("data-title") for li in legend}

    marks = css(browser, "#highlighted mark")
    assert marks
    for mark in marks:
        first = mark.get_attribute("data-categories").split()[0]
        assert rgb(mark.value_of_css_property("background-color")) == rgb(by_category[first]["tint"])
        label = browser.execute_script("return getComputedStyle(arguments[0], '::after').content", mark)
        assert titles[first] in label  # the name is written beside the colour, no hover needed
    present = {li.get_attribute("data-category") for li in css(browser, "#legend li.present")}
    assert present == {c for m in marks for c in m.get_attribute("data-categories").split()}


def test_flags_by_probability_with_severity_and_the_order_explained(browser, real_server):
    by_probability = lambda f: (-f["probability"], -f["severity"])  # noqa: E731
    api_orders = []
    for text in (REFERENCE, MIXED_SEVERITY):
        open_page(browser, real_server)
        submit(browser, text)
        api_flags = classify(real_server, text)["red_flags"]
        expected = [f["category"] for f in sorted(api_flags, key=by_probability)]
        api_orders.append([f["category"] for f in api_flags] != expected)
        items = css(browser, "#flags li")
        assert [li.get_attribute("data-category") for li in items] == expected
        percents = [int(re.search(r"(\d+)%", li.text).group(1)) for li in items]
        assert percents == sorted(percents, reverse=True)
        for li, flag in zip(items, sorted(api_flags, key=by_probability)):
            assert f"severity {flag['severity']} of 3" in li.text
        assert "most likely first" in by_id(browser, "flags-help").text.lower()
    # the API lists flags gravest first: one of the texts must differ, or this test cannot tell the orders apart
    assert any(api_orders)


def test_choosing_a_flag_shows_only_its_evidence(browser, real_server):
    from selenium.webdriver.common.keys import Keys

    open_page(browser, real_server)
    submit(browser, REFERENCE)
    api_flags = {f["category"]: f for f in classify(real_server, REFERENCE)["red_flags"]}
    all_marks = [m.get_attribute("textContent") for m in css(browser, "#highlighted mark")]
    assert all_marks == expected_marks(REFERENCE, [(e["start"], e["end"]) for f in api_flags.values()
                                                   for e in f["evidence"]])
    buttons = css(browser, "#flags button")
    assert len(buttons) >= 2
    for button in buttons[:2]:
        category = button.get_attribute("data-category")
        button.click()  # a click on one flag, even with another chosen, shows that flag's evidence alone
        assert button.get_attribute("aria-pressed") == "true"
        assert [b.get_attribute("aria-pressed") for b in buttons].count("true") == 1
        marks = css(browser, "#highlighted mark")
        assert all(m.get_attribute("data-categories") == category for m in marks)
        assert [m.get_attribute("textContent") for m in marks] == expected_marks(
            REFERENCE, [(e["start"], e["end"]) for e in api_flags[category]["evidence"]])
        assert "only the evidence" in by_id(browser, "evidence-filter").text
    # choose the chosen flag again, by keyboard: every flag's evidence is back
    buttons[1].send_keys(Keys.ENTER)
    assert buttons[1].get_attribute("aria-pressed") == "false"
    assert [m.get_attribute("textContent") for m in css(browser, "#highlighted mark")] == all_marks
    assert by_id(browser, "highlighted").get_attribute("textContent") == REFERENCE


def test_highlights_land_on_the_evidence_after_emoji_and_combining_marks(browser, real_server):
    """The API counts code points, JavaScript strings count UTF-16 units: the page must convert."""
    text = ("Cafe\u0301 first 😀😀👍🏽 so far so good. Then the owner asked me to send my bank details and a copy of my "
            "passport on WhatsApp before any offer 🙃. I left.")
    flags = classify(real_server, text)["red_flags"]
    spans = [(e["start"], e["end"]) for f in flags for e in f["evidence"]]
    assert any("bank details" in text[s:e] for s, e in spans)
    open_page(browser, real_server)
    submit(browser, text)
    marks = [m.get_attribute("textContent") for m in css(browser, "#highlighted mark")]
    assert marks == expected_marks(text, spans)
    assert by_id(browser, "highlighted").get_attribute("textContent") == text


def test_stage_choice_is_labelled_and_changes_the_advice(browser, real_server):
    open_page(browser, real_server)
    radios = css(browser, "input[name=stage]")
    assert len(radios) == 3
    for radio in radios:
        assert browser.execute_script("return arguments[0].labels.length", radio) == 1
    assert "where are you" in css(browser, "fieldset legend")[0].text.lower()
    paste(browser, REFERENCE)
    css(browser, "label[for=stage-during]")[0].click()
    submit(browser)
    card = by_id(browser, "recommendation").text
    assert "during the process" in card and "What you can say" in card
    css(browser, "label[for=stage-after]")[0].click()
    submit(browser)
    card = by_id(browser, "recommendation").text
    assert "after the interview" in card and "Looking back" in card


def test_every_control_is_labelled_and_results_are_announced(browser, real_server):
    open_page(browser, real_server)
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter((c) => !c.labels || !c.labels.length).map((c) => c.id)")
    assert unlabelled == []
    assert by_id(browser, "status").get_attribute("aria-live") == "polite"
    assert by_id(browser, "csv-status").get_attribute("aria-live") == "polite"
    assert by_id(browser, "error").get_attribute("role") == "alert"
    assert by_id(browser, "result-heading").get_attribute("tabindex") == "-1"


# ---- Score a CSV ----------------------------------------------------------------------------------------------

def test_score_a_csv_and_download_it(browser, real_server, tmp_path):
    from selenium.webdriver.support.ui import Select

    upload = tmp_path / "answers.csv"
    upload.write_text('id,answer,notes\n1,"' + REFERENCE + '",first\n'
                      '2,"It went well, they were kind.\nA second line, with ""quotes"" 😀",\n'
                      f'3,"{SCAM}",last\n', encoding="utf-8")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    open_page(browser, real_server)
    by_id(browser, "csv-file").send_keys(str(upload))
    wait_for(browser, "return !document.getElementById('csv-column').disabled")
    select = Select(by_id(browser, "csv-column"))
    assert [o.get_attribute("value") for o in select.options] == ["id", "answer", "notes"]
    assert select.first_selected_option.get_attribute("value") == "answer"  # the likely text column
    by_id(browser, "csv-submit").click()
    wait_for(browser, "return !document.getElementById('csv-download-row').hidden || "
                      "!document.getElementById('csv-error').hidden")
    link = by_id(browser, "csv-download")
    assert "3 rows scored" in link.text and "3 rows scored" in by_id(browser, "csv-status").text
    assert link.get_attribute("download") == "answers-scored.csv"
    assert link.get_attribute("href").startswith("blob:")
    assert browser.switch_to.active_element == link

    link.click()
    target = downloads / "answers-scored.csv"
    deadline = time.time() + WAIT
    while not target.exists() and time.time() < deadline:
        time.sleep(0.1)
    direct = requests.post(real_server.url + "/v1/score-csv", data={"text_column": "answer"},
                           files={"file": ("answers.csv", upload.read_bytes(), "text/csv")}, timeout=30)
    assert target.read_bytes() == direct.content  # the page hands over exactly what the API scored
    assert not severe_logs(browser)


@pytest.mark.parametrize("content, fragment", [
    ("answer\n", "has a header but no rows"),
    ("answer,red_flags\nhello,x\n", "rename them first"),
])
def test_score_a_csv_errors_in_plain_words(browser, real_server, tmp_path, content, fragment):
    upload = tmp_path / "bad.csv"
    upload.write_text(content, encoding="utf-8")
    open_page(browser, real_server)
    by_id(browser, "csv-file").send_keys(str(upload))
    wait_for(browser, "return !document.getElementById('csv-column').disabled")
    by_id(browser, "csv-submit").click()
    wait_for(browser, "return !document.getElementById('csv-error').hidden")
    error = by_id(browser, "csv-error")
    assert error.text.startswith("The file could not be scored") and fragment in error.text
    assert browser.switch_to.active_element == error
    assert not by_id(browser, "csv-download-row").is_displayed()


# ---- API docs -------------------------------------------------------------------------------------------------

def test_api_docs_are_readable_offline(browser, real_server):
    open_page(browser, real_server)
    assert css(browser, "footer a")[0].get_attribute("href") == real_server.url + "/docs"
    page = requests.get(real_server.url + "/docs", timeout=10)
    front = requests.get(real_server.url + "/", timeout=10)
    assert page.headers["Content-Security-Policy"] == front.headers["Content-Security-Policy"]
    assert "<script>" not in page.text
    browser.get(real_server.url + "/docs")
    wait_for(browser, "return document.querySelectorAll('.opblock').length > 0")
    spec = requests.get(real_server.url + "/openapi.json", timeout=10).json()
    shown = {e.text.replace("\u200b", "") for e in css(browser, ".opblock-summary-path")}
    assert shown == set(spec["paths"])
    assert "Classify one anecdote" in browser.find_element("tag name", "body").text
    # "Try it out" works under the same policy: the request goes to this server and the answer is shown
    labels = "#operations-default-labels"
    css(browser, f"{labels} .opblock-summary-control")[0].click()
    wait_for(browser, f"return !!document.querySelector('{labels} .try-out__btn')")
    css(browser, f"{labels} .try-out__btn")[0].click()
    css(browser, f"{labels} .execute")[0].click()
    answer = f"{labels} .live-responses-table tr.response .response-col_status"
    wait_for(browser, f"return !!document.querySelector('{answer}')")
    status = css(browser, answer)[0].text
    assert status.strip().startswith("200")
    resources = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert resources and all(r.startswith(real_server.url + "/") for r in resources), resources
    assert not severe_logs(browser)  # a blocked script or style (the CSP) would be logged as SEVERE
