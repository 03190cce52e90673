"""secret("env:…"/"file:…"/"gcp:…"/"aws:…"): resolved at check time, typed, masked everywhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flowctl_dsl import ir
from flowctl_dsl.config import secrets
from flowctl_dsl.driver import Input, load, planned
from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.explain import explain

DSN = "postgresql://app:Hunter2-unit-secret@127.0.0.1:9/db"
PASSWORD = "Hunter2-unit-secret"


def pipeline(ref: str) -> str:
    return f'localnet | payments | save_to postgres(secret("{ref}"), table="payments")'


def codes(text: str) -> list[str]:
    with pytest.raises(FlowctlError) as err:
        planned(Input.inline(text))
    assert PASSWORD not in err.value.render()
    return [d.code for d in err.value.diagnostics]


def test_env_secret_is_typed_and_masked(places: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_DSN", DSN)
    plan = planned(Input.inline(pipeline("env:PG_DSN")))
    sink = plan.sinks[0]
    dsn = sink.typed_params.dsn  # type: ignore[union-attr]
    assert dsn.get_secret_value() == DSN
    assert PASSWORD not in repr(sink.typed_params) and PASSWORD not in str(dsn)
    assert PASSWORD not in plan.model_dump_json()
    assert PASSWORD not in explain(plan, "direct")
    dumped = ir.dump(load(Input.inline(pipeline("env:PG_DSN"))))
    assert "env:PG_DSN" in dumped and PASSWORD not in dumped and "127.0.0.1" not in dumped


def test_file_secret_drops_one_trailing_newline(places: object, tmp_path: Path) -> None:
    secret_file = tmp_path / "dsn"
    secret_file.write_text(DSN + "\n")
    plan = planned(Input.inline(pipeline(f"file:{secret_file}")))
    assert plan.sinks[0].typed_params.dsn.get_secret_value() == DSN  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ref", "code"),
    [
        ("env:NOT_SET_ANYWHERE_42", "FC521"),
        ("file:/nonexistent/dsn", "FC521"),
        ("vault:x", "FC520"),
        ("nv:PG_DSN", "FC520"),
        ("PG_DSN", "FC520"),
    ],
)
def test_unresolvable_or_malformed_references(places: object, ref: str, code: str) -> None:
    assert codes(pipeline(ref)) == [code]


def test_did_you_mean_for_a_misspelled_scheme() -> None:
    with pytest.raises(secrets.SecretError) as err:
        secrets.reference(ir.CallV(name="secret", args=[ir.Arg(value=ir.StrV(value="evn:X"))]))
    assert err.value.code == "FC520" and "`env:`" in err.value.hints[0]


def test_a_secret_in_a_plain_parameter_is_refused(
    places: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUT", "/tmp/x.jsonl")
    assert codes('localnet | payments | save_to jsonl(secret("env:OUT"))') == ["FC522"]


def test_secret_takes_one_string(places: object) -> None:
    assert codes('localnet | payments | save_to postgres(secret("env:A", "env:B"), table="t")') == [
        "FC520"
    ]


@pytest.mark.parametrize(
    ("ref", "module", "package"),
    [
        ("gcp:projects/p/secrets/pg", "google.cloud.secretmanager", "google-cloud-secret-manager"),
        ("aws:prod/pg", "boto3", "boto3"),
    ],
)
def test_cloud_references_need_their_library(
    ref: str, module: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(secrets.SecretError) as err:
        secrets.resolve(ref)
    assert err.value.code == "FC523" and f"pip install {package}" in err.value.hints


def test_gcp_reference_reads_the_latest_version_through_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    asked: list[str] = []

    class Client:
        def access_secret_version(self, name: str) -> object:
            asked.append(name)
            return types.SimpleNamespace(payload=types.SimpleNamespace(data=DSN.encode()))

    fake = types.ModuleType("google.cloud.secretmanager")
    fake.SecretManagerServiceClient = Client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google.cloud.secretmanager", fake)
    assert secrets.resolve("gcp:projects/p/secrets/pg") == DSN
    assert asked == ["projects/p/secrets/pg/versions/latest"]


def test_offline_mode_resolves_nothing() -> None:
    with secrets.offline():
        assert secrets.resolve("env:NOT_SET_ANYWHERE_42") == secrets.PLACEHOLDER


def test_secret_references_in_defaults_files(
    places: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config_places import Places

    assert isinstance(places, Places)
    places.write("project", '[defaults.postgres]\ndsn = \'secret("env:PG_DSN")\'\ntable = "t"\n')
    monkeypatch.setenv("PG_DSN", DSN)
    plan = planned(Input.inline("localnet | payments | save_to postgres"))
    assert plan.sinks[0].typed_params.dsn.get_secret_value() == DSN  # type: ignore[union-attr]
    places.write("project", "[defaults.jsonl]\npath = 'secret(\"env:X\")'\n")
    with pytest.raises(FlowctlError) as err:
        planned(Input.inline("localnet | payments | stdout"))
    assert "does not take a secret" in err.value.render()
