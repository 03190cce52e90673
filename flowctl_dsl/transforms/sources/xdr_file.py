"""``xdr_file(path, …)``: ledgers from files in any of the formats of :mod:`flowctl_dsl.stellar.formats`.

``path`` may be a glob. Each file is one task (Create → Reshuffle → read); its ledgers are then
reshuffled so decoding spreads over workers even when one file holds them all. The format is
detected from each file's first bytes unless given. The passphrase is ``network_passphrase``,
else ``network``'s, else (galexie batch objects) the ``.config.json`` of the folder holding the
file, else the known network whose passphrase hashes the file's first transactions to the hashes
their results carry (:func:`detect_passphrase`).
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics import Metrics

from flowctl_dsl.catalog.sources import XdrFileParams
from flowctl_dsl.stellar.formats import LedgerBytes, detect_format, read_ledger_file
from flowctl_dsl.stellar.lake import LakeError, local_root, read_manifest
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.context import BuildContext

_LEDGERS = Metrics.counter("flowctl.xdr_file", "ledgers_read")


class XdrFileError(LakeError):
    """No file matches, or a file's network cannot be told."""


def read_file(
    task: tuple[str, str, str], ledgers: tuple[int, int | None] | None
) -> Iterator[RawLedger]:
    """Ledgers of one file (``(path, format, passphrase)``) inside ``ledgers``, in file order."""
    path, fmt, passphrase = task
    for item in read_ledger_file(path, fmt):
        if ledgers is not None:
            if item.sequence < ledgers[0] or (
                ledgers[1] is not None and item.sequence > ledgers[1]
            ):
                continue
        _LEDGERS.inc()
        yield RawLedger(item.sequence, item.xdr, passphrase)


def detect_passphrase(ledgers: list[LedgerBytes], tries: int = 3) -> str | None:
    """The known network whose passphrase makes the first transactions hash to their results."""
    from flowctl_dsl.stellar.ledger import (
        LedgerView,
        envelope_hashes,
        network_id,
        tx_set_envelopes,
    )
    from flowctl_dsl.stellar.networks import NETWORKS

    for item in ledgers:
        view = LedgerView.from_xdr(item.xdr, "")
        results = {m.result.transaction_hash.hash for m in view.tx_processing}
        if not results:
            continue
        envelopes = list(tx_set_envelopes(view.tx_set))[:tries]
        for net in NETWORKS:
            net_id = network_id(net.passphrase)
            if any(envelope_hashes(e, net_id)[0] in results for e in envelopes):
                return net.passphrase
        return None
    return None


def plan_files(path: str, fmt: str | None, passphrase: str | None) -> list[tuple[str, str, str]]:
    """``(path, format, passphrase)`` of every file ``path`` names (a glob allowed)."""
    pattern = str(local_root(path))
    files = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    files = [f for f in files if Path(f).is_file()]
    if not files:
        raise XdrFileError(f"xdr_file: no file matches {path}")
    tasks = []
    for name in files:
        kind = fmt or detect_format(name)
        phrase = passphrase
        if phrase is None and kind == "batch":
            manifest = read_manifest(Path(name).parent)
            phrase = manifest.network_passphrase if manifest else None
        if phrase is None:
            phrase = detect_passphrase(read_ledger_file(name, kind))
        if phrase is None:
            raise XdrFileError(
                f"xdr_file {name}: cannot tell which network the {kind} file belongs to "
                "(no manifest, and no known passphrase hashes its transactions); "
                "give network= or network_passphrase="
            )
        tasks.append((name, kind, phrase))
    return tasks


class ReadXdrFiles(beam.PTransform):
    """Ledgers of the files ``tasks`` (see :func:`plan_files`), keeping ``ledgers`` only."""

    def __init__(
        self, tasks: list[tuple[str, str, str]], ledgers: tuple[int, int | None] | None = None
    ) -> None:
        super().__init__()
        self.tasks = tasks
        self.ledgers = ledgers

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Files" >> beam.Create(self.tasks)
            | "SpreadFiles" >> beam.Reshuffle()
            | "Read" >> beam.FlatMap(read_file, ledgers=self.ledgers)
            | "SpreadLedgers" >> beam.Reshuffle()
        )


def build_xdr_file(params: XdrFileParams, ctx: BuildContext) -> beam.PTransform:
    tasks = plan_files(params.path, params.format, params.passphrase())
    return ReadXdrFiles(tasks, params.ledgers.as_tuple() if params.ledgers else None)
