"""The fingerprint database under RE2 (what camscan uses) and under Python's re: speed and safety.

    .venv/bin/python bench/regex_engines.py [--rounds N] [--re-budget SECONDS]

Three measurements, each under both engines with the same patterns and flags:
1. every entry's examples matched against every entry of its field (what `fingerprints test` does);
2. a corpus of realistic banners (the lab personas' headers, realms, titles, page bodies and
   certificate names, plus every example and counterexample) matched against every field;
3. pathological values (long runs built to make backtracking engines work hardest) against the
   database, and two catastrophic user patterns against values built for them. Python's re runs
   those in a child process killed after --re-budget seconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import time
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from camscan.fingerprints import FingerprintDB
from camscan.fingerprints.linear import LinearPattern
from camscan.parse.http import extract_title, realms

ROOT = Path(__file__).resolve().parent.parent
PERSONAS = ROOT / "fixtures" / "personas"
RE_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE}
HOSTILE = [
    "a" * 65536,
    "CN=" * 20000,
    "O=HIKVISION," * 5000,
    "g_szCacheTime " * 4000,
    "Login to " * 7000,
    "1" * 65536,
    " " * 65536 + "x",
    "<title>" * 9000,
]
CATASTROPHIC = [(r"^(\d|\d\d)+ Camera$", "1" * 40 + " Cameras"), (r"\d*\d*\d*\d*\d*x", "1" * 4096)]

Search = Callable[[str], object]


def engines(db: FingerprintDB) -> dict[str, dict[str, list[Search]]]:
    """Per engine, per field: the search functions of every entry, in database order."""
    out: dict[str, dict[str, list[Search]]] = {"re2": {}, "re": {}}
    for fp in db.entries():
        flags = 0
        for ch in fp.pattern.flags:
            flags |= RE_FLAGS[ch]
        out["re2"].setdefault(fp.field, []).append(fp.pattern.search)
        out["re"].setdefault(fp.field, []).append(re.compile(fp.pattern.pattern, flags).search)
    return out


def persona_values() -> list[tuple[str, str]]:
    """(field, value) pairs a scan of the lab personas would observe."""
    pairs: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "headers" and isinstance(value, list):
                    for name, text in value:
                        if name.lower() == "server":
                            pairs.append(("http.server", text))
                        if name.lower() == "www-authenticate":
                            pairs.extend(("http.realm", r) for r in realms(text))
                elif key == "body" and isinstance(value, str) and value:
                    pairs.append(("http.body", value))
                    title = extract_title(value)
                    if title:
                        pairs.append(("http.title", title))
                elif key == "subject" and isinstance(value, str):
                    pairs.append(("tls.subject", value))
                elif key == "realm" and isinstance(value, str):
                    pairs.append(("rtsp.realm", value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted(PERSONAS.glob("*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")))
    return pairs


def timed(searches: dict[str, list[Search]], pairs: Iterable[tuple[str, str]], rounds: int) -> float:
    """Seconds per round to run every (field, value) against every entry of its field."""
    work = [(searches.get(field, []), value) for field, value in pairs]
    start = time.perf_counter()
    for _ in range(rounds):
        for funcs, value in work:
            for search in funcs:
                search(value)
    return (time.perf_counter() - start) / rounds


def _re_search(pattern: str, value: str) -> None:
    re.compile(pattern).search(value)


def re_with_budget(pattern: str, value: str, budget: float) -> float | None:
    """Seconds Python's re takes, or None when it was still running after `budget` seconds."""
    proc = multiprocessing.Process(target=_re_search, args=(pattern, value))
    start = time.perf_counter()
    proc.start()
    proc.join(budget)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--re-budget", type=float, default=10.0)
    args = parser.parse_args()
    db = FingerprintDB.builtin()
    by_engine = engines(db)
    examples = [(fp.field, ex.value) for fp in db.entries() for ex in fp.examples]
    counter = [(fp.field, c) for fp in db.entries() for c in fp.counterexamples]
    corpus = persona_values() + examples + counter
    everywhere = [(field, value) for _, value in corpus for field in db.fields()]
    hostile = [(field, value) for value in HOSTILE for field in db.fields()]
    print(f"{len(db.entries())} entries in {len(db.fields())} fields; {len(examples)} examples; "
          f"corpus {len(corpus)} values ({len(everywhere)} value x field pairs)")  # fmt: skip
    print(f"{'workload':44s} {'re2 (ms)':>10s} {'re (ms)':>10s}")
    for name, pairs, rounds in (
        ("examples vs their field (self-test)", examples, args.rounds),
        ("realistic corpus vs every field", everywhere, args.rounds),
        ("pathological values vs every field", hostile, max(1, args.rounds // 10)),
    ):
        fast = timed(by_engine["re2"], pairs, rounds) * 1000
        slow = timed(by_engine["re"], pairs, rounds) * 1000
        print(f"{name:44s} {fast:10.1f} {slow:10.1f}")
    for pattern, value in CATASTROPHIC:
        start = time.perf_counter()
        LinearPattern(pattern).search(value)
        fast = time.perf_counter() - start
        slow = re_with_budget(pattern, value, args.re_budget)
        shown = f"> {args.re_budget:g} s (killed)" if slow is None else f"{slow:.3f} s"
        print(f"user pattern {pattern!r} on {len(value)} chars: re2 {fast * 1000:.3f} ms, re {shown}")


if __name__ == "__main__":
    main()
