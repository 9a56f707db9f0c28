"""The page at ``/`` in a real browser: headless Chromium driven by Selenium against a uvicorn
server on loopback.

Chromium and chromedriver come from Debian's packages (``make chromium``, run by ``make test``);
a missing one fails the test.  Chromium's fake microphone plays a real FSDD recording (a loop of
six digits by speaker theo, who is not in the training folder), so the live mode streams speech
over ``WS /stream``.  Every test also checks that the page fetched nothing from another origin
and that the browser's console holds no error.
"""

from __future__ import annotations

import base64
import io as pyio
import re
import shutil
import socket
import threading
import time
import urllib.request

import numpy as np
import pytest
import soundfile as sf
import soxr
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tympan import data, io, pipeline
from tympan.serve import create_app

WAIT = 60  # seconds any one thing may take on a loaded 2-core machine
MIC_DIGITS = (2, 5, 9, 0, 6, 3)  # theo's take 2 of each, looped by the fake microphone
LIVE_WINDOWS = 6
DASH = "\u2013"  # the page's "no label yet", and between a live window's times
WATCH_LIVE = """
window.sent = [];  // [time, samples] of each binary message the page sends
window.shown = [];  // [time, label, info] of each window the page shows
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (x) {
  if (x instanceof ArrayBuffer) window.sent.push([performance.now(), new Float32Array(x.slice(0))]);
  return send.call(this, x);
};
const info = document.getElementById("live-info");
new MutationObserver(() => window.shown.push(
    [performance.now(), document.getElementById("live-label").textContent, info.textContent]))
  .observe(info, {childList: true, characterData: true, subtree: true});
"""
ENCODE = """
const encode = (arrays) => {  // Float32Arrays as one base64 string, for the trip to Python
  const bytes = new Uint8Array(arrays.reduce((n, x) => n + x.byteLength, 0));
  let o = 0, text = "";
  for (const x of arrays) {
    bytes.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), o);
    o += x.byteLength;
  }
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return btoa(text);
};
"""


def _floats(encoded: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(encoded), "<f4")


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if chromium is None or not shutil.which(driver):
        pytest.fail("the browser test needs Chromium and chromedriver: run `make chromium` "
                    "(apt-get install chromium chromium-driver)", pytrace=False)
    return chromium, driver


@pytest.fixture(scope="module")
def server(run, ae_run):
    """The page's origin: a uvicorn server on a free loopback port, serving ``run`` (the
    default) and the autoencoder ``ae_run``.  The models compile their shapes on the first
    requests (``warm_up=False``) instead of at start-up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(create_app([run, ae_run], warm_up=False), log_level="warning")
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
def microphone(tmp_path_factory):
    """What Chromium's fake microphone plays in a loop: theo's digits at 48 kHz, 16-bit PCM
    (the WAV its fake capture reads)."""
    speech = np.concatenate([sf.read(data.demo_dir() / f"{d}_theo_2.wav", dtype="float32")[0]
                             for d in MIC_DIGITS])
    wav = tmp_path_factory.mktemp("browser") / "microphone.wav"
    sf.write(wav, io.resample(speech, orig_sr=8000, target_sr=48000), 48000, subtype="PCM_16")
    return wav


@pytest.fixture(scope="module")
def browser(microphone):
    """Headless Chromium whose microphone plays ``microphone``."""
    chromium, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1000",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}"):
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
    foreign = [u for u in urls if not u.startswith((origin + "/", "data:", "blob:" + origin + "/"))]
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


def _match(sent, rate, microphone):
    """``(correlation, gain)`` of the half second of what the page sent (after its first half
    second) that best matches the looped recording the fake microphone plays, with its
    best-aligned half second of it.  (The best one: a capture glitch on a loaded machine may
    break the alignment of another.)"""
    played = sf.read(microphone, dtype="float64")[0]
    sent = soxr.resample(sent.astype(np.float64), rate, 48000)
    half = 24000
    looped = np.tile(played, 2 + -(-half // len(played)))
    n = 1 << (len(looped) + half).bit_length()
    spectrum = np.fft.rfft(looped, n)
    best = (-1.0, 0.0)
    for start in range(half, len(sent) - half + 1, half):
        part = sent[start:start + half]
        score = np.fft.irfft(spectrum * np.conj(np.fft.rfft(part, n)), n)
        k = int(np.argmax(score[:len(looped) - half]))
        match = looped[k:k + half]
        norm = np.linalg.norm(part) * np.linalg.norm(match)
        best = max(best, (float(part @ match / norm), float(np.linalg.norm(part) / np.linalg.norm(match))))
    return best


def test_microphone_streams_labels_of_the_speech(browser, server, run, microphone, tmp_path):
    _open(browser, server)
    browser.execute_script(WATCH_LIVE)
    browser.find_element(By.ID, "live").click()
    WebDriverWait(browser, WAIT).until(lambda d: len(d.execute_script("return window.shown")) >= LIVE_WINDOWS)
    assert browser.save_screenshot(str(tmp_path / "microphone.png"))
    browser.find_element(By.ID, "live-stop").click()
    assert browser.find_element(By.ID, "live").is_enabled()
    encoded, sent, shown = browser.execute_script(
        ENCODE + "return [encode(window.sent.map(([, x]) => x)), window.sent.map(([t, x]) => [t, x.length]),"
                 " window.shown];")
    samples = _floats(encoded)
    rate = browser.execute_script("const c = new AudioContext(), r = c.sampleRate; c.close(); return r;")
    # the server's answer to the first message: the rate the page announced is the microphone's
    assert _text(browser, "status") == f"live: {rate} Hz resampled to 8000 Hz, window 1 s, hop 0.5 s"

    # the page sends the microphone's signal unaltered (no gain control, no noise suppression)
    # at the rate it announced, as it comes
    assert len(samples) == sum(n for _, n in sent) >= 2.5 * rate
    correlation, gain = _match(samples, rate, microphone)
    assert correlation > 0.999 and 0.98 < gain < 1.02, (correlation, gain)
    (t0, _), *rest = sent
    per_second = 1000 * sum(n for _, n in rest) / (rest[-1][0] - t0)
    assert 0.8 * rate < per_second < 1.25 * rate, f"{per_second:.0f} samples/s sent, announced {rate}"

    # the windows shown: the model's 1-s windows every 0.5 s of that signal, labelled as the
    # library labels the same samples
    info = re.compile(rf"window (\d+), p = (\d\.\d{{3}}), (\d+\.\d){DASH}(\d+\.\d) s")
    rows = [(label, *info.fullmatch(text).groups()) for _, label, text in shown]
    assert [int(r[1]) for r in rows] == list(range(1, len(rows) + 1))
    assert [(float(r[3]), float(r[4])) for r in rows] == [(0.5 * k, 0.5 * k + 1) for k in range(len(rows))]
    heard = soxr.resample(samples, rate, 8000)
    assert 0.5 * len(rows) + 0.5 <= len(heard) / 8000 + 0.01
    want = pipeline.predict(run, [(heard[4000 * k:4000 * k + 8000], 8000) for k in range(len(rows))])
    same = [label == w.label and abs(float(p) - w.probability) < 0.01
            for (label, _, p, _, _), w in zip(rows, want, strict=True)]
    assert sum(same) >= len(rows) - 1, (rows, [(w.label, w.probability) for w in want])
    assert _drawn(browser, "timeline") > 1000
    _assert_clean(browser, server)


def test_recording_is_posted_as_a_wav(browser, server, run, tmp_path):
    _open(browser, server)
    browser.find_element(By.ID, "record").click()
    count = "return recording && recording.chunks ? recording.chunks.reduce((s, c) => s + c.length, 0) : 0"
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script(count) >= 1.2 * 48000)
    browser.find_element(By.ID, "stop").click()
    WebDriverWait(browser, WAIT).until(lambda d: _text(d, "label") not in (DASH, ""))
    assert _text(browser, "status") == ""
    encoded, rate = browser.execute_script(ENCODE + "return [encode(recording.chunks), recording.rate];")
    # the page's WAV is the recorded samples in 16 bits at the microphone's rate: the server
    # answers what the library answers for that file
    wav = tmp_path / "recording.wav"
    sf.write(wav, np.round(np.clip(_floats(encoded), -1, 1) * 32767).astype(np.int16), rate)
    (want,) = pipeline.predict(run, wav)
    assert _text(browser, "label") == want.label
    p, duration = re.fullmatch(r"p = (\d\.\d{3}), (\d+\.\d\d) s", _text(browser, "prob")).groups()
    assert float(p) == pytest.approx(want.probability, abs=6e-4) and duration == f"{want.duration:.2f}"
    assert want.duration >= 1.2 * 48000 / rate
    assert len(browser.find_elements(By.CSS_SELECTOR, "#bars .bar")) == 5
    assert _drawn(browser, "wave") > 500
    _assert_clean(browser, server)


def test_an_audio_out_answer_plays_and_downloads(browser, server, ae_run, tmp_path):
    clip = data.demo_dir() / "7_theo_3.wav"
    _open(browser, server)
    Select(browser.find_element(By.ID, "model")).select_by_value("ae")
    browser.find_element(By.ID, "file").send_keys(str(clip))
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.ID, "out-download"))
    assert _text(browser, "status") == "" and _text(browser, "label") == "audio: reconstruction"
    assert _text(browser, "prob") == f"8000 Hz, {sf.info(clip).duration:.2f} s (too_short)"  # < 0.5 s
    link = browser.find_element(By.ID, "out-download")
    assert link.get_attribute("download") == "7_theo_3-reconstruction.wav"
    assert browser.find_element(By.ID, "out-audio").get_attribute("src") == link.get_attribute("href")
    encoded = browser.execute_async_script(
        "const done = arguments[0];"
        "fetch(document.getElementById('out-download').href).then((r) => r.arrayBuffer()).then((b) => {"
        "  let s = ''; for (const x of new Uint8Array(b)) s += String.fromCharCode(x); done(btoa(s)); });")
    # the file offered is the library's reconstruction of the upload
    y, sr = sf.read(pyio.BytesIO(base64.b64decode(encoded)), dtype="float32")
    pipeline.reconstruct_file(ae_run, clip, tmp_path / "lib.wav", subtype="FLOAT")
    assert sr == 8000
    np.testing.assert_allclose(y, sf.read(tmp_path / "lib.wav", dtype="float32")[0], atol=1e-6, rtol=0)
    _assert_clean(browser, server)
