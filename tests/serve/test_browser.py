"""The page at ``/`` in a real browser: headless Chromium driven by Selenium against a uvicorn
server on loopback.

Chromium and chromedriver come from Debian's packages (``make chromium``, run by ``make test``);
a missing one fails the test.  Chromium's fake microphone plays a real FSDD recording (a loop of
six digits by speaker theo, who is not in the training folder), so the live mode streams speech
over ``WS /stream``.  Every test also checks that the page fetched nothing from another origin
and that the browser's console holds no error.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
import urllib.request

import numpy as np
import pytest
import soundfile as sf
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tympan import data, io, pipeline
from tympan.serve import create_app

WAIT = 60  # seconds any one thing may take on a loaded 2-core machine
MIC_DIGITS = (2, 5, 9, 0, 6, 3)  # theo's take 2 of each, looped by the fake microphone
LIVE_WINDOWS = 6
DASH = "\u2013"  # the page's "no label yet", and between a live window's times
RECORD_SHOWN = """
window.sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (x) {
  if (x instanceof ArrayBuffer) window.sent.push([performance.now(), x.byteLength / 4]);
  return send.call(this, x);
};
window.shown = [];
const info = document.getElementById("live-info");
new MutationObserver(() => window.shown.push(
    [performance.now(), document.getElementById("live-label").textContent, info.textContent]))
  .observe(info, {childList: true, characterData: true, subtree: true});
"""


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if chromium is None or not shutil.which(driver):
        pytest.fail("the browser test needs Chromium and chromedriver: run `make chromium` "
                    "(apt-get install chromium chromium-driver)", pytrace=False)
    return chromium, driver


@pytest.fixture(scope="module")
def server(run):
    """The page's origin: a uvicorn server on a free loopback port, serving ``run``.  The model
    compiles its shapes on the first requests (``warm_up=False``) instead of at start-up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(create_app([run], warm_up=False), log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while True:
        try:
            with urllib.request.urlopen(origin + "/readyz", timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.1)
    yield origin
    srv.should_exit = True
    thread.join(30)
    sock.close()


@pytest.fixture(scope="module")
def speech():
    """The fake microphone's signal at 8 kHz (the model's rate)."""
    return np.concatenate([sf.read(data.demo_dir() / f"{d}_theo_2.wav", dtype="float32")[0]
                           for d in MIC_DIGITS])


@pytest.fixture(scope="module")
def browser(speech, tmp_path_factory):
    """Headless Chromium whose microphone loops ``speech`` (at 48 kHz, 16-bit PCM: the file
    Chromium's fake capture reads)."""
    chromium, driver_path = _browser_paths()
    wav = tmp_path_factory.mktemp("browser") / "microphone.wav"
    sf.write(wav, io.resample(speech, orig_sr=8000, target_sr=48000), 48000, subtype="PCM_16")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1000",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    yield driver
    driver.quit()


def _open(driver, origin):
    driver.get_log("browser")  # drop what an earlier test left
    driver.get(origin + "/")
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))


def _text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def _drawn(driver, canvas_id) -> int:
    """How many pixels of the canvas are painted."""
    return driver.execute_script(
        "const c = document.getElementById(arguments[0]);"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n;", canvas_id)


def _assert_clean(driver, origin):
    """Nothing came from another origin, and the console holds no error."""
    urls = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map((e) => e.name).concat([...document.querySelectorAll('[src], [href]')]"
        ".map((e) => e.src || e.href));")
    assert len(urls) >= 2  # the page and GET /models at least
    foreign = [u for u in urls if not (u.startswith(origin + "/") or u.startswith("data:"))]
    assert not foreign, f"the page fetched from elsewhere: {foreign}"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"the browser's console has errors: {errors}"


def test_upload_shows_the_library_prediction(browser, server, run, tmp_path):
    clip = data.demo_dir() / "7_theo_3.wav"  # theo is not in the training folder
    (want,) = pipeline.predict(run, clip)
    _open(browser, server)
    assert _text(browser, "model-info").startswith("8000 Hz, window 1 s, hop 0.5 s, 10 labels")
    browser.find_element(By.ID, "file").send_keys(str(clip))
    WebDriverWait(browser, WAIT).until(lambda d: _text(d, "label") not in (DASH, ""))
    assert _text(browser, "status") == ""
    assert _text(browser, "label") == want.label
    p, duration = re.fullmatch(r"p = (\d\.\d{3}), (\d+\.\d\d) s", _text(browser, "prob")).groups()
    assert float(p) == pytest.approx(want.probability, abs=6e-4) and duration == f"{want.duration:.2f}"
    bars = [(row.find_element(By.TAG_NAME, "span").text, float(row.find_element(By.TAG_NAME, "small").text))
            for row in browser.find_elements(By.CSS_SELECTOR, "#bars .bar")]
    assert len(bars) == 5
    assert [q for _, q in bars] == sorted((q for _, q in bars), reverse=True)
    for name, q in bars:  # the five largest of the library's probabilities
        assert q == pytest.approx(want.probabilities[name], abs=6e-4)
    rest = [q for name, q in want.probabilities.items() if name not in dict(bars)]
    assert max(rest) <= bars[-1][1] + 6e-4
    assert _drawn(browser, "wave") > 500  # the waveform, decoded by the browser
    assert browser.save_screenshot(str(tmp_path / "upload.png"))
    assert (tmp_path / "upload.png").read_bytes()[:4] == b"\x89PNG"
    _assert_clean(browser, server)


def _library_windows(run, speech, window, hop):
    """``(labels, lowest p, highest p)`` the library gives for any window of the looped speech
    (every 10 ms of one period), or for its start after silence (the stream's first window)."""
    looped = np.tile(speech, 1 + -(-window // len(speech)) + 1)
    windows = [looped[k:k + window] for k in range(0, len(speech), 80)]
    windows += [np.concatenate([np.zeros(k, np.float32), speech[:window - k]])
                for k in range(0, window, 80)]
    got = pipeline.predict(run, [(w, 8000) for w in windows])
    return {p.label for p in got}, min(p.probability for p in got), max(p.probability for p in got)


def test_microphone_streams_labels_of_the_speech(browser, server, run, speech, tmp_path):
    _open(browser, server)
    browser.execute_script(RECORD_SHOWN)  # each chunk sent and each window shown, with their times
    browser.find_element(By.ID, "live").click()
    WebDriverWait(browser, WAIT).until(lambda d: len(d.execute_script("return window.shown")) >= LIVE_WINDOWS)
    assert browser.save_screenshot(str(tmp_path / "microphone.png"))
    browser.find_element(By.ID, "live-stop").click()
    shown, sent = browser.execute_script("return [window.shown, window.sent]")
    rate = browser.execute_script("const c = new AudioContext(), r = c.sampleRate; c.close(); return r;")
    assert _text(browser, "status") == f"live: {rate} Hz from the microphone, window 1 s, hop 0.5 s"
    assert browser.find_element(By.ID, "live").is_enabled()

    info = re.compile(rf"window (\d+), p = (\d\.\d{{3}}), (\d+\.\d){DASH}(\d+\.\d) s")
    rows = [(t, label, *info.fullmatch(text).groups()) for t, label, text in shown]
    assert [int(r[2]) for r in rows] == list(range(1, len(rows) + 1))
    for k, (_, _, _, _, start, end) in enumerate(rows):  # windows of 1 s every 0.5 s of the stream
        assert float(start) == pytest.approx(0.5 * k) and float(end) == pytest.approx(0.5 * k + 1)
    labels, low, high = _library_windows(run, speech, 8000, 4000)
    assert {r[1] for r in rows} <= labels
    assert all(low - 0.01 <= float(r[3]) <= high + 0.01 for r in rows)
    # the rate the page announced is the rate its samples come at, and the server's clock
    # (the windows' times) counts the samples sent at that rate
    (t0, _), *rest = sent
    per_second = 1000 * sum(n for _, n in rest) / (rest[-1][0] - t0)
    assert 0.8 * rate < per_second < 1.25 * rate, f"{per_second:.0f} samples/s sent, announced {rate}"
    assert float(rows[-1][5]) <= sum(n for _, n in sent) / rate + 0.05
    assert _drawn(browser, "timeline") > 1000
    _assert_clean(browser, server)


def test_recording_is_posted_as_a_wav(browser, server, run):
    labels = set(pipeline.load_artifact(run).labels)
    _open(browser, server)
    browser.find_element(By.ID, "record").click()
    count = "return recording && recording.chunks ? recording.chunks.reduce((s, c) => s + c.length, 0) : 0"
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script(count) >= 1.2 * 48000)
    browser.find_element(By.ID, "stop").click()
    samples = browser.execute_script(count)
    rate = browser.execute_script("return recording.rate")
    WebDriverWait(browser, WAIT).until(lambda d: _text(d, "label") not in (DASH, ""))
    assert _text(browser, "status") == ""
    assert _text(browser, "label") in labels
    # the WAV the page wrote holds every sample at the microphone's rate
    assert _text(browser, "prob").split(", ")[1] == f"{samples / rate:.2f} s"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#bars .bar")) == 5
    assert _drawn(browser, "wave") > 500
    _assert_clean(browser, server)
