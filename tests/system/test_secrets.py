"""A pipeline with a secret DSN, through every command: the secret appears in no output and no file.

The postgres sink is pointed at a closed loopback port so the run fails fast (FC404). Everything the
commands print, every file under the compile output and the working/temp folders, the IR dump and
the plan are searched for the secret — inside Beam's pickled payloads too (base64 of bz2/zlib).
"""

from __future__ import annotations

import base64
import bz2
import os
import re
import secrets
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

PIPELINE = (
    "localnet(ledgers=2..6)\n"
    "  | payments\n"
    '  | save_to postgres(secret("{ref}"), table="payments", batch_size=10)\n'
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def expand(data: bytes) -> bytes:
    """``data`` plus the decoded content of every base64 run that holds bz2 or zlib data."""
    out = [data]
    for match in re.finditer(rb"[A-Za-z0-9+/]{24,}={0,2}", data):
        try:
            raw = base64.b64decode(match.group(0), validate=True)
        except ValueError:
            continue
        for decompress in (bz2.decompress, zlib.decompress):
            try:
                out.append(decompress(raw))
            except (OSError, ValueError, zlib.error):
                continue
    return b"\n".join(out)


@pytest.fixture(scope="module")
def secret_dsn() -> tuple[str, str]:
    password = "pw-" + secrets.token_hex(12)
    dsn = (
        f"postgresql://flowctl_probe:{password}@127.0.0.1:{closed_port()}/flowdb?connect_timeout=2"
    )
    return dsn, password


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secret-run")


@pytest.fixture(scope="module")
def outputs(
    workdir: Path, secret_dsn: tuple[str, str]
) -> dict[str, subprocess.CompletedProcess[bytes]]:
    dsn, _ = secret_dsn
    (workdir / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWCTL_")}
    env.update(PG_DSN=dsn, TMPDIR=str(workdir / "tmp"), XDG_CONFIG_HOME=str(workdir / "xdg"))
    secret_file = workdir / "secret" / "dsn"
    secret_file.parent.mkdir()
    secret_file.write_text(dsn + "\n")
    (workdir / "env.flow").write_text(PIPELINE.format(ref="env:PG_DSN"))
    (workdir / "file.flow").write_text(PIPELINE.format(ref=f"file:{secret_file}"))

    def flowctl(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "flowctl_dsl.cli", *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )

    return {
        "check": flowctl("check", "env.flow"),
        "explain": flowctl("explain", "env.flow"),
        "debug ir": flowctl("debug", "ir", "env.flow"),
        "debug plan": flowctl("debug", "plan", "env.flow"),
        "compile": flowctl("compile", "env.flow", "-o", "target/env"),
        "compile file secret": flowctl("compile", "file.flow", "-o", "target/file"),
        "config show": flowctl("config", "show", "env.flow", "--explain", "sink.dsn"),
        "run": flowctl("run", "env.flow"),
        "run --debug": flowctl("--debug", "run", "file.flow"),
    }


def test_commands_behave(outputs: dict[str, subprocess.CompletedProcess[bytes]]) -> None:
    for name in ("check", "explain", "debug ir", "debug plan", "compile", "compile file secret"):
        assert outputs[name].returncode == 0, (name, outputs[name].stderr.decode())
    assert b"dsn=****" in outputs["explain"].stdout
    assert b'"value": "env:PG_DSN"' in outputs["debug ir"].stdout
    for name in ("run", "run --debug"):
        run = outputs[name]
        assert run.returncode == 1, run.stderr.decode()
        assert b"error[FC404]" in run.stderr and b"flowctl_probe:****@127.0.0.1" in run.stderr


def test_the_secret_is_in_no_output_and_no_file(
    outputs: dict[str, subprocess.CompletedProcess[bytes]],
    workdir: Path,
    secret_dsn: tuple[str, str],
) -> None:
    dsn, password = secret_dsn
    needles = [dsn.encode(), password.encode()]
    places = {
        f"{name} {stream}": expand(getattr(result, stream))
        for name, result in outputs.items()
        for stream in ("stdout", "stderr")
    }
    files = [p for p in workdir.rglob("*") if p.is_file() and p.parent.name != "secret"]
    places.update({str(p.relative_to(workdir)): expand(p.read_bytes()) for p in files})
    compiled = {p.name for p in (workdir / "target" / "env").iterdir()}
    assert {"ir.json", "plan.json", "pipeline.pb", "manifest.json"} <= compiled
    leaks = [where for where, data in places.items() for needle in needles if needle in data]
    assert leaks == []
    # the search does look inside the pickled Beam payloads: the user name is there, unmasked
    assert b"flowctl_probe" in expand((workdir / "target" / "env" / "pipeline.pb").read_bytes())
