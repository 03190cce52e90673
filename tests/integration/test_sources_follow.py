"""Following the tip: ``flowctl run`` in a subprocess tails a local lake that a background thread
keeps extending; lines arrive as objects appear, with consecutive sequences, and SIGINT/SIGTERM
drain the run (exit 0, every printed line complete, no traceback)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from flowctl_dsl.stellar.lake import LakeSchema, MissingLedgerError, write_manifest, write_object
from flowctl_dsl.stellar.localnet.generate import NETWORK_PASSPHRASE, iter_ledgers
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.sources.follow import FollowLedgers, force_one_worker

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SCHEMA = LakeSchema(1, 64000)


class Writer:
    """Writes localnet ledgers into a lake, the first ``ready`` at once, then one every ``every`` s."""

    def __init__(self, root: Path, last: int = 120, ready: int = 5, every: float = 0.25) -> None:
        self.root = root
        self.ledgers = list(iter_ledgers(2, last, txs_per_ledger=1))
        self.ready = ready
        self.every = every
        self.stop = threading.Event()
        self.written = 0
        write_manifest(root, NETWORK_PASSPHRASE, SCHEMA)
        for _ in range(ready):
            self._write_next()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _write_next(self) -> None:
        item = self.ledgers[self.written]
        write_object(self.root, SCHEMA, [item.xdr], item.sequence, item.sequence)
        self.written += 1

    def _run(self) -> None:
        while not self.stop.wait(self.every) and self.written < len(self.ledgers):
            self._write_next()


@pytest.fixture
def growing(tmp_path: Path) -> Iterator[Writer]:
    writer = Writer(tmp_path / "lake")
    writer.thread.start()
    yield writer
    writer.stop.set()
    writer.thread.join(5)


def _start(text: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "flowctl_dsl.cli", "run", "-q", "-e", text],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_lines(proc: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        if sel.select(timeout=max(0.0, deadline - time.monotonic())):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
    return lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_tail_a_growing_lake_then_stop(growing: Writer, sig: signal.Signals) -> None:
    proc = _start(
        f'datastore("{growing.root}", ledgers=2..) | latest_ledger | select sequence | stdout'
    )
    try:
        lines = _read_lines(proc, 20, timeout=90)
        seqs = [json.loads(line)["sequence"] for line in lines]
        assert seqs == list(range(2, 22)), seqs
        # Lines arrived while the lake was still growing (printed as read, not buffered).
        assert growing.written < len(growing.ledgers)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping" in err and "Traceback" not in err
    rest = [json.loads(line)["sequence"] for line in out.splitlines()]
    assert rest == list(range(22, 22 + len(rest)))  # still consecutive up to the stop


def test_follow_without_a_range_starts_at_the_tip(growing: Writer) -> None:
    """`follow=true` with no range starts at the newest ledger; `stop_after` ends the run."""
    proc = _start(
        f'datastore("{growing.root}", follow=true, stop_after=6) | latest_ledger '
        "| select sequence | stdout"
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    seqs = [json.loads(line)["sequence"] for line in out.splitlines()]
    assert len(seqs) == 6 and seqs == list(range(seqs[0], seqs[0] + 6))
    assert seqs[0] >= 6  # the tip when the run started, not genesis


class ListFeed:
    """An in-memory feed: ledgers in ``present`` are there; ``missing`` never appear."""

    name = "memory"

    def __init__(self, present: list[int]) -> None:
        self.present = set(present)

    def fetch(self, sequence: int) -> list[RawLedger] | None:
        if sequence not in self.present:
            return None
        return [RawLedger(sequence, b"", "p")]

    def next_after_gap(self, sequence: int) -> int | None:
        newer = [s for s in self.present if s > sequence]
        return min(newer) if newer else None


def _follow(feed: ListFeed, start: int, stop_after: int, skip_gaps: bool) -> list[int]:
    with beam.Pipeline(runner="FnApiRunner", options=PipelineOptions()) as p:
        got = p | FollowLedgers(feed, start, poll=0.01, skip_gaps=skip_gaps, stop_after=stop_after)
        assert not got.is_bounded
        seqs = got | beam.Map(lambda r: r.sequence)
        expected = sorted(s for s in feed.present if start <= s < start + stop_after)
        assert_that(seqs, equal_to(expected))
    return expected


def test_gaps_fail_or_are_skipped() -> None:
    feed = ListFeed([*range(10, 15), *range(18, 30)])
    assert _follow(feed, 10, 12, skip_gaps=True) == [10, 11, 12, 13, 14, 18, 19, 20, 21]
    with pytest.raises(Exception, match="ledger 15 is missing") as info:
        _follow(feed, 10, 12, skip_gaps=False)
    assert any(isinstance(e, MissingLedgerError) for e in _chain(info.value)) or "15" in str(
        info.value
    )


def _chain(err: BaseException) -> list[BaseException]:
    out = []
    while err is not None and err not in out:
        out.append(err)
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return out


def test_unbounded_source_forces_one_worker() -> None:
    from apache_beam.options.pipeline_options import DirectOptions

    options = PipelineOptions(direct_num_workers=2, direct_running_mode="multi_processing")
    force_one_worker(options)
    direct = options.view_as(DirectOptions)
    assert (direct.direct_num_workers, direct.direct_running_mode) == (1, "in_memory")
