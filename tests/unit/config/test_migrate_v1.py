"""V1 YAML → IR: type tables, YAML positions, the not-carried-over report, coded errors."""

from __future__ import annotations

import textwrap

import pytest

from flowctl_dsl import printer
from flowctl_dsl.config.migrate import migrate
from flowctl_dsl.errors import FlowctlError, Source


def v1(body: str) -> Source:
    return Source("v1.yaml", textwrap.dedent(body).lstrip())


SOURCE = """\
pipelines:
  P:
    source:
      type: BufferedStorageSourceAdapter
      config:
        bucket_name: "lake/ledgers/testnet"
        network: testnet
        start_ledger: 10
        end_ledger: 20
    processors:
{processors}
    consumers:
{consumers}
"""


def doc(
    processors: str = "      - type: LatestLedger", consumers: str = "      - type: StdoutConsumer"
) -> Source:
    return Source("v1.yaml", SOURCE.format(processors=processors, consumers=consumers))


def fails(source: Source) -> FlowctlError:
    with pytest.raises(FlowctlError) as err:
        migrate(source)
    return err.value


def test_a_minimal_pipeline_is_the_shortest_flow() -> None:
    (result,) = migrate(doc())
    text = printer.print_pipeline(result.pipeline, "pipe")
    assert (
        text
        == 'testnet(ledgers=10..20, url="gs://lake/ledgers/testnet") | latest_ledger | stdout\n'
    )
    assert result.notes == []


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("SaveToParqet", "SaveToParquet"),
        ("save_to_parquet", "SaveToParquet"),
        ("stdoutconsumer", "StdoutConsumer"),
    ],
)
def test_unsupported_type_is_fc511_with_did_you_mean(typo: str, suggestion: str) -> None:
    err = fails(doc(consumers=f"      - type: {typo}"))
    (diag,) = err.diagnostics
    assert diag.code == "FC511" and f"`{typo}`" in diag.reason
    assert f"`{suggestion}`" in diag.hints[0]
    assert diag.span is not None and diag.span.line == 13
    assert err.render().startswith("v1.yaml:13:15: error[FC511]")


def test_known_types_without_an_equivalent_say_what_to_do() -> None:
    (diag,) = fails(doc(consumers="      - type: SaveToRedis")).diagnostics
    assert diag.code == "FC511" and "no flowctl equivalent yet" in diag.reason
    assert "Redis" in diag.hints[0]


def test_every_error_in_the_file_is_reported() -> None:
    err = fails(
        doc(
            processors="      - type: AccountData\n      - type: Nope",
            consumers="      - type: SaveToExcel",
        )
    )
    assert [d.code for d in err.diagnostics] == ["FC511", "FC511", "FC511"]


def test_time_ranges_become_since_until_last_and_follow() -> None:
    text = doc().text.replace("        start_ledger: 10\n        end_ledger: 20\n", "{keys}")
    keys = '        start_time: "2024-09-01T00:00:00Z"\n        end_time: "2024-09-02T00:00:00Z"\n'
    (result,) = migrate(Source("v1.yaml", text.format(keys=keys)))
    source = printer.component(result.pipeline.source)
    assert 'since="2024-09-01T00:00:00Z", until="2024-09-02T00:00:00Z"' in source
    keys = "        start_time_ago: 2w\n        continuous_mode: true\n"
    (result,) = migrate(Source("v1.yaml", text.format(keys=keys)))
    assert 'last="2w", follow=true' in printer.component(result.pipeline.source)


@pytest.mark.parametrize(
    ("keys", "phrase"),
    [
        ("        start_time_ago: 1y\n", "not a duration"),
        ("        start_time_ago: 30d\n        end_time_ago: 1d\n", "end_time_ago"),
        ("        end_ledger: 20\n", "end_ledger without start_ledger"),
        ('        start_ledger: "${START}"\n', "whole number"),
    ],
)
def test_ranges_that_cannot_be_expressed_are_errors(keys: str, phrase: str) -> None:
    text = doc().text.replace("        start_ledger: 10\n        end_ledger: 20\n", keys)
    (diag, *_) = fails(Source("v1.yaml", text)).diagnostics
    assert diag.code == "FC512" and phrase in diag.reason


def test_rpc_sources_become_rpc_and_literal_credentials_are_not_copied() -> None:
    source = v1("""
        pipeline:
          source:
            type: RPCSourceAdapter
            config:
              rpc_url: "https://rpc.example.org"
              auth_header: "${RPC_AUTH}"
              batch_size: 50
              poll_interval: 5
              start_ledger: 100
          processors:
            - type: LatestLedger
              config:
                network_passphrase: "Test SDF Network ; September 2015"
          consumers:
            - type: StdoutConsumer
    """)
    (result,) = migrate(source)
    assert printer.component(result.pipeline.source) == (
        'rpc("https://rpc.example.org", network=testnet, ledgers=100.., page_size=50, '
        'poll="5s", headers={Authorization: "${RPC_AUTH}"})'
    )


def test_unsafe_yaml_tags_are_refused() -> None:
    err = fails(
        v1("""
        pipelines:
          P: !!python/object/apply:os.system ["echo pwned"]
    """)
    )
    assert err.diagnostics[0].code == "FC510"


def test_duplicate_keys_are_refused() -> None:
    err = fails(
        Source(
            "v1.yaml", doc().text.replace("    consumers:", "    processors: []\n    consumers:")
        )
    )
    assert err.diagnostics[0].code == "FC510" and "given twice" in err.diagnostics[0].reason


def test_notes_carry_yaml_lines_and_never_values() -> None:
    source = v1("""
        pipelines:
          P:
            source:
              type: SorobanSourceAdapter
              config:
                rpc_url: "https://soroban-testnet.stellar.org"
                auth_header: "Bearer tok-SECRET-123"
                start_ledger: 5
            processors:
              - type: ContractEvent
                config: {}
            consumers:
              - type: SaveToPostgreSQL
                config:
                  connection_string: "postgresql://u:pw-SECRET-456@db:5432/x"
                  unknown_key: 1
    """)
    (result,) = migrate(source)
    lines = {n.key: n.line for n in result.notes}
    assert lines["pipelines.P.source.config.auth_header"] == 7
    assert lines["pipelines.P.consumers[0].config.unknown_key"] == 16
    text = printer.print_pipeline(result.pipeline, "key")
    report = "\n".join(n.render("v1.yaml") for n in result.notes)
    for secret in ("tok-SECRET-123", "pw-SECRET-456"):
        assert secret not in text and secret not in report
    assert 'postgres("postgresql://u@db:5432/x", table="contract_events")' in text
    assert "PGPASSWORD" in report


def test_payment_filters_become_one_filter_stage() -> None:
    (result,) = migrate(
        doc(
            processors=textwrap.indent(
                textwrap.dedent("""\
                - type: FilterPayments
                  config: {min_amount: "12.5", asset_code: native, include_failed: true}
                - type: TransformToAppPayment
                  config: {addresses: [GA, GB]}
                """),
                "      ",
            )
        )
    )
    text = printer.print_pipeline(result.pipeline, "pipe")
    assert '| payments\n  | filter amount >= 12.5 and asset == "native"\n' in text
    assert '| filter from in ["GA", "GB"] or to in ["GA", "GB"]\n' in text


def test_filter_payments_skips_failed_transactions_by_default() -> None:
    (result,) = migrate(doc(processors="      - type: FilterPayments"))
    assert "payments(successful_only=true)" in printer.print_pipeline(result.pipeline, "pipe")


def test_values_equal_to_defaults_are_dropped_but_differences_kept() -> None:
    (result,) = migrate(
        doc(
            consumers=textwrap.indent(
                textwrap.dedent("""\
                - type: SaveToParquet
                  config: {storage_type: FS, local_path: out, compression: zstd, ledgers_per_file: 1000, partition_by: ledger_day}
                """),
                "      ",
            )
        )
    )
    full = printer.print_pipeline(result.full, "pipe")
    short = printer.print_pipeline(result.pipeline, "pipe")
    assert "compression=zstd" in full and "ledgers_per_file=1000" in full
    assert short.endswith('save_to parquet("out/", partition_by=day)\n')


def test_a_network_is_taken_from_the_passphrase_when_the_source_has_none() -> None:
    source = Source(
        "v1.yaml",
        doc(
            processors='      - type: LatestLedger\n        config: {network_passphrase: "Public Global Stellar Network ; September 2015"}'
        ).text.replace("        network: testnet\n", ""),
    )
    (result,) = migrate(source)
    assert result.pipeline.source.name == "mainnet"


def test_checker_errors_point_into_the_yaml() -> None:
    err = fails(doc(processors="      - type: ContractFilter\n        config: {contract_id: C1}"))
    assert err.diagnostics[0].code == "FC201"
    assert err.render().startswith("v1.yaml:12:31: error[FC201]")
