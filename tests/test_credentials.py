"""ONVIF credentials come only from the user, by subnet, and never show up in output."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camscan import cli
from camscan.context import OnvifCredentials
from camscan.credentials import CredentialError, onvif_credentials

SECRET = "s3cret-Pa55"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)  # a password file others can read is refused (see below)
    return path


def test_config_entries_by_subnet_most_specific_first(tmp_path: Path) -> None:
    write(tmp_path / "site.pw", SECRET + "\n")
    write(tmp_path / "nvr.pw", "other\n")
    cfg = write(
        tmp_path / "camscan.toml",
        """
[[onvif]]
network = "10.1.0.0/16"
username = "audit"
password_file = "site.pw"

[[onvif]]
network = "10.1.5.0/24"
username = "nvr-audit"
password_file = "nvr.pw"
""",
    )
    creds = onvif_credentials("fallback", write(tmp_path / "all.pw", "x\n"), cfg)
    assert [str(net) for net, _ in creds] == ["10.1.5.0/24", "10.1.0.0/16", "0.0.0.0/0"]
    assert creds[1][1] == OnvifCredentials("audit", SECRET)


def test_credentials_never_appear_in_reprs() -> None:
    creds = OnvifCredentials("audit", SECRET)
    assert SECRET not in repr(creds) and "audit" not in repr(creds)
    assert SECRET not in repr((IPv4Network("10.0.0.0/8"), creds))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('[[onvif]]\nnetwork = "10.0.0.0/8"\nusername = "a"\npassword = "plain"\n', "password_file"),
        ('[[onvif]]\nnetwork = "10.0.0.999/8"\nusername = "a"\npassword_file = "p"\n', "CIDR"),
        ("[[onvif]\n", "not valid TOML"),
        ('[smtp]\nhost = "x"\n', "unknown section"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, content: str, words: str) -> None:
    cfg = write(tmp_path / "c.toml", content)
    with pytest.raises(CredentialError, match=words) as info:
        onvif_credentials(None, None, cfg)
    assert "plain" not in str(info.value)


def test_user_without_password_file_is_refused() -> None:
    with pytest.raises(CredentialError, match="go together"):
        onvif_credentials("admin", None, None)


def test_cli_bad_password_file_exits_2_without_echoing(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.pw", "")
    result = CliRunner().invoke(
        cli.app, ["scan", "10.0.0.1", "--onvif-user", "audit", "--onvif-password-file", str(empty)]
    )
    assert result.exit_code == 2
    assert "empty" in result.stderr and SECRET not in result.stderr


def test_a_password_file_others_can_read_is_refused_unless_allowed(tmp_path: Path) -> None:
    pw = write(tmp_path / "onvif.pw", SECRET + "\n")
    pw.chmod(0o640)
    with pytest.raises(
        CredentialError, match=r"others can read or change it \(mode 0640\).*--allow-readable-secrets"
    ):
        onvif_credentials("audit", pw, None)
    assert onvif_credentials("audit", pw, None, allow_readable=True)[0][1] == OnvifCredentials(
        "audit", SECRET
    )


def test_a_password_file_that_is_a_device_or_a_fifo_is_refused_before_reading(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pw.fifo"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(CredentialError, match="not a regular file"):
            onvif_credentials("audit", path, None)


def test_a_bad_onvif_entry_names_the_file_the_line_and_the_key(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "camscan.toml",
        '\n[[onvif]]\nnetwork = "10.1.0.0/16"\nusername = "audit"\npassword = "x"\n',
    )
    with pytest.raises(CredentialError) as info:
        onvif_credentials(None, None, cfg)
    assert str(info.value).startswith(f"{cfg} line 5: [[onvif]] entry 1: password: unknown key")
    assert "S3cr3t" not in str(info.value)  # the value written inline is never echoed
