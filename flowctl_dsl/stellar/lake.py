"""Galexie / SEP-54 data-lake layout: object keys, partitions and the ``.config.json`` manifest.

Keys use reversed hex so a lexicographic listing returns the newest objects first:
``FCD285FF--53312000-53375999/FCD285FF--53312000.xdr.zst`` for ledger 53312000 with 1 ledger per
file and 64000 files per partition. The partition folder is omitted when ``files_per_partition``
is 1 or less.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote, urlparse

from flowctl_dsl.stellar.raw import RawLedger

if TYPE_CHECKING:  # formats imports stellar-sdk; keep this module light for the checker
    from flowctl_dsl.stellar.formats import LedgerBytes

KEY_PATTERN = re.compile(
    r"^(?P<hex>[0-9A-F]{8})--(?P<start>\d+)(?:-(?P<end>\d+))?\.xdr\.(?P<ext>[A-Za-z0-9._-]+)$"
)


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


# --- manifest, local lakes, reading and writing objects ----------------------------------------

PARTITION_PATTERN = re.compile(r"^(?P<hex>[0-9A-F]{8})--(?P<start>\d+)-(?P<end>\d+)$")
MANIFEST_NAME = ".config.json"
#: Extensions tried, in order, when a lake's listing does not tell.
KNOWN_EXTENSIONS = ("zst", "zstd")


class LakeError(Exception):
    """Base class of data-lake errors."""


class UnsupportedLakeError(LakeError):
    """The lake URL uses a scheme flowctl cannot read yet (``s3://``, ``gs://`` …)."""


class MissingLedgerError(LakeError, LookupError):
    """An object the requested range needs is absent; ``sequence`` is the first missing ledger."""

    def __init__(self, sequence: int, root: str, key: str | None = None) -> None:
        self.sequence = sequence
        self.root = root
        self.key = key
        where = f" (object {key})" if key else ""
        super().__init__(
            f"ledger {sequence} is missing from data lake {root}{where}; "
            "pass skip_gaps=True to skip missing objects"
        )


@dataclass(frozen=True)
class Manifest:
    """The ``.config.json`` galexie writes at a lake's root."""

    network_passphrase: str | None
    ledgers_per_batch: int = 1
    batches_per_partition: int = 64000
    compression: str = "zstd"
    version: str = "1.0"

    def schema(self, extension: str = "zst") -> LakeSchema:
        return LakeSchema(self.ledgers_per_batch, self.batches_per_partition, extension)

    def to_json(self) -> dict[str, object]:
        return {
            "networkPassphrase": self.network_passphrase,
            "version": self.version,
            "compression": self.compression,
            "ledgersPerBatch": self.ledgers_per_batch,
            "batchesPerPartition": self.batches_per_partition,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Manifest:
        return cls(
            network_passphrase=doc.get("networkPassphrase"),
            ledgers_per_batch=int(doc.get("ledgersPerBatch", 1)),
            batches_per_partition=int(doc.get("batchesPerPartition", 64000)),
            compression=str(doc.get("compression", "zstd")),
            version=str(doc.get("version", "1.0")),
        )


def local_root(url: str | Path) -> Path:
    """The directory of a ``file://`` URL or plain path; other schemes raise."""
    text = str(url)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise UnsupportedLakeError(
                f"data lake {text!r}: remote file:// hosts are not supported"
            )
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(text)
    raise UnsupportedLakeError(
        f"data lake {text!r}: scheme {parsed.scheme}:// is not supported yet "
        "(only local paths and file:// URLs)"
    )


def read_manifest(root: str | Path) -> Manifest | None:
    """The manifest at ``root``, or ``None`` when there is none."""
    path = local_root(root) / MANIFEST_NAME
    if not path.is_file():
        return None
    return Manifest.from_json(json.loads(path.read_text()))


def write_manifest(
    root: str | Path, passphrase: str, schema: LakeSchema, compression: str = "zstd"
) -> Path:
    """Write ``.config.json`` unless an identical one exists (a different one raises)."""
    base = local_root(root)
    base.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(
        passphrase, schema.ledgers_per_file, schema.files_per_partition, compression
    )
    path = base / MANIFEST_NAME
    if path.exists():
        existing = read_manifest(base)
        if existing != manifest:
            raise LakeError(f"{path} exists with different settings: {existing} != {manifest}")
        return path
    _atomic_write(path, json.dumps(manifest.to_json()).encode())
    return path


def write_object(
    root: str | Path, schema: LakeSchema, ledgers: list[bytes], start: int, end: int
) -> Path:
    """Write zstd(``LedgerCloseMetaBatch``) of ``ledgers`` (LCM XDR) for ``start..end``.

    ``start..end`` must lie in one object of ``schema`` and ``ledgers`` must hold exactly
    ``end - start + 1`` entries; the object is written to a temporary name and renamed.
    """
    if end < start or len(ledgers) != end - start + 1:
        raise ValueError(f"{len(ledgers)} ledgers for range {start}-{end}")
    first = schema.file_start(start)
    if schema.file_start(end) != first:
        raise ValueError(f"range {start}-{end} spans more than one object of {schema}")
    from flowctl_dsl.stellar.formats import encode_batch, zstd_compress

    path = local_root(root) / schema.object_key(start)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, zstd_compress(encode_batch(ledgers, start, end)))
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Chunk(NamedTuple):
    """An inclusive ledger range covering whole objects (clipped at the range's ends)."""

    start: int
    end: int


@dataclass(frozen=True)
class LakeLayout:
    """Everything needed to find and read objects of one local lake (small and picklable)."""

    root: str
    schema: LakeSchema
    partitioned: bool = True
    network_passphrase: str | None = None

    def candidates(self, sequence: int) -> list[Path]:
        """Paths the object holding ``sequence`` may have, most likely first."""
        base = Path(self.root)
        exts = [self.schema.extension, *(e for e in KNOWN_EXTENSIONS if e != self.schema.extension)]
        layouts = [self.partitioned, not self.partitioned]
        out = []
        for partitioned in layouts:
            part = self.schema.partition_dir(sequence) if partitioned else ""
            for ext in exts:
                name = self.schema.file_name(sequence, ext)
                out.append(base / part / name if part else base / name)
        return out

    def find(self, sequence: int) -> Path | None:
        """The object holding ``sequence``, or ``None`` when it is absent."""
        for path in self.candidates(sequence):
            if path.is_file():
                return path
        return None

    def read_object(self, sequence: int) -> list[LedgerBytes]:
        """All ledgers of the object holding ``sequence``; raises :class:`MissingLedgerError`."""
        path = self.find(sequence)
        if path is None:
            key = self.candidates(sequence)[0].relative_to(self.root).as_posix()
            raise MissingLedgerError(sequence, self.root, key)
        from flowctl_dsl.stellar.formats import read_batch

        return read_batch(path.read_bytes())

    def read_chunk(self, chunk: Chunk, skip_gaps: bool = False) -> Iterator[RawLedger]:
        """The ledgers of ``chunk`` in order, as :class:`RawLedger`."""
        if self.network_passphrase is None:
            raise LakeError(f"no network passphrase for lake {self.root} (none in its manifest)")
        for object_start in object_starts(self.schema, chunk.start, chunk.end):
            try:
                ledgers = self.read_object(object_start)
            except MissingLedgerError as exc:
                if skip_gaps:
                    continue
                raise MissingLedgerError(
                    max(object_start, chunk.start), self.root, exc.key
                ) from None
            for item in ledgers:
                if chunk.start <= item.sequence <= chunk.end:
                    yield RawLedger(item.sequence, item.xdr, self.network_passphrase)


def object_starts(schema: LakeSchema, start: int, end: int) -> range:
    """First ledgers of the objects that hold ``start..end``."""
    step = schema.ledgers_per_file
    return range(schema.file_start(start), end + 1, step)


def plan_chunks(
    schema: LakeSchema, start: int, end: int, objects_per_chunk: int = 1
) -> list[Chunk]:
    """Split ``start..end`` into object-aligned chunks of ``objects_per_chunk`` objects."""
    if end < start:
        return []
    size = schema.ledgers_per_file * max(1, objects_per_chunk)
    chunks = []
    lo = start
    while lo <= end:
        hi = min(end, schema.file_start(lo) + size - 1)
        chunks.append(Chunk(lo, hi))
        lo = hi + 1
    return chunks


class LocalLake:
    """A galexie lake on the local file system (partitioned or flat, ``.zst`` or ``.zstd``)."""

    def __init__(self, url: str | Path, network_passphrase: str | None = None) -> None:
        self.url = str(url)
        self.root = local_root(url)
        if not self.root.is_dir():
            raise LakeError(f"data lake {self.url}: no such directory")
        self.manifest = read_manifest(self.root)
        self._objects = self._list()
        extension = _most_common(p.name.split(".xdr.", 1)[1] for p in self._objects.values())
        partitioned = any(p.parent != self.root for p in self._objects.values())
        if self.manifest is not None:
            schema = self.manifest.schema(extension or "zst")
        else:
            schema = LakeSchema(self._infer_ledgers_per_file(), 64000, extension or "zst")
            partitioned = partitioned or not self._objects
        passphrase = network_passphrase or (self.manifest and self.manifest.network_passphrase)
        self.layout = LakeLayout(str(self.root), schema, partitioned, passphrase or None)

    @property
    def schema(self) -> LakeSchema:
        return self.layout.schema

    @property
    def network_passphrase(self) -> str | None:
        return self.layout.network_passphrase

    def _list(self) -> dict[int, Path]:
        objects: dict[int, Path] = {}
        for entry in self.root.iterdir():
            if entry.is_dir() and PARTITION_PATTERN.match(entry.name):
                files = entry.iterdir()
            elif entry.is_file():
                files = iter((entry,))
            else:
                continue
            for path in files:
                match = KEY_PATTERN.match(path.name)
                if match and path.is_file():
                    objects.setdefault(int(match["start"]), path)
        return dict(sorted(objects.items()))

    def _infer_ledgers_per_file(self) -> int:
        for path in self._objects.values():
            match = KEY_PATTERN.match(path.name)
            if match and match["end"]:
                return int(match["end"]) - int(match["start"]) + 1
        return 1

    def objects(self) -> dict[int, Path]:
        """Object paths by their first ledger, as listed when the lake was opened."""
        return dict(self._objects)

    def bounds(self) -> tuple[int, int] | None:
        """First and last ledger the lake holds (from the listing), or ``None`` when empty."""
        if not self._objects:
            return None
        return min(self._objects), max(self._objects) + self.schema.ledgers_per_file - 1

    def resolve(self, ledgers: tuple[int, int | None] | None) -> tuple[int, int] | None:
        """A concrete ``(start, end)``: missing bounds are the lake's own; ``None`` when empty."""
        bounds = self.bounds()
        start = ledgers[0] if ledgers else None
        end = ledgers[1] if ledgers else None
        if bounds is None:
            return (start, end) if start is not None and end is not None else None
        return (bounds[0] if start is None else start, bounds[1] if end is None else end)

    def gaps(self, start: int, end: int) -> list[int]:
        """First ledgers (clipped to ``start``) of the listed objects missing from the range."""
        return [
            max(first, start)
            for first in object_starts(self.schema, start, end)
            if first not in self._objects
        ]

    def plan(self, start: int, end: int, objects_per_chunk: int = 1) -> list[Chunk]:
        return plan_chunks(self.schema, start, end, objects_per_chunk)

    def read(self, start: int, end: int, skip_gaps: bool = False) -> Iterator[RawLedger]:
        """All ledgers of ``start..end`` in order."""
        for chunk in self.plan(start, end):
            yield from self.layout.read_chunk(chunk, skip_gaps)


def _most_common(values: Iterable[str]) -> str | None:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None
