#!/usr/bin/env bash
# `make demo`: start a simulated camera network, scan it with the real scanner, print the table,
# write a schema-checked JSON report. Root gets the namespace lab (real ARP, real MACs); others get loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
OUT=${DEMO_REPORT:-demo-report.json}
PREFIX=${DEMO_PREFIX:-csdemo}
SUBNET=${DEMO_SUBNET:-10.77.0.0/24}
code=0

netns_ok() { [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns list >/dev/null 2>&1; }

if netns_ok; then
  echo "== camscan demo: namespace lab (root): a virtual switch, one macvlan per simulated device"
  "$BIN/camscan" lab up --prefix "$PREFIX" --subnet "$SUBNET"
  trap '"$BIN/camscan" lab down --prefix "$PREFIX" >/dev/null || true' EXIT
  echo "== scanning $SUBNET from the scanner's namespace: ARP, TCP, web/RTSP banners, WS-Discovery+ONVIF, SADP, DHIP, mDNS, SSDP"
  ip netns exec "$PREFIX-scanner" "$BIN/camscan" scan "$SUBNET" --json "$OUT" --table || code=$?
else
  echo "== camscan demo: loopback lab (not root): each simulated device on its own 127.x address"
  state=$(mktemp -d)
  "$BIN/camscan" lab serve --loopback --state-dir "$state" >"$state/serve.log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$state"' EXIT
  for _ in $(seq 100); do [ -s "$state/manifest.json" ] && break; sleep 0.1; done
  [ -s "$state/manifest.json" ] || { echo "the loopback lab did not start:"; cat "$state/serve.log"; exit 3; }
  mapfile -t args < <("$BIN/python" - "$state/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
ips = [d["ip"] for d in m["devices"]]
print(f"{ips[0]}-{ips[-1].rsplit('.', 1)[1]}")
if m["port_map"]:
    print("--port-map"); print(",".join(f"{k}={v}" for k, v in m["port_map"].items()))
if m["macs_file"]:
    print("--macs"); print(m["macs_file"])
PY
)
  echo "== scanning ${args[0]} (ports remapped above 1024; MACs from the lab's file, as a DHCP export would give)"
  "$BIN/camscan" scan "${args[@]}" --no-arp --json "$OUT" --table || code=$?
fi

if [ "$code" -gt 1 ]; then echo "camscan scan failed (exit $code)"; exit "$code"; fi
"$BIN/python" - "$OUT" <<'PY'
import json, sys
import jsonschema
from camscan.report import load_schema
report = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker()).validate(report)
flagged = [d for d in report["devices"] if d["watchlisted"]]
relabels = [d for d in flagged if d["brand"] != d["manufacturer"]]
print(f"== {sys.argv[1]}: schema-valid report, {len(report['devices'])} devices, {len(flagged)} watchlisted "
      f"({len(relabels)} sold under another brand)")
for d in relabels:
    print(f"   {d['ip']:>15}  brand {d['brand']:<10} made by {d['manufacturer']:<10} {d['watchlist'][0]['reason']}")
PY
echo "== exit code $code (1 = watchlisted devices found); try: jq '.devices[] | select(.watchlisted)' $OUT"
