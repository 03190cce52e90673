"""The checkpoint stage: saved only after every sink wrote, contiguous on a stop, ratio enforced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.reliability.checkpoint import CommitCheckpoint, Cursor, check_ratio
from flowctl_dsl.transforms.reliability.errors import ErrorRatioExceeded
from flowctl_dsl.transforms.reliability.segments import RunWindow
from flowctl_dsl.transforms.reliability.store import Checkpoint
from flowctl_dsl.transforms.sources.follow import STOP


class SpyStore:
    """Appends each saved checkpoint to a file, after checking every sink file exists."""

    def __init__(self, root: Path, expected: list[str]) -> None:
        self.root = str(root)
        self.expected = expected

    @property
    def url(self) -> str:
        return self.root

    def save(self, checkpoint: Checkpoint) -> None:
        missing = [n for n in self.expected if not (Path(self.root) / n).exists()]
        assert not missing, f"checkpoint saved before the sinks wrote {missing}"
        with (Path(self.root) / "saved.jsonl").open("a") as out:
            out.write(checkpoint.model_dump_json() + "\n")

    def saved(self) -> list[dict[str, Any]]:
        path = Path(self.root) / "saved.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def write_marker(item: Any, root: str) -> str:
    (Path(root) / f"sink-{item.sequence}").write_text("ok")
    return str(item.sequence)


def window(store: SpyStore, lo: int | None, hi: int | None, **kw: Any) -> RunWindow:
    base: dict[str, Any] = dict(
        pipeline="demo",
        ir_sha256="ab" * 32,
        source="localnet",
        store=store,
        first_ledger=2,
        last_ledger=hi,
        lo=lo,
        hi=hi,
    )
    base.update(kw)
    return RunWindow(**base)


def run(w: RunWindow, seqs: list[int], root: Path, dead: int = 0, repeat: int = 0) -> None:
    options = PipelineOptions([f"--direct_runner_bundle_repeat={repeat}"])
    with beam.Pipeline(runner=FnApiRunner(), options=options) as p:
        ledgers = p | beam.Create([RawLedger(s, b"", "x") for s in seqs])
        sink = ledgers | "sink" >> beam.Map(write_marker, str(root))
        failed = p | "dead" >> beam.Create([{"n": i} for i in range(dead)])
        _ = ledgers | CommitCheckpoint(w, [sink], failed)


def test_cursor_is_contiguous() -> None:
    c = Cursor(through=9, saved=9)
    for s in (11, 10, 14, 12):
        c.add(s)
    assert c.through == 12 and c.pending == {14} and (c.low, c.high) == (10, 14)


def test_saved_after_every_sink_wrote(tmp_path: Path) -> None:
    seqs = list(range(2, 42))
    store = SpyStore(tmp_path, [f"sink-{s}" for s in seqs])
    run(window(store, 2, 41), seqs, tmp_path)
    [final] = store.saved()
    assert (final["committed_through"], final["complete"], final["ledgers"]) == (41, True, 40)


def test_every_n_ledgers_and_skipped_gaps(tmp_path: Path) -> None:
    seqs = [s for s in range(100, 150) if s not in (120, 121)]  # a gap the source skipped
    store = SpyStore(tmp_path, [])
    run(window(store, 100, 149, first_ledger=2, last_ledger=401, every=10), seqs, tmp_path)
    throughs = [c["committed_through"] for c in store.saved()]
    assert throughs == sorted(throughs) and throughs[-1] == 149  # the segment is done
    assert all(t < 120 for t in throughs[:-1])  # never past the hole before the end
    assert not store.saved()[-1]["complete"]


def test_a_stop_commits_only_the_contiguous_prefix(tmp_path: Path) -> None:
    store = SpyStore(tmp_path, [])
    STOP.set()
    try:
        run(window(store, 100, 149, last_ledger=401), [*range(100, 110), 112], tmp_path)
    finally:
        STOP.clear()
    assert store.saved()[-1]["committed_through"] == 109


def test_bundle_repeat_saves_the_same_cursor(tmp_path: Path) -> None:
    store = SpyStore(tmp_path, [])
    run(window(store, 2, 21), list(range(2, 22)), tmp_path, repeat=1)
    assert {c["committed_through"] for c in store.saved()} == {21}


def test_the_error_ratio_fails_the_run_before_the_cursor_moves(tmp_path: Path) -> None:
    store = SpyStore(tmp_path, [])
    w = window(store, 2, 21, max_error_ratio=0.1)
    with pytest.raises(Exception, match=r"FC407.*3 dead letter\(s\) in 20 ledgers"):
        run(w, list(range(2, 22)), tmp_path, dead=3)
    assert store.saved() == []
    run(w, list(range(2, 22)), tmp_path, dead=2)  # 10%: within the ratio
    assert store.saved()[-1]["dead_letters"] == 2


def test_check_ratio_waits_for_enough_ledgers() -> None:
    check_ratio(0.01, 50, 1, final=False)  # 2%, but one failure in 50 cannot be judged yet
    with pytest.raises(ErrorRatioExceeded):
        check_ratio(0.01, 50, 1, final=True)
    with pytest.raises(ErrorRatioExceeded):
        check_ratio(0.01, 100, 2, final=False)
    check_ratio(None, 10, 10, final=True)


def test_a_run_over_an_unknown_range_completes(tmp_path: Path) -> None:
    store = SpyStore(tmp_path, [])
    w = window(store, None, None, first_ledger=None, last_ledger=None)
    run(w, [5, 6, 7, 9], tmp_path)
    [final] = store.saved()
    assert (final["first_ledger"], final["committed_through"], final["complete"]) == (5, 9, True)
