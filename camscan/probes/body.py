"""Read an HTTP response body under a byte cap: the one place every probe stops an endless body."""

from __future__ import annotations

import httpx


async def read_capped(resp: httpx.Response, cap: int, body: bytearray) -> bool:
    """Append the body to `body` as it arrives; True (and stop reading) once it passes `cap` bytes.

    The caller owns `body`, so what arrived before a timeout is still there. Raw bytes: probes ask for
    `Accept-Encoding: identity`, and a compressed body is never inflated past the cap.
    """
    if resp.is_stream_consumed:  # a transport that read it already (httpx.MockTransport in tests)
        body += resp.content
        return len(body) > cap
    async for chunk in resp.aiter_raw():
        body += chunk
        if len(body) > cap:
            return True
    return False
