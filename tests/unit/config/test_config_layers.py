"""Layered defaults: each layer overrides the one below; values are validated where they are read."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_places import Places

from flowctl_dsl.config.layers import discover
from flowctl_dsl.driver import Input, load, planned
from flowctl_dsl.errors import FlowctlError

PIPE = 'localnet(ledgers=2..3) | ledgers | save_to parquet("out/p/"{extra})'
ORDER = ["built-in", "system", "user", "project", "env", "pipeline", "--set"]


def row_group_size(text: str, sets: tuple[str, ...] = ()) -> int:
    plan = planned(Input.inline(text), sets)
    return int(plan.sinks[0].params["row_group_size"])


def configure(places: Places, top: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """Set parquet.row_group_size in every layer up to ``top`` to that layer's index."""
    extra, sets = "", []
    for value, layer in enumerate(ORDER):
        if ORDER.index(layer) > ORDER.index(top) or layer == "built-in":
            continue
        if layer in ("system", "user", "project"):
            places.write(layer, f"[defaults.parquet]\nrow_group_size = {value}\n")
        elif layer == "env":
            monkeypatch.setenv("FLOWCTL_DEFAULTS__PARQUET__ROW_GROUP_SIZE", str(value))
        elif layer == "pipeline":
            extra = f", row_group_size={value}"
        else:
            sets = [f"parquet.row_group_size={value}"]
    return PIPE.format(extra=extra), sets


@pytest.mark.parametrize("top", ORDER)
def test_each_layer_overrides_the_one_below(
    top: str, places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, sets = configure(places, top, monkeypatch)
    expected = 100_000 if top == "built-in" else ORDER.index(top)
    assert row_group_size(text, tuple(sets)) == expected


def test_a_layer_that_does_not_set_the_key_leaves_the_lower_value(
    places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    places.write("system", "[defaults.parquet]\nrow_group_size = 7\n")
    places.write("project", '[defaults.parquet]\ncompression = "gzip"\n')
    plan = planned(Input.inline(PIPE.format(extra="")))
    assert plan.sinks[0].params["row_group_size"] == 7
    assert plan.sinks[0].params["compression"] == "gzip"


def test_user_file_may_be_yaml_and_xdg_is_optional(
    places: Places, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    places.write("user", "defaults:\n  parquet:\n    row_group_size: 9\n", ".yaml")
    assert row_group_size(PIPE.format(extra="")) == 9
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_file = tmp_path / "home" / ".config" / "flowctl" / "defaults.toml"
    home_file.parent.mkdir(parents=True)
    home_file.write_text("[defaults.parquet]\nrow_group_size = 11\n")
    assert row_group_size(PIPE.format(extra="")) == 11


def test_two_user_files_are_an_error(places: Places) -> None:
    places.write("user", "[defaults.parquet]\nrow_group_size = 1\n")
    places.write("user", "defaults: {}\n", ".yaml")
    with pytest.raises(FlowctlError) as err:
        discover()
    assert err.value.diagnostics[0].code == "FC501"


def test_aliases_are_accepted_and_keys_are_canonical(places: Places) -> None:
    places.write("project", '[defaults.pg]\ntable = "payments"\n')
    found = discover().winner("defaults.postgres.table")
    assert found is not None and found.layer == "project"


def test_network_tables_feed_the_network_source_and_the_datastore_passphrase(
    places: Places,
) -> None:
    places.write(
        "project",
        '[networks.testnet]\nlake_url = "file:///srv/lake"\npassphrase = "Private Net ; 2024"\n',
    )
    plan = planned(Input.inline("testnet | ledgers | stdout"))
    assert plan.source.params["url"] == "file:///srv/lake"
    plan = planned(Input.inline('testnet(url="file:///mine") | ledgers | stdout'))
    assert plan.source.params["url"] == "file:///mine"  # the pipeline wins
    plan = planned(Input.inline('datastore("file:///l", network=testnet) | ledgers | stdout'))
    assert plan.source.params["network_passphrase"] == "Private Net ; 2024"


def test_defaults_file_errors_name_the_file_and_the_key(places: Places) -> None:
    path = places.write(
        "system",
        '[defaults.jsonl]\ngzp = true\n[defaults.datastore]\nskip_gaps = "yes"\n'
        '[defaults.jsnl]\nx = 1\n[networks.mainet]\nlake_url = "x"\n[colours]\n',
    )
    with pytest.raises(FlowctlError) as err:
        planned(Input.inline("localnet | ledgers | stdout"))
    text = err.value.render()
    assert f"{path}:2:1: error[FC502]: defaults.jsonl.gzp" in text
    assert "did you mean `gzip`?" in text
    assert f"{path}:4:1: error[FC503]: defaults.datastore.skip_gaps" in text
    assert "did you mean `jsonl`" in text
    assert "networks.mainet" in text and "did you mean `mainnet`" in text
    assert "colours: unknown setting" in text


def test_invalid_toml_is_located(places: Places) -> None:
    path = places.write("project", "[defaults.jsonl]\ngzip = \n")
    with pytest.raises(FlowctlError) as err:
        discover()
    assert err.value.render().startswith(f"{path}:2:")
    assert err.value.diagnostics[0].code == "FC501"


def test_environment_errors_name_the_variable(
    places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWCTL_DEFAULTS__PARQUET__ROW_GROUP_SIZE", "lots")
    monkeypatch.setenv("FLOWCTL_DEFAULTS__JSONL", "true")
    monkeypatch.setenv("FLOWCTL_SECRET_abc", "not configuration")  # ignored
    with pytest.raises(FlowctlError) as err:
        discover()
    text = err.value.render()
    assert "FLOWCTL_DEFAULTS__PARQUET__ROW_GROUP_SIZE: bad value" in text
    assert "FLOWCTL_DEFAULTS__JSONL: expected" in text


def test_env_values_are_flow_values(places: Places, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCTL_DEFAULTS__LOCALNET__LEDGERS", "2..5")
    monkeypatch.setenv("FLOWCTL_DEFAULTS__JSONL__GZIP", "true")
    plan = planned(Input.inline('localnet | ledgers | save_to jsonl("out/x.jsonl")'))
    assert plan.source.params["ledgers"] == {"start": 2, "end": 5}
    assert plan.sinks[0].params["gzip"] is True


def test_fmt_input_is_left_as_written(places: Places) -> None:
    places.write("project", "[defaults.jsonl]\ngzip = true\n")
    text = 'localnet | ledgers | save_to jsonl("out/x.jsonl")'
    assert load(Input.inline(text), keep_env=True).sinks[0].args[-1].name is None
    assert load(Input.inline(text)).sinks[0].args[-1].name == "gzip"


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("out/a.jsonl", True),
        ("out/deep/../b.jsonl", True),
        ("file://out/c.jsonl", True),
        ("../x.jsonl", False),
        ("out/../../x.jsonl", False),
        ("/tmp/x.jsonl", False),
        ("out/escape/x.jsonl", False),  # a symlink inside the root pointing out of it
        ("s3://bucket/x.jsonl", False),
    ],
)
def test_output_root_confines_sink_paths(places: Places, path: str, ok: bool) -> None:
    places.write("project", 'output_root = "out"\n')
    (places.project / "out").mkdir()
    (places.project / "out" / "escape").symlink_to(places.project.parent)
    text = f'localnet | ledgers | save_to jsonl("{path}")'
    if ok:
        planned(Input.inline(text))
        return
    with pytest.raises(FlowctlError) as err:
        planned(Input.inline(text))
    (diag,) = err.value.diagnostics
    assert diag.code == "FC530" and "escapes the output root" in diag.reason
    assert diag.span is not None and diag.span.column == text.index('"') + 1


def test_output_root_checks_defaulted_paths_too(
    places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWCTL_OUTPUT_ROOT", str(places.project / "data"))
    with pytest.raises(FlowctlError) as err:
        planned(Input.inline("localnet | ledgers | save_to parquet"))  # default out/{pipeline}/
    assert err.value.diagnostics[0].code == "FC530"
    planned(Input.inline('localnet | ledgers | save_to parquet("data/{pipeline}/")'))


def test_rpc_without_a_url_reads_the_network_table(places: Places) -> None:
    text = "rpc(network=testnet, ledgers=1..2) | ledgers | stdout"
    assert planned(Input.inline(text)).source.params["url"] == "https://soroban-testnet.stellar.org"
    places.write("project", '[networks.testnet]\nrpc_url = "http://localhost:8000/rpc"\n')
    assert planned(Input.inline(text)).source.params["url"] == "http://localhost:8000/rpc"
    explicit = 'rpc("http://mine/rpc", network=testnet, ledgers=1..2) | ledgers | stdout'
    assert planned(Input.inline(explicit)).source.params["url"] == "http://mine/rpc"


def test_field_validators_run_on_configured_values(places: Places) -> None:
    path = places.write("project", '[defaults.datastore]\nsince = "yesterday"\n')
    with pytest.raises(FlowctlError) as err:
        discover()
    (diag,) = err.value.diagnostics
    assert diag.code == "FC503" and "not an ISO 8601 time" in diag.reason
    assert err.value.render().startswith(f"{path}:2:1:")
