"""Galexie / SEP-54 data-lake layout: object keys, partitions and the ``.config.json`` manifest.

Keys use reversed hex so a lexicographic listing returns the newest objects first:
``FCD285FF--53312000-53375999/FCD285FF--53312000.xdr.zst`` for ledger 53312000 with 1 ledger per
file and 64000 files per partition. The partition folder is omitted when ``files_per_partition``
is 1 or less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEY_PATTERN = re.compile(r"^(?P<hex>[0-9A-F]{8})--(?P<start>\d+)(?:-(?P<end>\d+))?\.xdr\.(?P<ext>[A-Za-z0-9._-]+)$")


@dataclass(frozen=True)
class LakeSchema:
    """How ledgers are grouped into objects and objects into partitions."""

    ledgers_per_file: int = 1
    files_per_partition: int = 64000
    extension: str = "zst"

    def file_start(self, sequence: int) -> int:
        """First ledger of the object that holds ``sequence``."""
        return (sequence // self.ledgers_per_file) * self.ledgers_per_file

    def partition_start(self, sequence: int) -> int:
        size = self.ledgers_per_file * self.files_per_partition
        return (sequence // size) * size

    def partition_dir(self, sequence: int) -> str:
        """``%08X--start-end`` of the partition holding ``sequence``; empty when unpartitioned."""
        if self.files_per_partition <= 1:
            return ""
        start = self.partition_start(sequence)
        end = start + self.ledgers_per_file * self.files_per_partition - 1
        return f"{0xFFFFFFFF - start:08X}--{start}-{end}"

    def file_name(self, sequence: int, extension: str | None = None) -> str:
        """``%08X--start[-end].xdr.<ext>`` of the object holding ``sequence``."""
        start = self.file_start(sequence)
        name = f"{0xFFFFFFFF - start:08X}--{start}"
        if self.ledgers_per_file > 1:
            name += f"-{start + self.ledgers_per_file - 1}"
        return f"{name}.xdr.{extension or self.extension}"

    def object_key(self, sequence: int, extension: str | None = None) -> str:
        """Key of the object holding ``sequence``, relative to the lake root (partitioned layout)."""
        part = self.partition_dir(sequence)
        name = self.file_name(sequence, extension)
        return f"{part}/{name}" if part else name
