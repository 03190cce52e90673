"""Kill tests: `flowctl run` in a subprocess, killed at seeded random points, resumed, same output.

The pipeline reads localnet ledgers 2..401 through ``payments`` into Parquet and PostgreSQL at
once, checkpointing every 50 ledgers. One uninterrupted run gives the expected output; then the
same pipeline (other outputs) is killed several times — each kill lands a random time after the
cursor passed a random ledger — and resumed until it completes. The final Parquet rows and table
rows must equal the uninterrupted run's exactly (same keys, no duplicates, same content hash), the
final checkpoint must count every ledger once, and each resume must start after the cursor.
SIGTERM runs must stop with exit 143 and one line; a stop inside a segment commits the prefix read.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest_pg import PgServer, pg  # noqa: E402, F401

pytestmark = [pytest.mark.system, pytest.mark.slow]

FIRST, LAST, EVERY = 2, 401, 50
PIPELINE = "kill_resume"
KEY = ("ledger_sequence", "transaction_index", "operation_index")
RUN_TIMEOUT = 120  # seconds any one run may take


def flow(root: Path, table: str, every: int | None = EVERY) -> Path:
    checkpoint = f'{{store: file("{root}/state"), every: {every}}}' if every else "false"
    text = (
        f"name: {PIPELINE}\n"
        f"source: localnet(ledgers={FIRST}..{LAST}, txs_per_ledger=1)\n"
        "process: payments\n"
        f'save_to: [parquet("{root}/parquet"), postgres("${{KILL_PG_DSN}}", table="{table}")]\n'
        f"checkpoint: {checkpoint}\n"
    )
    root.mkdir(parents=True, exist_ok=True)
    path = root / "pipeline.flow"
    path.write_text(text)
    return path


def start(path: Path, dsn: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KILL_PG_DSN": dsn}
    return subprocess.Popen(
        [sys.executable, "-m", "flowctl_dsl.cli", "run", "--log-level", "error", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = RUN_TIMEOUT) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"run did not end within {timeout}s:\n{err[-2000:]}")
    return proc.returncode, err


def cursor(root: Path) -> int | None:
    path = root / "state" / f"{PIPELINE}.json"
    try:
        return int(json.loads(path.read_text())["committed_through"])
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def wait_past(root: Path, target: int, proc: subprocess.Popen[str]) -> int | None:
    """Wait until the cursor reaches ``target`` (None if the run ended first)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        at = cursor(root)
        if at is not None and at >= target:
            return at
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the cursor did not reach {target} in {RUN_TIMEOUT}s")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def digest(rows: list[dict[str, Any]]) -> tuple[int, str, set[tuple[Any, ...]]]:
    """(rows, content hash, keys) of ``rows`` in key order; fails on a duplicated key."""
    ordered = sorted(rows, key=lambda r: tuple(str(r[k]) for k in KEY))
    keys = [tuple(r[k] for k in KEY) for r in ordered]
    assert len(set(keys)) == len(keys), "duplicated keys"
    text = "\n".join(
        json.dumps({k: _plain(v) for k, v in r.items()}, sort_keys=True) for r in ordered
    )
    return len(rows), hashlib.sha256(text.encode()).hexdigest(), set(keys)


def parquet_rows(root: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    files = sorted(p for p in (root / "parquet").rglob("*.parquet") if not p.name.startswith("."))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def table_rows(dsn: str, table: str) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return list(conn.execute(f'SELECT * FROM public."{table}"').fetchall())


def drop(dsn: str, *tables: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:
            conn.execute(f'DROP TABLE IF EXISTS public."{table}"')


@pytest.fixture(scope="module")
def expected(
    pg: PgServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """The uninterrupted run (no checkpoint, one segment): its Parquet and table digests."""
    root = tmp_path_factory.mktemp("uninterrupted")
    drop(pg.dsn, "kill_base")
    began = time.monotonic()
    code, err = finish(start(flow(root, "kill_base", every=None), pg.dsn))
    assert code == 0, err
    parquet = digest(parquet_rows(root))
    table = digest(table_rows(pg.dsn, "kill_base"))
    assert parquet[0] == table[0] > 300
    assert {k[0] for k in parquet[2]} <= set(range(FIRST, LAST + 1))
    yield {"parquet": parquet, "table": table, "seconds": time.monotonic() - began}
    drop(pg.dsn, "kill_base")


def resume_to_end(root: Path, dsn: str, last_cursor: int | None) -> str:
    """The final, uninterrupted resume: it starts right after the cursor."""
    code, err = finish(start(root / "pipeline.flow", dsn))
    assert code == 0, err
    if last_cursor is not None:
        assert f"(resumed at ledger {last_cursor + 1})" in err, err
        ledgers = int(err.split(" ledgers,")[0].rsplit(" ", 1)[1])
        assert ledgers == LAST - last_cursor  # only the ledgers after the cursor were read
    checkpoint = json.loads((root / "state" / f"{PIPELINE}.json").read_text())
    assert checkpoint["complete"] and checkpoint["committed_through"] == LAST
    assert checkpoint["ledgers"] == LAST - FIRST + 1  # every ledger counted exactly once
    return err


def assert_same_output(root: Path, dsn: str, table: str, expected: dict[str, Any]) -> None:
    got_parquet = digest(parquet_rows(root))
    got_table = digest(table_rows(dsn, table))
    assert got_parquet[2] == expected["parquet"][2]  # no missing, no extra keys
    assert got_parquet[:2] == expected["parquet"][:2]
    assert got_table[:2] == expected["table"][:2]


def test_sigkill_at_random_points_then_resume(
    pg: PgServer,  # noqa: F811
    expected: dict[str, Any],
    tmp_path: Path,
) -> None:
    rng = random.Random(20251126)
    drop(pg.dsn, "kill_sigkill")
    path = flow(tmp_path, "kill_sigkill")
    kills: list[tuple[int, int | None]] = []
    for target in sorted(rng.sample(range(FIRST, LAST - 2 * EVERY), 3)):
        before = cursor(tmp_path) or FIRST - 1
        proc = start(path, pg.dsn)
        assert wait_past(tmp_path, max(target, before + 1), proc) is not None
        time.sleep(rng.uniform(0.0, 0.5))  # land anywhere in the next segment
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        after = cursor(tmp_path)
        assert after is not None and after > before  # progress was kept, never lost
        kills.append((target, after))
    assert len(kills) == 3, kills
    print(f"SIGKILL (target ledger, cursor after): {kills}")
    resume_to_end(tmp_path, pg.dsn, kills[-1][1])
    assert_same_output(tmp_path, pg.dsn, "kill_sigkill", expected)
    drop(pg.dsn, "kill_sigkill")


def test_sigterm_stops_cleanly_then_resume(
    pg: PgServer,  # noqa: F811
    expected: dict[str, Any],
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    drop(pg.dsn, "kill_sigterm")
    path = flow(tmp_path, "kill_sigterm")
    stops: list[int] = []
    for twice in (False, False, True):
        before = cursor(tmp_path) or FIRST - 1
        target = rng.randint(before + 1, min(LAST - 2 * EVERY, before + EVERY))
        proc = start(path, pg.dsn)
        assert wait_past(tmp_path, target, proc) is not None
        time.sleep(rng.uniform(0.2, 1.0))  # often while the next segment's ledgers are read
        proc.send_signal(signal.SIGTERM)
        if twice:  # a second signal leaves at once, not waiting for the in-flight segment
            time.sleep(0.01)
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
        code, err = finish(proc, timeout=60)
        assert code == 128 + signal.SIGTERM, err
        at = cursor(tmp_path)
        assert at is not None and at >= before
        if twice:
            assert "SIGTERM again: exiting now" in err
            assert time.monotonic() - signalled < 5
        else:
            last = err.strip().splitlines()[-1]
            assert last == (
                f"stopped by SIGTERM: `{PIPELINE}` committed through ledger {at} of "
                f"{FIRST}..{LAST}; `flowctl run` again resumes at ledger {at + 1}"
            ), err
            assert "Traceback" not in err
        stops.append(at)
    print(f"SIGTERM: cursors after each stop {stops}")
    resume_to_end(tmp_path, pg.dsn, stops[-1])
    assert_same_output(tmp_path, pg.dsn, "kill_sigterm", expected)
    drop(pg.dsn, "kill_sigterm")


def test_sigterm_inside_a_segment_commits_the_ledgers_read(
    pg: PgServer,  # noqa: F811
    expected: dict[str, Any],
    tmp_path: Path,
) -> None:
    """One segment (every > range): the stop lands mid-segment, the cursor is what was read."""
    drop(pg.dsn, "kill_mid")
    path = flow(tmp_path, "kill_mid", every=1000)
    env = {**os.environ, "KILL_PG_DSN": pg.dsn}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowctl_dsl.cli", "run", str(path), "--log-level", "info"]
        + ["--log-format", "text", "--progress", "log", "--progress-interval", "0.3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + RUN_TIMEOUT
    read = 0
    while read < 100 and time.monotonic() < deadline:  # wait until 100 ledgers were processed
        line = proc.stderr.readline()
        if not line:
            break
        found = re.search(r"progress: (\d+)/", line)
        if found:
            read = int(found.group(1))
    assert read >= 100, "no progress reported"
    proc.send_signal(signal.SIGTERM)
    code, err = finish(proc, timeout=60)
    assert code == 128 + signal.SIGTERM, err
    at = cursor(tmp_path)
    assert at is not None and 100 <= at < LAST  # a prefix of the range, not all of it
    assert f"committed through ledger {at} of {FIRST}..{LAST}" in err
    print(f"SIGTERM inside the segment: committed through {at}")
    resume_to_end(tmp_path, pg.dsn, at)
    assert_same_output(tmp_path, pg.dsn, "kill_mid", expected)
    drop(pg.dsn, "kill_mid")
