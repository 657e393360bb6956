"""CPU one hostile page costs: Python's punycode codec (what a page could pick) vs camscan's decoding.

    .venv/bin/python bench/charset_cpu.py

The page is valid punycode built so that every decoded character is inserted near the front of a long
list: Python's pure-Python decoder then does quadratic work. camscan honours only web charsets, so the
same page is read as Latin-1. Every web charset's decoder is timed on 64 KiB of random bytes as well.
"""

from __future__ import annotations

import random
import time

import webencodings

from camscan.parse.charset import codec_for
from camscan.parse.http import decode_page


def punycode_page(size: int) -> bytes:
    """size bytes of valid punycode whose decoding inserts each character near the front."""
    basic = size // 2
    return ("é" * (size - basic - 8) + "a" * basic).encode("punycode")


def cpu(fn: object, *args: object, repeat: int = 3) -> float:
    """Best of `repeat` CPU times of fn(*args), in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn(*args)  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    print("size      python punycode   camscan (Latin-1)")
    for kib in (16, 32, 64, 128):
        raw = punycode_page(kib * 1024)
        slow = cpu(bytes.decode, raw, "punycode", "replace")
        fast = cpu(decode_page, raw, "text/html; charset=punycode")
        print(f"{kib:4d} KiB  {slow * 1000:10.1f} ms     {fast * 1000:10.3f} ms")
    noise = random.Random(7).randbytes(64 * 1024)  # noqa: S311 -- test data, not a secret
    worst = ("", 0.0)
    for label in sorted(set(webencodings.LABELS)):
        info = codec_for(label)
        if info is None:
            continue
        took = cpu(info.decode, noise, "replace", repeat=1)
        worst = max(worst, (label, took), key=lambda item: item[1])
    print(f"slowest web charset on 64 KiB of random bytes: {worst[0]} {worst[1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
