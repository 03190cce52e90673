"""`flowctl config show [--explain KEY]`: each effective setting and the layer it came from."""

from __future__ import annotations

import json

import pytest
from config_places import Places

from flowctl_dsl.cli import main


def show(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["config", "show", *args]) == 0
    return capsys.readouterr().out


def test_explain_lists_every_layer_and_marks_the_winner(
    places: Places, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    system = places.write("system", "[defaults.jsonl]\ngzip = true\n")
    user = places.write("user", "defaults:\n  jsonl:\n    gzip: false\n", ".yaml")
    monkeypatch.setenv("FLOWCTL_DEFAULTS__JSONL__GZIP", "true")
    out = show(["--explain", "defaults.json.gzip"], capsys)  # an alias of jsonl
    lines = out.splitlines()
    assert lines[0] == "defaults.jsonl.gzip = true"
    assert lines[1] == "  in force: env (FLOWCTL_DEFAULTS__JSONL__GZIP)"
    layers = [ln.split()[0] for ln in lines[3:]]
    assert layers == ["built-in", "system", "user", "env"]
    assert str(system) in lines[4] and str(user) in lines[5]
    assert lines[-1].endswith("<- in force")


def test_explain_with_a_pipeline_adds_the_pipeline_and_set_layers(
    places: Places, capsys: pytest.CaptureFixture[str]
) -> None:
    places.write("project", "[defaults.parquet]\nrow_group_size = 3\n")
    text = 'localnet | ledgers\n  | save_to parquet("out/p/", row_group_size=5)'
    out = show(["-e", text, "--explain", "sink.row_group_size"], capsys)
    assert "in force: pipeline (<inline>:2)" in out
    out = show(
        ["-e", text, "--set", "sink.row_group_size=6", "--explain", "sink.row_group_size"], capsys
    )
    rows = [ln.split()[:2] for ln in out.splitlines()[3:]]
    assert rows == [["built-in", "100000"], ["project", "3"], ["pipeline", "5"], ["--set", "6"]]


def test_show_lists_files_and_effective_values(
    places: Places, capsys: pytest.CaptureFixture[str]
) -> None:
    project = places.write(
        "project", 'output_root = "out"\n[networks.testnet]\nlake_url = "file:///l"\n'
    )
    out = show([], capsys)
    assert f"# project  {project}" in out
    assert "(absent)" in out  # the system and user files
    row = next(ln for ln in out.splitlines() if ln.startswith("defaults.testnet.url "))
    assert row.split()[1:3] == ['"file:///l"', "project"]
    assert "networks.futurenet.passphrase" in out  # seeded from stellar/networks.py
    changed = show(["--changed", "--json"], capsys)
    keys = {r["key"]: r["layer"] for r in json.loads(changed)}
    assert keys == {
        "output_root": "project",
        "networks.testnet.lake_url": "project",
        "defaults.testnet.url": "project",
    }


def test_secret_looking_values_are_masked(
    places: Places, capsys: pytest.CaptureFixture[str]
) -> None:
    places.write("project", '[defaults.postgres]\ndsn = "postgresql://u:pw-in-file@h/db"\n')
    out = show(["--explain", "defaults.postgres.dsn"], capsys)
    assert "pw-in-file" not in out and "****" in out


def test_unknown_key_has_suggestions(places: Places, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--explain", "defaults.jsonl.gzp"]) == 1
    err = capsys.readouterr().err
    assert "FC502" in err and "defaults.jsonl.gzip" in err
