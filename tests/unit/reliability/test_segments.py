"""Where a run starts and how it is cut: resume, FC408 for a changed pipeline, segment blockers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowctl_dsl.driver import Input, planned
from flowctl_dsl.plan import Plan
from flowctl_dsl.transforms.reliability.errors import CheckpointMismatch
from flowctl_dsl.transforms.reliability.segments import (
    aligned,
    closed_range,
    prepare,
    segment_blockers,
)
from flowctl_dsl.transforms.reliability.store import STATE_DIR_ENV, Checkpoint, FileStore


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    return tmp_path / "state"


def plan(text: str, tmp_path: Path, every: int | None = 50) -> Plan:
    settings = f"\ncheckpoint: {{every: {every}}}" if every else ""
    return planned(Input.inline(f"name: demo\n{text}{settings}"), ())


def pq(tmp_path: Path) -> str:
    return (
        "source: localnet(ledgers=2..201, txs_per_ledger=1)\nprocess: payments\n"
        f'save_to: parquet("{tmp_path}/out")'
    )


def saved(plan: Plan, through: int, complete: bool = False, sha: str | None = None) -> None:
    FileStore(Path(__import__("os").environ[STATE_DIR_ENV])).save(
        Checkpoint(
            pipeline=plan.pipeline,
            ir_sha256=sha or plan.ir_sha256,
            source="localnet",
            first_ledger=2,
            last_ledger=201,
            committed_through=through,
            complete=complete,
            ledgers=through - 1,
            dead_letters=3,
            updated_at=datetime.now(UTC),
        )
    )


def test_aligned_cuts() -> None:
    assert aligned(2, 401, 100) == [(2, 99), (100, 199), (200, 299), (300, 399), (400, 401)]
    assert aligned(150, 160, 1000) == [(150, 160)]
    assert aligned(5, 5, 1) == [(5, 5)]


def test_closed_range(tmp_path: Path) -> None:
    assert closed_range(plan(pq(tmp_path), tmp_path)) == (2, 201)
    lake = 'source: datastore("file:///nowhere", ledgers=5..9)\nprocess: payments\nsave_to: stdout'
    assert closed_range(plan(lake, tmp_path)) == (5, 9)
    times = 'source: datastore("file:///x", since="2025-01-01T00:00:00Z", until="2025-01-01T01:00:00Z")\nprocess: payments\nsave_to: stdout'
    assert closed_range(plan(times, tmp_path)) is None


def test_a_fresh_run_is_cut_every_n_ledgers(tmp_path: Path) -> None:
    got = prepare(plan(pq(tmp_path), tmp_path))
    assert [(w.lo, w.hi) for w in got.windows] == [
        (2, 49),
        (50, 99),
        (100, 149),
        (150, 199),
        (200, 201),
    ]
    assert got.resumed_from is None and all(w.checkpointing for w in got.windows)
    assert got.windows[0].sink_options() == {} and got.windows[1].sink_options() == {
        "keep_ledgers_before": 50
    }


def test_without_a_checkpoint_setting_the_range_is_one_segment(tmp_path: Path) -> None:
    got = prepare(plan(pq(tmp_path), tmp_path, every=None))
    assert [(w.lo, w.hi) for w in got.windows] == [(2, 201)]


def test_resume_after_the_cursor(tmp_path: Path) -> None:
    p = plan(pq(tmp_path), tmp_path)
    saved(p, 99)
    got = prepare(p)
    assert got.resumed_from == 100
    assert [(w.lo, w.hi) for w in got.windows] == [(100, 149), (150, 199), (200, 201)]
    assert (got.windows[0].prior_ledgers, got.windows[0].prior_dead_letters) == (98, 3)
    assert [(w.lo, w.hi) for w in prepare(p, from_scratch=True).windows][0] == (2, 49)


def test_a_completed_run_starts_over(tmp_path: Path) -> None:
    p = plan(pq(tmp_path), tmp_path)
    saved(p, 201, complete=True, sha="00" * 32)
    got = prepare(p)
    assert got.resumed_from is None and got.windows[0].lo == 2


def test_a_changed_pipeline_is_not_resumed_silently(tmp_path: Path) -> None:
    p = plan(pq(tmp_path), tmp_path)
    saved(p, 99, sha="00" * 32)
    with pytest.raises(CheckpointMismatch, match="different version of the pipeline") as info:
        prepare(p)
    assert info.value.code == "FC408" and any("--from-scratch" in h for h in info.value.hints)
    assert prepare(p, from_scratch=True).windows[0].lo == 2


def test_whole_file_sinks_and_limit_are_not_cut(tmp_path: Path) -> None:
    text = (
        f'localnet(ledgers=2..201) | payments | select amount | save_to jsonl("{tmp_path}/a.jsonl")'
        " with checkpoint={every: 50}"
    )
    p = planned(Input.inline(text), ())
    assert segment_blockers(p) == [
        "`jsonl` records have no ledger column to merge a resumed file by"
    ]
    saved(p, 99)
    got = prepare(p)
    assert [(w.lo, w.hi) for w in got.windows] == [(2, 201)] and got.resumed_from is None
    assert "not resumed" in got.notes[0]
    limited = planned(Input.inline("localnet(ledgers=2..201) | payments | limit 5 | stdout"), ())
    assert "`limit` counts over the whole run" in segment_blockers(limited)
    ok = f'source: localnet(ledgers=2..9)\nprocess: payments\nsave_to: jsonl("{tmp_path}/b.jsonl")'
    assert segment_blockers(plan(ok, tmp_path)) == []


def test_checkpoint_false_and_followed_sources_are_not_checkpointed(tmp_path: Path) -> None:
    off = planned(Input.inline(f"name: demo\n{pq(tmp_path)}\ncheckpoint: false"), ())
    assert not prepare(off).windows[0].checkpointing
    follow = plan(
        'source: datastore("file:///x", ledgers=5..)\nprocess: payments\nsave_to: stdout', tmp_path
    )
    assert not prepare(follow).windows[0].checkpointing


def test_a_runner_default_segment_cuts_a_range_without_checkpoint(tmp_path: Path) -> None:
    p = plan(pq(tmp_path), tmp_path, every=None)
    assert [(w.lo, w.hi) for w in prepare(p).windows] == [(2, 201)]
    cut = prepare(p, default_every=100).windows
    assert [(w.lo, w.hi) for w in cut] == [(2, 99), (100, 199), (200, 201)]
    # the pipeline's own checkpoint.every wins over the runner's default
    own = prepare(plan(pq(tmp_path), tmp_path, every=50), default_every=100).windows
    assert [(w.lo, w.hi) for w in own][:2] == [(2, 49), (50, 99)]


def test_default_segments_do_not_cut_a_file_source_range(tmp_path: Path) -> None:
    """``xdr_file(…, ledgers=A..B)`` filters a file: 20M ledgers of range may be 5 ledgers."""
    text = (
        'source: xdr_file("x.xdr", network=mainnet, ledgers=16154623..36154623)\n'
        f'process: ledgers\nsave_to: parquet("{tmp_path}/out")'
    )
    windows = prepare(plan(text, tmp_path, every=None), default_every=1000).windows
    assert [(w.lo, w.hi) for w in windows] == [(16154623, 36154623)]


def test_default_segments_are_not_used_when_the_sinks_cannot_be_written_in_parts(
    tmp_path: Path,
) -> None:
    text = pq(tmp_path) + "\n"
    limited = text.replace("process: payments", "process: [payments, limit 5]")
    windows = prepare(plan(limited, tmp_path, every=None), default_every=100).windows
    assert [(w.lo, w.hi) for w in windows] == [(2, 201)]


def test_direct_runner_cuts_long_ranges_and_writes_what_one_run_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as parquet

    from flowctl_dsl.runners import get_runner
    from flowctl_dsl.runners.base import RunSettings
    from flowctl_dsl.runners.direct import DirectRunner

    assert DirectRunner.default_segment == 1000
    outputs = {}
    for segment in (None, 60):
        monkeypatch.setattr(DirectRunner, "default_segment", segment)
        out = tmp_path / f"out{segment}"
        text = pq(tmp_path).replace(f'"{tmp_path}/out"', f'"{out}"')
        report = get_runner("direct").run(
            planned(Input.inline(f"name: seg{segment}\n{text}"), ()), RunSettings()
        )
        assert report.segments == (1 if segment is None else 4)
        outputs[segment] = parquet.read_table(out).sort_by("operation_id")
    assert outputs[None].num_rows > 0 and outputs[60].equals(outputs[None])
