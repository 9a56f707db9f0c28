"""`tympan serve` as a command: its options, and a real uvicorn server on loopback."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import uvicorn
from click.testing import CliRunner

from tympan import data, pipeline
from tympan.cli.main import cli
from tympan.serve import create_app


def test_help_lists_the_options():
    out = CliRunner().invoke(cli, ["serve", "--help"]).output
    for option in ("--host", "--port", "--api-key", "TYMPAN_API_KEY", "--max-upload-mb", "--max-duration",
                   "--queue-size", "--timeout", "--max-batch", "--max-wait-ms", "--runtime"):
        assert option in out


def test_a_real_server_answers_and_refuses_a_chunked_upload_early(run):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app([run], max_upload_bytes=50_000), host="127.0.0.1",
                                           port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(300):
            if server.started:
                break
            time.sleep(0.05)
        clip = data.demo_dir() / "4_theo_3.wav"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/predict", body=clip.read_bytes(), headers={"X-Filename": clip.name})
        r = conn.getresponse()
        assert r.status == 200
        assert json.loads(r.read())["label"] == pipeline.predict(run, clip)[0].label
        sent = 0

        def chunks():  # 1 MB in 8 KB chunks, no Content-Length
            nonlocal sent
            for _ in range(128):
                sent += 1
                yield b"\0" * 8192

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/predict", body=chunks(), encode_chunked=True)
        except OSError:  # the server may close before the client finished sending
            pass
        r = conn.getresponse()
        assert r.status == 413 and b"50000 bytes" in r.read()
    finally:
        server.should_exit = True
        thread.join(30)
