"""Every malformed pipeline: exit 1, a located and coded error with a caret, never a traceback."""

from __future__ import annotations

import re

import pytest

from flowctl_dsl.cli import main

LAKE = '"/nonexistent/lake"'

# (pipeline text, expected code, expected line:col, a phrase the message must contain)
BAD: list[tuple[str, str, str, str]] = [
    ("mainnet | | stdout", "FC001", "1:11", "unexpected `|`"),
    ("mainnet | filter amount = 1 | stdout", "FC001", "1:25", "=="),
    (
        'mainnet | payments | filter asset_code == "USDC | stdout',
        "FC003",
        "1:43",
        "unterminated string",
    ),
    ("mainnet | payments | filter amount >", "FC004", "1:37", "ends too early"),
    ("mainnet | payments | filter amount > 5 && successful | stdout", "FC002", "1:40", "`and`"),
    ("   \n# only a comment\n", "FC005", "1:1", "empty"),
    ("mainnet(ledgers=${NOPE_UNSET_VAR}) | ledgers | stdout", "FC006", "1:17", "NOPE_UNSET_VAR"),
    ("source: mainnet\nsource: testnet\nsave_to: stdout", "FC008", "2:1", "given twice"),
    (
        "source: mainnet\nproces: [ledgers]\nsave_to: stdout",
        "FC009",
        "2:1",
        "did you mean `process`",
    ),
    ("process: [ledgers]\nsave_to: stdout", "FC010", "1:1", "no `source`"),
    ("mainet | ledgers | stdout", "FC101", "1:1", "did you mean `mainnet`"),
    ("mainnet | paymnts | stdout", "FC102", "1:11", "did you mean `payments`"),
    ('mainnet | payments | save_to jsonnl("x")', "FC103", "1:30", "did you mean `jsonl`"),
    ("mainnet(ledger=1..2) | ledgers | stdout", "FC104", "1:9", "did you mean `ledgers`"),
    ('mainnet(ledgers="soon") | ledgers | stdout', "FC105", "1:17", "ledgers"),
    ("mainnet(ledgers=20..10) | ledgers | stdout", "FC105", "1:17", "before it starts"),
    ('mainnet | ledgers | save_to jsonl(path="a", gzip="yes")', "FC105", "1:50", "gzip"),
    ("mainnet | ledgers | save_to jsonl", "FC106", "1:29", "needs the parameter `path`"),
    ('mainnet | ledgers | save_to jsonl("a", "b")', "FC107", "1:40", "positional"),
    ('mainnet | ledgers | save_to jsonl("a", path="b")', "FC108", "1:40", "given twice"),
    ("mainnet | payments | latest_ledger | stdout", "FC201", "1:22", "reads LedgerCloseMeta"),
    ("mainnet | filter sequence > 5 | ledgers | stdout", "FC201", "1:11", "raw LedgerCloseMeta"),
    ("mainnet | stdout", "FC201", "1:11", "raw LedgerCloseMeta"),
    ("mainnet | payments | filter amout > 5 | stdout", "FC202", "1:29", "did you mean `amount`"),
    ('mainnet | payments | filter amount > "big" | stdout', "FC203", "1:29", "cannot compare"),
    ("mainnet | payments | filter successful < true | stdout", "FC203", "1:29", "cannot compare"),
    (
        'mainnet | ledgers | filter closed_at > "yesterday" | stdout',
        "FC203",
        "1:40",
        "not a timestamp",
    ),
    ("mainnet | payments", "FC204", "1:19", "no sink"),
    ("mainnet | stdout | ledgers", "FC205", "1:20", "nothing can follow"),
    (
        "mainnet | ledgers | select closed_at | filter > 5 | stdout",
        "FC206",
        "1:40",
        "primary field",
    ),
    ("mainnet | payments | filter amount + 1 | stdout", "FC207", "1:29", "needs a condition"),
    ("mainnet | payments | filter amount and successful | stdout", "FC207", "1:29", "both sides"),
    ("mainnet | ledgers | select sequence, sequence | stdout", "FC208", "1:38", "selected twice"),
    ("mainnet | payments | derive amount = amount * 2 | stdout", "FC209", "1:29", "overwrite"),
    ("mainnet | ledgers | limit 0 | stdout", "FC210", "1:21", "at least 1"),
    ("payments | ledgers | stdout", "FC211", "1:1", "is a processor, not a source"),
    ("mainnet | ledgers | mainnet | stdout", "FC211", "1:21", "is a source, not a processor"),
    (
        "mainnet | payments | filter asset_code + 1 > 2 | stdout",
        "FC203",
        "1:29",
        "cannot apply `+`",
    ),
    ("source: [mainnet, testnet]\nsave_to: stdout", "FC011", "1:1", "takes one source"),
    (
        'mainnet | ledgers | stdout with on_error=dead_lettr(jsonl("x"))',
        "FC212",
        "1:42",
        "did you mean `dead_letter`",
    ),
    (
        'mainnet | ledgers | save_to jsonl("a") with on_error=dead_letter(jsonl("a"))',
        "FC212",
        "1:66",
        "own output",
    ),
    (
        'mainnet | ledgers | stdout with on_error=dead_letter(jsonl("x"), max_error_ratio=2)',
        "FC212",
        "1:66",
        "less than or equal to 1",
    ),
    (
        'mainnet | ledgers | stdout with on_error=dead_letter(jsnl("x"))',
        "FC103",
        "1:54",
        "did you mean `jsonl`",
    ),
    (
        'mainnet | ledgers | stdout with checkpoint={stor: file("x")}',
        "FC213",
        "1:51",
        "did you mean `store`",
    ),
    ("mainnet | ledgers | stdout with checkpoint=42", "FC213", "1:44", "needs a store"),
    (
        "mainnet | ledgers | stdout with retry={max_attempts: 0}",
        "FC214",
        "1:39",
        "greater than or equal to 1",
    ),
    ("mainnet | ledgers | stdout with retry={tries: 3}", "FC214", "1:47", "has no setting `tries`"),
    ("mainnet | ledgers | stdout with retyr={}", "FC009", "1:33", "did you mean `retry`"),
    ("mainnet | ledgers | stdout with retry={}, retry={}", "FC008", "1:43", "given twice"),
    (
        "mainnet(ledgers=100..) | ledgers | limit 5 | stdout",
        "FC215",
        "1:36",
        "needs a bounded range",
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "where", "phrase"), BAD, ids=[f"{c}-{i}" for i, (_, c, _, _) in enumerate(BAD)]
)
def test_bad_pipeline_is_reported_with_location(
    text: str, code: str, where: str, phrase: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-e", text]) == 1
    out = capsys.readouterr()
    err = out.err
    assert "Traceback" not in err + out.out
    assert f"<inline>:{where}: error[{code}]" in err, err
    assert phrase in err, err
    assert re.search(r"^\s+\^+$", err, re.M), f"no caret line in:\n{err}"


def test_distinct_bad_pipelines_cover_many_codes() -> None:
    assert len({t for t, *_ in BAD}) >= 25
    assert len({c for _, c, *_ in BAD}) >= 25


def test_all_errors_in_a_file_are_reported_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    text = 'mainet | paymnts | filter amout > 5 | save_to jsonnl("x")'
    assert main(["check", "-e", text]) == 1
    err = capsys.readouterr().err
    for code in ("FC101", "FC102", "FC103"):
        assert f"error[{code}]" in err


def test_json_format_gives_the_same_diagnostics(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["check", "--format", "json", "-e", "mainnet | paymnts | stdout"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    (diag,) = doc["diagnostics"]
    assert diag["code"] == "FC102"
    assert diag["span"] == {"line": 1, "column": 11, "end_line": 1, "end_column": 18}
    assert any("payments" in h for h in diag["hints"])


def test_unknown_runner_lists_runners(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "-e", "mainnet | ledgers | stdout", "--runner", "flnk"]) == 1
    err = capsys.readouterr().err
    assert "FC301" in err and "direct" in err


def test_missing_file_is_a_clean_error(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert main(["check", str(tmp_path / "nope.flow")]) == 1
    assert "FC012" in capsys.readouterr().err


def test_unbounded_source_into_a_gathering_sink_is_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "-e", 'mainnet | ledgers | save_to jsonl("x")']) == 0
    err = capsys.readouterr().err
    assert "<inline>:1:29: warning[FC215]" in err and "stdout" in err
    assert main(["check", "-e", 'mainnet(ledgers=5..9) | ledgers | save_to jsonl("x")']) == 0
    assert "FC215" not in capsys.readouterr().err


def test_bad_set_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-e", "mainnet | ledgers | stdout", "--set", "novalue"]) == 1
    assert "FC013" in capsys.readouterr().err
    assert main(["check", "-e", "mainnet | ledgers | stdout", "--set", "nosuch.x=1"]) == 1
    assert "FC013" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["nosuchcommand"])
    assert exc.value.code == 2
