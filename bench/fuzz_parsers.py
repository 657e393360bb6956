"""Coverage-guided fuzzing (atheris/libFuzzer) of every parser, decoder and the fingerprint matcher.

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python bench/fuzz_parsers.py --list
    .venv/bin/python bench/fuzz_parsers.py --all --seconds 90          # each target in turn, a table
    .venv/bin/python bench/fuzz_parsers.py --target rtsp --runs 200000  # one target (libFuzzer output)

Each target feeds the fuzzed bytes to one entry point the way a device's bytes reach it. An entry
point may refuse its input only with the error it declares (its ParseError, a ValueError a
datagram decoder raises for "malformed"); any other exception is a finding: libFuzzer stops, prints
the traceback and writes the input to crash-<sha1> in the working directory. An input that takes
longer than --input-timeout seconds is a finding too (a CPU-bound path a device could trigger).
Seed inputs are the recorded device answers under fixtures/.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camscan.fingerprints import FingerprintDB

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

Target = Callable[[bytes], None]


def _targets() -> dict[str, tuple[Target, list[bytes]]]:
    """name -> (entry point taking fuzzed bytes, seed inputs). Imports are instrumented by the caller."""
    import atheris

    from camscan.fingerprints import FingerprintDB
    from camscan.fingerprints.linear import LinearPattern, PatternError
    from camscan.oui import normalise_mac
    from camscan.parse import (
        charset,
        dhip,
        dvrip,
        fields,
        icmp,
        netbios,
        ptr,
        rtsp,
        sadp,
        snmp,
        soap,
        upnp,
        urls,
        webpage,
        xmlsafe,
    )
    from camscan.parse import http as phttp
    from camscan.probes import dhip as dhip_probe
    from camscan.probes import dvrip as dvrip_probe
    from camscan.probes import sadp as sadp_probe
    from camscan.probes import ssdp as ssdp_probe
    from camscan.probes import wsdiscovery
    from camscan.probes.mdns import service_observations
    from camscan.probes.udp import Reject

    db = FingerprintDB.builtin()
    db_fields = db.fields()
    ws_decode = wsdiscovery.decoder(["urn:uuid:00000000-0000-0000-0000-000000000001"])

    def http_page(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        content_type = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 80))
        page = phttp.decode_page(fdp.ConsumeBytes(fdp.remaining_bytes()), content_type or None)
        phttp.extract_title(page.text)

    def web_page(data: bytes) -> None:
        found = webpage.page_fields(data.decode("utf-8", "replace"))
        webpage.first_redirect(found)

    def icmp_reply(data: bytes) -> None:
        for with_ip_header in (True, False):
            with contextlib.suppress(icmp.IcmpParseError):
                icmp.echo_reply(data, with_ip_header=with_ip_header)

    def http_challenges(data: bytes) -> None:
        phttp.realms(data.decode("latin-1"))

    def charset_decode(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        label = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 60))
        charset.decode(fdp.ConsumeBytes(fdp.remaining_bytes()), label)

    def rtsp_response(data: bytes) -> None:
        with contextlib.suppress(rtsp.RtspParseError):
            rtsp.parse_response(data, 16 * 1024)

    def xml(data: bytes) -> None:
        with contextlib.suppress(xmlsafe.XmlError):
            xmlsafe.parse_document(data, max_bytes=64 * 1024)

    def soap_docs(data: bytes) -> None:
        parsers = (soap.parse_probe_matches, soap.parse_device_information, soap.parse_fault)
        parsers += (soap.parse_probe,)
        for parse in parsers:
            with contextlib.suppress(soap.SoapParseError):
                parse(data)

    def upnp_docs(data: bytes) -> None:
        for parse in (upnp.parse_search_reply, upnp.parse_description):
            with contextlib.suppress(upnp.UpnpParseError):
                parse(data)

    def sadp_reply(data: bytes) -> None:
        with contextlib.suppress(sadp.SadpParseError):
            sadp.parse_probe_match(data)

    def dhip_reply(data: bytes) -> None:
        with contextlib.suppress(dhip.DhipParseError):
            dhip.parse_reply(data)

    def dvrip_reply(data: bytes) -> None:
        with contextlib.suppress(dvrip.DvripParseError):
            dvrip.parse_reply(data)

    def datagram_decoders(data: bytes) -> None:
        # The Collector's contract: a decoder may raise Reject or ValueError ("malformed"), nothing else.
        decoders = (sadp_probe.decode, dhip_probe.decode, dvrip_probe.decode, ssdp_probe.decode_reply)
        decoders += (ws_decode,)
        for decode in decoders:
            with contextlib.suppress(Reject, ValueError):
                for obs in decode(data, "192.0.2.7"):
                    obs.value.encode("utf-8")  # reports are UTF-8: a lone surrogate would fail to write

    def netbios_reply(data: bytes) -> None:
        # The transaction id is the reply's own: the node-name table is always parsed, never cut at the id.
        with contextlib.suppress(netbios.NetbiosParseError):
            status = netbios.parse_reply(data, int.from_bytes(data[:2], "big"))
            status.host_name()

    ptr_query = ptr.reverse_query("192.0.2.7", recursion=True)

    def ptr_reply(data: bytes) -> None:
        # The reply carries our id, so dnspython's whole message parser and the PTR filter see every input.
        with contextlib.suppress(ptr.PtrParseError):
            for name in ptr.parse_reply(ptr_query.to_wire()[:2] + data[2:], ptr_query):
                name.encode("ascii")

    def same_host(data: bytes) -> None:
        with contextlib.suppress(urls.NotSameHost):
            urls.pin(data.decode("utf-8", "replace"), "192.0.2.7", base="http://192.0.2.7:80/a/")

    def text_fields(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        fields.port(text)
        fields.ipv4(text)
        normalise_mac(text)
        soap.decode_scopes(text.split())
        soap.mac_from_endpoint(text)

    def mdns_instance(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        # zeroconf decodes names from UTF-8: they hold no surrogates
        name = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 300))
        server = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 300))
        props: dict[bytes, bytes | None] = {}
        for _ in range(fdp.ConsumeIntInRange(0, 40)):
            key = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40))
            props[key] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300)) if fdp.ConsumeBool() else None
        for obs in service_observations("_http._tcp.local.", name, server, props):
            obs.value.encode("utf-8")

    def snmp_rows(data: bytes) -> None:
        # An agent's walk: (OID, value) rows, mostly under the neighbour-table columns, values bytes or ints.
        fdp = atheris.FuzzedDataProvider(data)
        columns = (*snmp.PHYSICAL_COLUMNS, *snmp.MEDIA_COLUMNS)
        rows: list[tuple[tuple[int, ...], bytes | int]] = []
        for _ in range(fdp.ConsumeIntInRange(0, 64)):
            base = columns[fdp.ConsumeIntInRange(0, len(columns) - 1)] if fdp.ConsumeBool() else ()
            index = tuple(fdp.ConsumeIntInRange(0, 2**32) for _ in range(fdp.ConsumeIntInRange(0, 20)))
            value = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 12)) if fdp.ConsumeBool() else fdp.ConsumeInt(8)
            rows.append(((*base, *index), value))
        snmp.decode_neighbours(rows)

    def matcher(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        field = db_fields[fdp.ConsumeIntInRange(0, len(db_fields) - 1)]
        value = fdp.ConsumeUnicode(fdp.remaining_bytes())
        for match in db.match_all(field, value):
            db.excerpt(match, value)

    def user_pattern(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        pattern = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(1, 200))
        flags = "".join(ch for ch in "ism" if fdp.ConsumeBool())
        try:
            compiled = LinearPattern(pattern, flags)
        except PatternError:
            return
        hit = compiled.search(fdp.ConsumeUnicode(fdp.remaining_bytes()))
        if hit is not None:
            hit.groupdict()

    xml_seeds = _files("sadp", "wsd", "onvif", "upnp", suffix=".xml")
    return {
        "http-page": (http_page, _http_seeds()),
        "webpage": (web_page, [s[24:] for s in _http_seeds()]),
        "icmp": (icmp_reply, [icmp.echo_request(7, 1)]),
        "http-challenges": (http_challenges, [b'Digest realm="IP Camera(C2183)", nonce="4", Basic realm=x']),
        "charset": (charset_decode, [b"\x08GB2312\xd6\xd0\xce\xc4", b"\x08punycodeabc-def"]),
        "rtsp": (rtsp_response, _toml_strings("rtsp")),
        "xml": (xml, xml_seeds),
        "soap": (soap_docs, _files("wsd", "onvif", suffix=".xml")),
        "upnp": (upnp_docs, _files("upnp", suffix="")),
        "sadp": (sadp_reply, _files("sadp", suffix=".xml")),
        "dhip": (dhip_reply, _dhip_seeds()),
        "dvrip": (dvrip_reply, _dvrip_seeds()),
        "datagrams": (datagram_decoders, xml_seeds + _dhip_seeds() + _dvrip_seeds()),
        "text-fields": (
            text_fields,
            [b"37777", b"192.0.2.1", b"44:19:b6:12:34:56", b"onvif://www.onvif.org/name/X"],
        ),
        "mdns": (mdns_instance, [b"\x10AXIS M3045-V - ACCC8E4D000A"]),
        "netbios": (netbios_reply, [netbios.build_query(7)]),
        "ptr": (ptr_reply, [ptr_query.to_wire()]),
        "urls": (same_host, [b"/index.asp", b"https://u:p@192.0.2.7:8443/x?y#z", b"//192.0.2.8/"]),
        "snmp": (snmp_rows, [b"\x01" * 64, bytes(range(256))]),
        "matcher": (matcher, _match_seeds(db)),
        "user-pattern": (user_pattern, [b"\x10^(\\d|\\d\\d)+ Camera$\x011111111111 Camera"]),
    }


def _files(*folders: str, suffix: str) -> list[bytes]:
    return [p.read_bytes() for f in folders for p in sorted((FIXTURES / f).glob(f"*{suffix}")) if p.is_file()]


def _toml_strings(folder: str) -> list[bytes]:
    out: list[bytes] = []
    for path in sorted((FIXTURES / folder).glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        skip = ("description", "facts")
        out.extend(v.encode() for k, v in doc.items() if isinstance(v, str) and k not in skip)
    return out


def _dhip_seeds() -> list[bytes]:
    out: list[bytes] = []
    for path in sorted((FIXTURES / "dhip").glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        if "header" in doc and "body" in doc:
            out.append(bytes.fromhex(doc["header"].replace(" ", "")) + doc["body"].encode())
    return out


def _dvrip_seeds() -> list[bytes]:
    from camscan.parse import dvrip

    return [dvrip.build_search()] + [s for s in _toml_strings("dhip") if s[:2] == dvrip.REPLY_MAGIC]


def _http_seeds() -> list[bytes]:
    out: list[bytes] = []
    for path in sorted((FIXTURES / "http").glob("*.toml")):
        for response in tomllib.loads(path.read_text(encoding="utf-8")).get("response", []):
            body = response.get("body", "").encode(response.get("body_charset", "utf-8"))
            out.append(b"\x18text/html; charset=" + response.get("body_charset", "utf-8").encode() + body)
    return out


def _match_seeds(db: FingerprintDB) -> list[bytes]:
    names = db.fields()
    return [bytes([names.index(fp.field)]) + ex.value.encode() for fp in db.entries() for ex in fp.examples]


def run_one(name: str, args: argparse.Namespace) -> None:
    """Fuzz one target in this process (libFuzzer owns the process from here)."""
    import atheris

    with atheris.instrument_imports(include=["camscan"]):
        targets = _targets()
    target, seeds = targets[name]
    corpus = Path(tempfile.mkdtemp(prefix=f"camscan-fuzz-{name}-"))
    for seed in seeds:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)  # noqa: S324 -- a file name, not security
    libfuzzer = [sys.argv[0], str(corpus), f"-timeout={args.input_timeout}", f"-max_len={args.max_len}",
                 f"-rss_limit_mb={args.rss_mb}", "-print_final_stats=1"]  # fmt: skip
    if args.runs:
        libfuzzer.append(f"-runs={args.runs}")
    if args.seconds:
        libfuzzer.append(f"-max_total_time={int(args.seconds)}")
    atheris.Setup(libfuzzer, target)
    atheris.Fuzz()


def run_all(args: argparse.Namespace, names: list[str]) -> int:
    """Each target in its own process, one after the other; a table of inputs, time and findings."""
    print(f"{'target':18s} {'inputs':>11s} {'seconds':>8s} {'inputs/s':>9s}  findings")
    total_runs, total_time, failed = 0, 0.0, 0
    for name in names:
        cmd = [sys.executable, __file__, "--target", name, "--input-timeout", str(args.input_timeout),
               "--max-len", str(args.max_len), "--rss-mb", str(args.rss_mb)]  # fmt: skip
        cmd += ["--seconds", str(args.seconds)] if args.seconds else ["--runs", str(args.runs)]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 -- this script
        took = time.monotonic() - start
        out = proc.stdout + proc.stderr
        runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
        runs = runs or re.findall(r"Done (\d+) runs", out)
        count = int(runs[-1]) if runs else 0
        finding = "none" if proc.returncode == 0 else _finding(out, proc.returncode)
        failed += proc.returncode != 0
        total_runs += count
        total_time += took
        print(f"{name:18s} {count:11,d} {took:8.0f} {count / max(took, 1e-9):9,.0f}  {finding}", flush=True)
        if proc.returncode != 0:
            (Path(tempfile.gettempdir()) / f"camscan-fuzz-{name}.log").write_text(out)
    print(f"{'total':18s} {total_runs:11,d} {total_time:8.0f}")
    return 1 if failed else 0


def _finding(out: str, code: int) -> str:
    for pattern in (r"=== Uncaught Python exception: ===\n(.+)", r"ERROR: libFuzzer: (.+)"):
        m = re.search(pattern, out)
        if m:
            return m.group(1).strip()[:100]
    return f"exit {code}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="fuzz one target in this process")
    parser.add_argument("--all", action="store_true", help="fuzz every target in turn and print a table")
    parser.add_argument("--only", default="", help="with --all: comma-separated target names")
    parser.add_argument("--list", action="store_true", help="list the targets")
    parser.add_argument("--seconds", type=float, default=0, help="time budget per target")
    parser.add_argument("--runs", type=int, default=0, help="input budget per target")
    parser.add_argument("--input-timeout", type=int, default=5, help="seconds one input may take")
    parser.add_argument("--max-len", type=int, default=65536, help="largest input, bytes")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit")
    args, _ = parser.parse_known_args()
    if not (args.seconds or args.runs):
        args.seconds = 60
    if args.list or args.all:
        names = list(_targets())
        if args.list:
            print("\n".join(names))
            return 0
        wanted = [n for n in args.only.split(",") if n] or names
        return run_all(args, wanted)
    if args.target:
        run_one(args.target, args)
        return 0
    parser.print_usage()
    return 2


if __name__ == "__main__":
    sys.exit(main())
