"""The demo in a real browser (slow): `musickit demo` on a free local port, headless Chromium, Generate, audio.

Needs Debian's chromium and chromium-driver (`apt-get install -y chromium chromium-driver`) and
`pip install selenium`; skipped without them. Run with:

    PYTHONPATH=$PWD python -m pytest -m slow tests/demo/test_demo_browser.py

The screenshot goes to $MUSICKIT_DEMO_SCREENSHOT (default: the test's tmp folder).
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECIPE = os.path.join(ROOT, "recipes", "piano_roll_lstm.py")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SERVER_START_SECONDS = 120
GENERATE_SECONDS = 400


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"musickit demo exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"musickit demo did not listen on port {port} within {seconds} s")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("piano_roll_lstm_recipe_for_browser", RECIPE)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    output = tmp_path_factory.mktemp("runs") / "piano_roll_lstm"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "musickit-cache"))
        recipe.main(["--smoke", "--output-dir", str(output), "--num-samples", "1"])
    return str(output)


@pytest.fixture
def server(smoke_run, tmp_path):
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    environment["TMPDIR"] = str(tmp_path)  # the page's pieces
    command = [sys.executable, "-m", "musickit.cli", "demo", "--run", smoke_run, "--port", str(port)]
    process = subprocess.Popen(command, env=environment, start_new_session=True)
    try:
        wait_for_port(port, process, SERVER_START_SECONDS)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the command and its streamlit child
        process.wait(timeout=30)


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("needs chromium and chromedriver (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1800",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    session = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver), options=options)
    try:
        yield session
    finally:
        session.quit()


def requested_urls(browser):
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            urls.append(message["params"].get("request", {}).get("url") or message["params"].get("url"))
    return urls


def test_generate_in_a_real_browser_stays_on_this_machine(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    generate = WebDriverWait(browser, SERVER_START_SECONDS).until(
        expected_conditions.element_to_be_clickable((By.XPATH, "//button[.//p[text()='Generate']]"))
    )
    urls = requested_urls(browser)
    generate.click()
    WebDriverWait(browser, GENERATE_SECONDS).until(
        expected_conditions.presence_of_element_located((By.TAG_NAME, "audio"))
    )
    WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "img")))
    time.sleep(2)  # let the picture and the table paint before the screenshot
    screenshot = os.environ.get("MUSICKIT_DEMO_SCREENSHOT") or str(tmp_path / "demo.png")
    assert browser.save_screenshot(screenshot)
    print(f"screenshot: {screenshot}")

    audio = browser.find_element(By.TAG_NAME, "audio").get_attribute("src")
    assert audio.startswith(server) or audio.startswith("blob:"), audio
    assert "Download MIDI" in browser.page_source and "Download WAV" in browser.page_source
    urls += requested_urls(browser)
    assert any(url.startswith(server) for url in urls), "the performance log recorded none of the page's requests"
    outside = [
        url
        for url in urls
        if urllib.parse.urlsplit(url).scheme not in ("data", "blob", "about", "chrome")
        and urllib.parse.urlsplit(url).hostname not in LOCAL_HOSTS
    ]
    assert not outside, f"the page asked outside this machine: {outside[:5]}"
