"""The routed lab router's SNMP agent: Debian's net-snmp `snmpd`, read-only, inside the router's namespace.

It answers SNMPv2c for one community and SNMPv3 for one user (authPriv, SHA and AES), both with fresh random
secrets on every `up`, written to files in the lab's state dir (mode 0600) for the scanner to be given. The
router's kernel ARP table (ipNetToPhysicalTable, ipNetToMediaTable) is what a scanner reads the routed
devices' MACs from. The agent runs in the router's namespace, so it can listen on no other network.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from camlab.nsops import stop_pids
from camlab.plan import LabError, LabInputError

PORT = 161
USER = "camlab"
AUTH, PRIV = "SHA", "AES"
READY_TIMEOUT = 15.0
READY_LINE = "NET-SNMP version"  # snmpd logs it once its ports are bound


def _secret_file(path: Path, value: str) -> Path:
    """Write a secret readable by root only (created 0600, never briefly wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return path


def config(community: str, auth_key: str, priv_key: str, allowed: str, sys_name: str) -> str:
    """snmpd.conf: read-only v2c from `allowed` only, a read-only authPriv v3 user, and who the router is."""
    return "\n".join(
        [
            f"agentAddress udp:{PORT}",  # every address of the router's namespace, and only there
            f"rocommunity {community} {allowed}",
            f'createUser {USER} {AUTH} "{auth_key}" {PRIV} "{priv_key}"',
            f"rouser {USER} priv",
            f"sysName {sys_name}",
            "sysDescr camlab routed-lab router (Linux, net-snmp)",
            "sysLocation camlab",
            "sysContact camlab",
            "sysServices 76",
            "",
        ]
    )


def camscan_configs(home: Path, network: str, router: str) -> dict[str, str]:
    """camscan --config files asking this agent for `network`'s MACs: one with the v2c community, one as v3.

    They name the secret files (relative to themselves, as camscan reads them) and hold no secret.
    """
    entry = [f'network = "{network}"', f'router = "{router}"', f"port = {PORT}"]
    texts = {
        "v2c": [*entry, 'version = "2c"', 'community_file = "community"'],
        "v3": [*entry, 'version = "3"', f'user = "{USER}"', f'auth_protocol = "{AUTH}"',
               'auth_password_file = "v3-auth"', f'priv_protocol = "{PRIV}"',
               'priv_password_file = "v3-priv"'],
    }  # fmt: skip
    paths = {}
    for version, lines in texts.items():
        path = home / f"camscan-{version}.toml"
        head = "# camlab routed lab: the router's ARP table over SNMP (camscan scan --config this-file)"
        path.write_text("\n".join([head, "[[snmp]]", *lines]) + "\n", encoding="utf-8")
        paths[version] = str(path)
    return paths


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if READY_LINE in text:
            return
        if proc.poll() is not None:
            tail = text.strip().splitlines()[-1:]
            raise LabError(f"snmpd exited ({proc.returncode}): {tail[0] if tail else 'no output'}")
        time.sleep(0.05)
    stop_pids([proc.pid])
    raise LabError(f"snmpd not ready after {READY_TIMEOUT:.0f}s (see {log})")


def start(
    router_ns: str, state_dir: Path, *, address: str, allowed: str, sys_name: str, network: str
) -> dict[str, Any]:
    """Start snmpd in the router's namespace; the manifest's `snmp` entry (secrets only as file names)."""
    snmpd = shutil.which("snmpd")
    if snmpd is None:
        raise LabInputError("the routed lab's router needs snmpd: apt-get install snmpd")
    home = state_dir / "snmp"
    (home / "persist").mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    community = f"camlab-{secrets.token_hex(8)}"
    auth_key, priv_key = secrets.token_hex(12), secrets.token_hex(12)
    files = {
        "community": _secret_file(home / "community", community),
        "auth": _secret_file(home / "v3-auth", auth_key),
        "priv": _secret_file(home / "v3-priv", priv_key),
    }
    conf = _secret_file(home / "snmpd.conf", config(community, auth_key, priv_key, allowed, sys_name))
    log = home / "snmpd.log"
    log.unlink(missing_ok=True)
    # MIBS="" loads no MIB files (Debian ships none; numeric OIDs need none); -C: read no other config
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(home / "persist")}
    cmd = ["ip", "netns", "exec", router_ns, snmpd, "-f", "-C", "-c", str(conf), "-Lf", str(log)]
    # Debian's snmpd in the router namespace, argv built here (no shell)
    proc = subprocess.Popen(  # noqa: S603
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    _wait_ready(proc, log)
    proc.returncode = 0  # it outlives us on purpose (`down` stops it by PID); keep Popen from warning
    return {
        "address": address,
        "port": PORT,
        "pid": proc.pid,
        "allowed_sources": allowed,
        "v2c": {"community_file": str(files["community"])},
        "v3": {
            "user": USER,
            "security_level": "authPriv",
            "auth_protocol": AUTH,
            "priv_protocol": PRIV,
            "auth_file": str(files["auth"]),
            "priv_file": str(files["priv"]),
        },
        "config_file": str(conf),
        "camscan_config": camscan_configs(home, network, address),
    }
