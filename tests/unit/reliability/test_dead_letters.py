"""Dead letters: the processor's tagged output, fail-fast FC406, coded errors from Beam's wrapping."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from flowctl_dsl.catalog.dead_letter import DEAD_LETTER_SCHEMA
from flowctl_dsl.stellar.localnet.generate import iter_ledgers
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.processors.base import build
from flowctl_dsl.transforms.reliability import dead_letter as dlq
from flowctl_dsl.transforms.reliability.errors import StageFailedError, as_flowctl_error

LEDGERS = list(iter_ledgers(2, 6, txs_per_ledger=1))


def explode_on_4(view: Any, params: Any) -> list[dict[str, Any]]:
    if view.sequence == 4:
        raise KeyError("no such asset")
    return [{"sequence": view.sequence}]


def spec(impl: str) -> Any:
    return SimpleNamespace(name="probe", impl=impl, native_impl=None, schema=None)


GOT: dict[str, list[Any]] = {"records": [], "dead": []}


class Keep(beam.DoFn):  # type: ignore[misc]
    """Appends to ``GOT`` (module level: shared with the in-process runner)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def process(self, x: Any) -> None:
        GOT[self.name].append(x)


def collect(elements: list[Any], dead_letters: bool) -> tuple[list[Any], list[Any]]:
    """Run the processor over ``elements``; returns (records, dead letters)."""
    for found in GOT.values():
        found.clear()
    fn = build(spec(f"{__name__}:explode_on_4"), None, "demo", dead_letters)  # type: ignore[arg-type]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(elements) | fn
        if dead_letters:
            _ = out.records | "r" >> beam.ParDo(Keep("records"))
            _ = out[dlq.TAG] | "d" >> beam.ParDo(Keep("dead"))
        else:
            _ = out | "r" >> beam.ParDo(Keep("records"))
    return list(GOT["records"]), list(GOT["dead"])


def test_a_failing_ledger_becomes_a_dead_letter_and_the_rest_goes_on() -> None:
    records, dead = collect(LEDGERS, dead_letters=True)
    assert sorted(r["sequence"] for r in records) == [2, 3, 5, 6]
    [letter] = dead
    assert list(letter) == DEAD_LETTER_SCHEMA.names
    assert (letter["pipeline"], letter["stage"], letter["ledger_sequence"]) == ("demo", "probe", 4)
    assert letter["error_code"] == "processor_error"
    assert letter["message"] == "KeyError: 'no such asset'"
    assert base64.b64decode(letter["element"]) == LEDGERS[2].xdr
    assert "explode_on_4" in letter["stack"]


def test_bad_xdr_is_a_decode_error() -> None:
    bad = RawLedger(7, b"\x00\x00\x00\x02garbage", LEDGERS[0].network_passphrase)
    _, [letter] = collect([bad], dead_letters=True)
    assert letter["error_code"] == "decode_error" and letter["ledger_sequence"] == 7


def test_an_unreadable_object_from_the_source_is_sent_on() -> None:
    item = dlq.UnreadableLedger(
        9, b"\x28\xb5", "pass", "object X cannot be decoded", stage="datastore"
    )
    _, [letter] = collect([item], dead_letters=True)
    assert (letter["stage"], letter["error_code"], letter["ledger_sequence"]) == (
        "datastore",
        "unreadable_object",
        9,
    )
    assert letter["message"] == "object X cannot be decoded"


def test_without_a_dead_letter_output_the_first_failure_stops_the_run() -> None:
    with pytest.raises(Exception) as info:
        collect(LEDGERS, dead_letters=False)
    mapped = as_flowctl_error(info.value)
    assert mapped is not None
    [diag] = mapped.diagnostics
    assert diag.code == "FC406"
    assert diag.reason == "stage `probe` failed on ledger 4: KeyError: 'no such asset'"
    assert any("dead_letter" in h for h in diag.hints)


def test_coded_errors_are_found_in_wrapped_text() -> None:
    err = RuntimeError(
        "Traceback …\nflowctl_dsl.transforms.reliability.errors.StageFailedError: [FC406] stage "
        "`payments` failed on ledger 57: ValueError: Invalid v. [while running '01_payments']"
    )
    mapped = as_flowctl_error(err)
    assert mapped is not None
    assert (
        mapped.diagnostics[0].reason
        == "stage `payments` failed on ledger 57: ValueError: Invalid v."
    )
    assert as_flowctl_error(RuntimeError("something else")) is None
    assert (
        StageFailedError.of("s", None, ValueError("x")).reason
        == "stage `s` failed on a record: ValueError: x"
    )


def test_records_encode_as_json() -> None:
    letter = dlq.record("p", "derive", "processor_error", "boom", None, {"amount": 1})
    assert letter["element"] == '{"amount":1}' and letter["ledger_sequence"] is None
