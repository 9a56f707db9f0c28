"""Screenshots of ``tympan serve``'s page for ``docs/serving.md``, taken in headless Chromium.

    .venv/bin/python benchmarks/serve_screenshots.py              # writes docs/images/serve-page-*.png
    .venv/bin/python benchmarks/serve_screenshots.py runs/digits --out /tmp/shots

The page is served by uvicorn on a free loopback port, as ``tympan serve RUN`` serves it; the
model is RUN, or ``runs/demo`` when it exists (``tympan demo`` writes it), or a small classifier
trained here on the bundled FSDD digits (speaker theo held out, ``--epochs`` 20).  Two states are
saved: ``serve-page-upload.png`` after uploading one of theo's recordings, and
``serve-page-microphone.png`` while the live mode streams Chromium's fake microphone, which
plays a loop of theo's digits 2, 5, 9, 0, 6, 3 (16-bit WAV at 48 kHz).  Needs Chromium and
chromedriver (``make chromium``) and the ``serve`` and ``dev`` extras.  The same page is tested in
``tests/serve/test_browser.py``.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tympan import data, io
from tympan.serve import create_app

ROOT = Path(__file__).resolve().parents[1]
DIGITS = (2, 5, 9, 0, 6, 3)
WAIT = 120


def model_run(work: Path, epochs: int) -> Path:
    """``runs/demo``, or a small classifier trained here (speaker theo held out)."""
    demo = ROOT / "runs" / "demo"
    if (demo / "pipeline.json").is_file():
        return demo
    from tympan import pipeline

    config = pipeline.PipelineConfig(training=pipeline.TrainConfig(epochs=epochs))
    out = work / "digits"
    pipeline.train(data.demo_dir(), config, discovery={"labels_from": "regex", "pattern": "fsdd"},
                   split_options={"test_groups": ["theo"]}, out=out, overwrite=True, verbose=0)
    return out


def serve(run: Path) -> tuple[str, uvicorn.Server, threading.Thread]:
    """uvicorn serving ``run`` on a free loopback port, once ``/readyz`` answers 200."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app([run]), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while True:
        try:
            with urllib.request.urlopen(origin + "/readyz", timeout=5) as r:
                if r.status == 200:
                    return origin, server, thread
        except OSError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the server did not get ready")
        time.sleep(0.2)


def chromium(microphone: Path) -> webdriver.Chrome:
    """Headless Chromium whose microphone plays ``microphone``."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise SystemExit("needs chromium and chromedriver: run `make chromium`")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1100",
                "--hide-scrollbars", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver), options=options)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", help="an artifact folder (default: runs/demo or one trained here)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    ap.add_argument("--epochs", type=int, default=20, help="of the model trained here")
    ap.add_argument("--windows", type=int, default=12, help="live windows shown before the screenshot")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="serve-screenshots-") as work:
        work = Path(work)
        run = Path(args.run) if args.run else model_run(work, args.epochs)
        speech = np.concatenate([sf.read(data.demo_dir() / f"{d}_theo_2.wav", dtype="float32")[0]
                                 for d in DIGITS])
        microphone = work / "microphone.wav"
        sf.write(microphone, io.resample(speech, orig_sr=8000, target_sr=48000), 48000, subtype="PCM_16")
        origin, server, thread = serve(run)
        driver = chromium(microphone)
        try:
            wait = WebDriverWait(driver, WAIT)
            driver.get(origin + "/")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
            page = driver.find_element(By.TAG_NAME, "body")
            driver.find_element(By.ID, "file").send_keys(str(data.demo_dir() / "7_theo_3.wav"))
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#bars .bar"))
            time.sleep(0.3)  # the waveform is drawn after the browser decodes the file
            page.screenshot(str(out / "serve-page-upload.png"))
            driver.find_element(By.ID, "live").click()
            shown = f"window {args.windows},"
            wait.until(lambda d: d.find_element(By.ID, "live-info").text.startswith(shown))
            page.screenshot(str(out / "serve-page-microphone.png"))
            driver.find_element(By.ID, "live-stop").click()
        finally:
            driver.quit()
            server.should_exit = True
            thread.join(30)
    for name in ("serve-page-upload.png", "serve-page-microphone.png"):
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
