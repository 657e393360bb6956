"""Headless Chromium (Debian's `chromium`) over its DevTools protocol: render a page, read it, shoot it.

Chromium runs with a fresh profile, no network services of its own (background networking, component updates,
sync off), and loads only the file it is given. Screenshots are kept under test-artifacts/ (or
$CAMSCAN_TEST_ARTIFACTS) and listed at the end of the test run.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0",
         "--remote-allow-origins=*", "--window-size=1200,1600")  # fmt: skip
ARTIFACTS = Path(
    os.environ.get("CAMSCAN_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts")
)
WRITTEN: list[Path] = []
_LISTENING = re.compile(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/")


def chromium_unavailable() -> str | None:
    """Why headless Chromium cannot run here, or None."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "Debian's chromium is not installed (apt-get install chromium; make setup does it as root)"
    return None


def require_chromium() -> None:
    """Skip (fail under CI=true) without Chromium."""
    reason = chromium_unavailable()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Chromium unavailable under CI: {reason}")
        pytest.skip(reason)


class Page:
    """One page over the DevTools protocol."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events in between are dropped)."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        """A JavaScript expression's value (JSON-serialisable)."""
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer["result"].get("value")

    def open(self, url: str, timeout: float = 20.0) -> None:
        """Navigate and wait until the document has loaded."""
        self.call("Page.navigate", url=url)
        ends = time.monotonic() + timeout
        while self.evaluate("document.readyState") != "complete" or self.evaluate("location.href") != url:
            if time.monotonic() > ends:
                raise AssertionError(f"{url} did not load in {timeout} s")
            time.sleep(0.05)

    def screenshot(self, name: str) -> Path:
        """The whole page as PNG, kept as a test artefact."""
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(shot["data"]))
        WRITTEN.append(path)
        return path


@contextmanager
def chromium() -> Iterator[Page]:
    """A headless Chromium with one blank page; stopped (by its pid) and its profile removed afterwards."""
    profile = Path(tempfile.mkdtemp(prefix="camscan-chromium-"))
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port = _devtools_port(proc)
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10, trust_env=False).json()
        url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        with connect(url, max_size=64 * 1024 * 1024, open_timeout=10) as ws:
            yield Page(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(proc: subprocess.Popen[str], timeout: float = 30.0) -> int:
    assert proc.stderr is not None
    ends = time.monotonic() + timeout
    seen = []
    while time.monotonic() < ends:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        found = _LISTENING.search(line)
        if found:
            return int(found.group(1))
    raise AssertionError(f"chromium did not start its DevTools server: {''.join(seen)[-600:]}")
