"""Notifications with no new service: the diff JSON to a file, to a webhook (signed, retried), to syslog."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from camscan import notify
from camscan.sites import Notify

PAYLOAD = {"site": "hq", "counts": {"new": 1, "newly_watchlisted": 1}, "exit_code": 1, "changes": {}}


class Hook(BaseHTTPRequestHandler):
    """Answers 503 to the first POST, 204 to the next; keeps what it received."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(503 if len(self.received) == 1 else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/camscan?token=abc"
    finally:
        server.shutdown()
        server.server_close()


def test_the_webhook_is_retried_and_signed_with_the_secret(
    hook: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(notify, "WEBHOOK_BACKOFF", 0.01)
    monkeypatch.setenv("HOOK_SECRET", "s3cret-hook")
    problems = notify.deliver(Notify(webhook=hook, webhook_secret_env="HOOK_SECRET"), PAYLOAD, "summary")
    assert problems == []
    assert len(Hook.received) == 2  # a 503 first, then delivered
    headers, body = Hook.received[-1]
    assert json.loads(body) == PAYLOAD
    assert headers[notify.SIGNATURE_HEADER] == notify.signature("s3cret-hook", body)


def test_a_webhook_that_stays_down_is_one_warning_without_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "WEBHOOK_BACKOFF", 0.01)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    problems = notify.deliver(Notify(webhook=f"http://127.0.0.1:{port}/x?token=abc"), PAYLOAD, "summary")
    assert len(problems) == 1 and "after 3 attempts" in problems[0] and "token" not in problems[0]


def test_syslog_and_file_get_the_changes(tmp_path: Path) -> None:
    address = tmp_path / "log.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as log:
        log.bind(str(address))
        out = tmp_path / "changes.json"
        problems = notify.deliver(Notify(file=out, syslog=str(address)), PAYLOAD, "site hq: 1 new")
        message = log.recv(4096).decode()
    assert problems == []
    assert message.startswith("<28>") and "camscan: site hq: 1 new" in message  # daemon.warning: exit 1
    assert json.loads(out.read_text()) == PAYLOAD
