"""`flowctl schema`: a draft-07 JSON Schema of the key form, generated from the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from flowctl_dsl.catalog import catalog
from flowctl_dsl.cli import main

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    from flowctl_dsl.config.schema import key_form_schema

    doc = key_form_schema()
    jsonschema.Draft7Validator.check_schema(doc)
    return doc


def errors(schema: dict[str, object], text: str) -> list[str]:
    doc = yaml.safe_load(text)
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]


def test_cli_prints_the_same_schema(
    schema: dict[str, object], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == schema


def test_every_component_and_alias_is_offered(schema: dict[str, object]) -> None:
    text = json.dumps(schema)
    definitions = schema["definitions"]
    assert isinstance(definitions, dict)
    for spec in catalog().specs:
        assert f"{spec.kind}.{spec.name}" in definitions
        assert all(f'"{name}"' in text for name in spec.names)
    assert definitions["sink.jsonl"]["properties"]["gzip"]["type"] == "boolean"
    assert definitions["sink.postgres"]["required"] == ["dsn", "table"]


@pytest.mark.parametrize(
    "text",
    [
        "source: mainnet\nprocess: [contract_data, filter > 1000]\nsave_to: parquet\n",
        'name: usdc\nsource: datastore("file:///lake", network=testnet)\n'
        'process:\n  - payments\n  - filter amount > 100 and asset_code == "USDC"\n'
        '  - select(amount, asset_code)\nsave_to: jsonl("out/x.jsonl")\n',
        'source: "${LAKE}"\nsave_to: [stdout, parquet]\nprocess: latest-ledger\n',
    ],
)
def test_key_form_pipelines_validate(schema: dict[str, object], text: str) -> None:
    assert errors(schema, text) == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("source: mainet\nsave_to: stdout\n", "source"),
        ("source: mainnet\nprocess: [paymnts]\nsave_to: stdout\n", "process"),
        ("source: mainnet\nsave_to: jsonnl\n", "save_to"),
        ("source: mainnet\nproces: [payments]\n", "additional"),
        ("save_to: stdout\n", "required"),
    ],
)
def test_mistakes_are_flagged(schema: dict[str, object], text: str, why: str) -> None:
    assert errors(schema, text), why


def test_repository_key_form_examples_validate(schema: dict[str, object]) -> None:
    checked = 0
    for path in sorted((REPO / "tests" / "fixtures" / "pipelines").glob("*.key.flow")):
        assert errors(schema, path.read_text()) == [], path
        checked += 1
    assert checked >= 3
