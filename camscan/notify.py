"""Telling others what changed, with no new service: the diff JSON to a file, to a webhook, or to syslog."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from camscan import __version__
from camscan.report.atomic import write_atomic
from camscan.sites import Notify
from camscan.snmpconfig import read_secret

WEBHOOK_TIMEOUT = 10.0
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF = 1.0  # seconds before the second attempt; doubled before the third
SIGNATURE_HEADER = "X-Camscan-Signature"  # "sha256=" + HMAC-SHA256 of the body with the shared secret
DEFAULT_SYSLOG = "/dev/log"


class NotifyError(Exception):
    """A notification could not be delivered; str() is one line without the secret."""


def webhook_secret(notify: Notify, allow_readable: bool = False) -> str | None:
    """The webhook's shared secret, from its file (owner-only) or environment variable."""
    if notify.webhook_secret_file is not None:
        return read_secret(notify.webhook_secret_file, "webhook secret", allow_readable)
    if notify.webhook_secret_env is not None:
        value = os.environ.get(notify.webhook_secret_env)
        if not value:
            raise NotifyError(f"webhook secret: environment variable {notify.webhook_secret_env} is not set")
        return value
    return None


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(url: str, payload: Mapping[str, Any], secret: str | None) -> int:
    """POST the JSON; retry on a network error or a 5xx/429 answer; return the final status code."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"camscan/{__version__}"}
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    problem = ""
    with httpx.Client(timeout=WEBHOOK_TIMEOUT, trust_env=False, follow_redirects=False) as client:
        for attempt in range(WEBHOOK_ATTEMPTS):
            if attempt:
                time.sleep(WEBHOOK_BACKOFF * 2 ** (attempt - 1))
            try:
                response = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}"
                continue
            if response.status_code < 500 and response.status_code != 429:
                if response.status_code >= 400:
                    raise NotifyError(f"webhook {_host(url)}: HTTP {response.status_code}")
                return response.status_code
            problem = f"HTTP {response.status_code}"
    raise NotifyError(f"webhook {_host(url)}: {problem} after {WEBHOOK_ATTEMPTS} attempts")


def _host(url: str) -> str:
    return httpx.URL(url).host or "?"  # never the path or query, which may carry a token


def send_syslog(address: str, summary: str, payload: Mapping[str, Any]) -> None:
    """One syslog message (facility daemon, tag camscan): the summary line and the diff's counts as JSON."""
    handler = logging.handlers.SysLogHandler(
        address=address or DEFAULT_SYSLOG, facility=logging.handlers.SysLogHandler.LOG_DAEMON
    )
    try:
        counts = json.dumps(
            {"site": payload.get("site"), "counts": payload.get("counts")}, separators=(",", ":")
        )
        level = logging.WARNING if payload.get("exit_code") == 1 else logging.INFO
        record = logging.LogRecord("camscan", level, __file__, 0, f"camscan: {summary} {counts}", None, None)
        handler.emit(record)
    finally:
        handler.close()


def deliver(
    notify: Notify, payload: Mapping[str, Any], summary: str, allow_readable: bool = False
) -> list[str]:
    """Send the diff everywhere the site asks; returns one problem line per failed channel (never raises)."""
    problems = []
    if notify.file is not None:
        try:
            write_atomic(str(notify.file), json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            problems.append(f"notify file {notify.file}: {exc.strerror or exc}")
    if notify.webhook is not None:
        try:
            post_webhook(notify.webhook, payload, webhook_secret(notify, allow_readable))
        except Exception as exc:  # a webhook down must not lose the sweep: say so and go on
            problems.append(
                str(exc) if isinstance(exc, NotifyError) else f"webhook: {type(exc).__name__}: {exc}"
            )
    if notify.syslog is not None:
        try:
            send_syslog(notify.syslog, summary, payload)
        except OSError as exc:
            problems.append(f"syslog {notify.syslog or DEFAULT_SYSLOG}: {exc.strerror or exc}")
    return problems


def notify_file_path(path: Path, site: str) -> Path:
    """A notify or export path with `{site}` filled in."""
    return Path(str(path).replace("{site}", site))
