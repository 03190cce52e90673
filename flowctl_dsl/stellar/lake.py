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
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import unquote, urlparse

from flowctl_dsl.stellar.raw import RawLedger

if TYPE_CHECKING:  # formats imports stellar-sdk; keep this module light for the checker
    from flowctl_dsl.stellar.decode import LedgerHeaderInfo
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


# --- object stores ----------------------------------------------------------------------------


class ObjectStore(Protocol):
    """Read-only access to the objects under a lake root, by key relative to that root.

    ``list`` yields keys in lexicographic order (what S3 and GCS return); with ``delimiter="/"``
    it yields the direct children of ``prefix``, sub-folders ending in ``/``. ``get`` and
    ``get_prefix`` return ``None`` for a missing object. Stores must be picklable: clients are
    created lazily in each process.
    """

    @property
    def url(self) -> str: ...

    def list(
        self, prefix: str = "", start_after: str | None = None, delimiter: str | None = None
    ) -> Iterator[str]: ...

    def get(self, key: str) -> bytes | None: ...

    def get_prefix(self, key: str, length: int) -> bytes | None: ...


@dataclass(frozen=True)
class LocalStore:
    """Objects under a local directory (``root``); keys use ``/`` whatever the OS."""

    root: str

    @property
    def url(self) -> str:
        return self.root

    def list(
        self, prefix: str = "", start_after: str | None = None, delimiter: str | None = None
    ) -> Iterator[str]:
        base = Path(self.root)
        folder = prefix.rpartition("/")[0]
        directory = base / folder if folder else base
        if not directory.is_dir():
            return
        lead = f"{folder}/" if folder else ""
        if delimiter == "/":
            with os.scandir(directory) as entries:
                names = [lead + e.name + ("/" if e.is_dir() else "") for e in entries]
        else:
            names = []
            for path, _, files in os.walk(directory):
                rel = Path(path).relative_to(directory).as_posix()
                inner = lead if rel == "." else f"{lead}{rel}/"
                names.extend(inner + name for name in files)
        for name in sorted(names):
            if name.startswith(prefix) and (start_after is None or name > start_after):
                yield name

    def get(self, key: str) -> bytes | None:
        path = Path(self.root) / key
        return path.read_bytes() if path.is_file() else None

    def get_prefix(self, key: str, length: int) -> bytes | None:
        path = Path(self.root) / key
        if not path.is_file():
            return None
        with path.open("rb") as f:
            return f.read(length)


def _store_for(root: str, store: ObjectStore | None) -> ObjectStore:
    return store if store is not None else LocalStore(root)


#: Compressed bytes fetched first for a header-only read; zstd emits nothing until the first
#: block (up to 128 KiB of XDR) is complete, so smaller reads of real objects usually yield 0 B.
HEADER_FETCH = 1 << 17


def header_from_object(data: bytes) -> LedgerHeaderInfo:
    """Header of the first ledger of a (possibly truncated) galexie object, decompressing ~1 KiB.

    Raises :class:`~flowctl_dsl.stellar.decode.HeaderDecodeError` when ``data`` is too short.
    """
    import io

    import zstandard

    from flowctl_dsl.stellar.decode import header_only

    if data[:4] == b"\x28\xb5\x2f\xfd":
        try:
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data))
            data = reader.read(12 + 2048)
        except zstandard.ZstdError:
            data = b""
    return header_only(data[12:])


@dataclass(frozen=True)
class LakeLayout:
    """Everything needed to find and read objects of one lake (small and picklable).

    ``root`` names the lake in messages; objects are read through ``store`` (a
    :class:`LocalStore` of ``root`` when ``None``).
    """

    root: str
    schema: LakeSchema
    partitioned: bool = True
    network_passphrase: str | None = None
    store: ObjectStore | None = None

    def candidates(self, sequence: int) -> list[str]:
        """Keys the object holding ``sequence`` may have, most likely first."""
        exts = [self.schema.extension, *(e for e in KNOWN_EXTENSIONS if e != self.schema.extension)]
        out = []
        for partitioned in (self.partitioned, not self.partitioned):
            part = self.schema.partition_dir(sequence) if partitioned else ""
            for ext in exts:
                name = self.schema.file_name(sequence, ext)
                out.append(f"{part}/{name}" if part else name)
        return out

    def find(self, sequence: int) -> str | None:
        """Key of the object holding ``sequence``, or ``None`` when it is absent."""
        store = _store_for(self.root, self.store)
        for key in self.candidates(sequence):
            if store.get_prefix(key, 1) is not None:
                return key
        return None

    def _get(self, sequence: int, length: int | None = None) -> bytes:
        store = _store_for(self.root, self.store)
        for key in self.candidates(sequence):
            data = store.get(key) if length is None else store.get_prefix(key, length)
            if data is not None:
                return data
        raise MissingLedgerError(sequence, self.root, self.candidates(sequence)[0])

    def read_object(self, sequence: int) -> list[LedgerBytes]:
        """All ledgers of the object holding ``sequence``; raises :class:`MissingLedgerError`."""
        from flowctl_dsl.stellar.formats import read_batch

        return read_batch(self._get(sequence))

    def read_header(self, sequence: int) -> LedgerHeaderInfo:
        """Header of the first ledger of the object holding ``sequence`` (header-only read).

        Fetches the object's first :data:`HEADER_FETCH` bytes (all of it when that is not
        enough) and decompresses only its first KiB.
        """
        from flowctl_dsl.stellar.decode import HeaderDecodeError

        data = self._get(sequence, HEADER_FETCH)
        try:
            return header_from_object(data)
        except HeaderDecodeError:
            if len(data) < HEADER_FETCH:
                raise
        return header_from_object(self._get(sequence))

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


def _before(file_start: int) -> str:
    """A listing cursor just before the name of the object starting at ``file_start``.

    Names use reversed hex, so objects starting at or before ``file_start`` sort after it.
    """
    return f"{0xFFFFFFFF - file_start - 1:08X}~" if file_start < 0xFFFFFFFF else ""


class Lake:
    """A galexie lake in any :class:`ObjectStore` (partitioned or flat, ``.zst`` or ``.zstd``).

    Opening reads the manifest and lists the root's top level (partition folders); ranges, gaps
    and bounds list only the partitions they touch, from a cursor, so a lake of millions of
    objects is never listed whole.
    """

    def __init__(self, store: ObjectStore, network_passphrase: str | None = None) -> None:
        self.store = store
        self.url = store.url
        raw = store.get(MANIFEST_NAME)
        self.manifest = Manifest.from_json(json.loads(raw)) if raw is not None else None
        top = list(store.list("", delimiter="/"))
        parts = []
        for name in top:
            match = PARTITION_PATTERN.match(name[:-1]) if name.endswith("/") else None
            if match:
                parts.append((int(match["start"]), int(match["end"]), name))
        #: Partition folders, newest first: (first ledger, last ledger, "prefix/").
        self._partitions = sorted(parts, reverse=True)
        self._flat = {int(m["start"]): key for key in top if (m := KEY_PATTERN.match(key))}
        sample = list(self._flat.values()) or self._newest_keys(100)
        extension = _most_common(key.split(".xdr.", 1)[1] for key in sample)
        partitioned = bool(self._partitions)
        if self.manifest is not None:
            schema = self.manifest.schema(extension or "zst")
        else:
            per_file = _ledgers_per_file(sample)
            per_part = 64000
            if self._partitions:
                first, last, _ = self._partitions[0]
                per_part = max(1, (last - first + 1) // per_file)
            schema = LakeSchema(per_file, per_part, extension or "zst")
            partitioned = partitioned or not sample
        passphrase = network_passphrase or (self.manifest and self.manifest.network_passphrase)
        self.layout = LakeLayout(self.url, schema, partitioned, passphrase or None, store)

    @property
    def schema(self) -> LakeSchema:
        return self.layout.schema

    @property
    def network_passphrase(self) -> str | None:
        return self.layout.network_passphrase

    def _newest_keys(self, limit: int) -> list[str]:
        for _, _, prefix in self._partitions:
            keys = []
            for key in self.store.list(prefix):
                if KEY_PATTERN.match(key[len(prefix) :]):
                    keys.append(key)
                    if len(keys) >= limit:
                        break
            if keys:
                return keys
        return []

    def objects_in(self, start: int, end: int) -> dict[int, str]:
        """Keys of the listed objects holding ``start..end``, by their first ledger."""
        schema = self.schema
        low = schema.file_start(start)
        cursor = _before(schema.file_start(end))
        found: dict[int, str] = {}
        for first, last, prefix in self._partitions:
            if first > end or last < low:
                continue
            for key in self.store.list(prefix, start_after=prefix + cursor):
                match = KEY_PATTERN.match(key[len(prefix) :])
                if not match:
                    continue
                if int(match["start"]) < low:
                    break
                found.setdefault(int(match["start"]), key)
        for first, key in self._flat.items():
            if low <= first <= end:
                found.setdefault(first, key)
        return dict(sorted(found.items()))

    def latest(self) -> int | None:
        """Last ledger of the newest object (one short listing), or ``None`` when empty."""
        best = None
        keys = self._newest_keys(1)
        if keys:
            best = _last_ledger(keys[0].rsplit("/", 1)[-1])
        if self._flat:
            flat = _last_ledger(self._flat[max(self._flat)].rsplit("/", 1)[-1])
            best = flat if best is None else max(best, flat)
        return best

    def earliest(self) -> int | None:
        """First ledger of the oldest object (lists the oldest non-empty partition)."""
        best = min(self._flat) if self._flat else None
        for _, _, prefix in reversed(self._partitions):
            starts = [
                int(m["start"])
                for key in self.store.list(prefix)
                if (m := KEY_PATTERN.match(key[len(prefix) :]))
            ]
            if starts:
                return min(starts) if best is None else min(best, *starts)
        return best

    def bounds(self) -> tuple[int, int] | None:
        """First and last ledger the lake holds (from listings), or ``None`` when empty."""
        last = self.latest()
        if last is None:
            return None
        first = self.earliest()
        assert first is not None
        return first, last

    def resolve(self, ledgers: tuple[int, int | None] | None) -> tuple[int, int] | None:
        """A concrete ``(start, end)``: missing bounds are the lake's own; ``None`` when empty."""
        start = ledgers[0] if ledgers else None
        end = ledgers[1] if ledgers else None
        if start is not None and end is not None:
            return start, end
        last = self.latest()
        if last is None:
            return (start, end) if start is not None and end is not None else None
        if start is None:
            start = self.earliest()
            assert start is not None
        return start, last if end is None else end

    def gaps(self, start: int, end: int) -> list[int]:
        """First ledgers (clipped to ``start``) of the listed objects missing from the range."""
        present = self.objects_in(start, end)
        return [
            max(first, start)
            for first in object_starts(self.schema, start, end)
            if first not in present
        ]

    def plan(self, start: int, end: int, objects_per_chunk: int = 1) -> list[Chunk]:
        return plan_chunks(self.schema, start, end, objects_per_chunk)

    def read(self, start: int, end: int, skip_gaps: bool = False) -> Iterator[RawLedger]:
        """All ledgers of ``start..end`` in order."""
        for chunk in self.plan(start, end):
            yield from self.layout.read_chunk(chunk, skip_gaps)


class LocalLake(Lake):
    """A galexie lake on the local file system (partitioned or flat, ``.zst`` or ``.zstd``)."""

    def __init__(self, url: str | Path, network_passphrase: str | None = None) -> None:
        self.root = local_root(url)
        if not self.root.is_dir():
            raise LakeError(f"data lake {url}: no such directory")
        super().__init__(LocalStore(str(self.root)), network_passphrase)
        self.url = str(url)

    def objects(self) -> dict[int, Path]:
        """Object paths by their first ledger."""
        found: dict[int, Path] = {}
        for key in self.store.list():
            match = KEY_PATTERN.match(key.rsplit("/", 1)[-1])
            if match and key.count("/") <= 1:
                found.setdefault(int(match["start"]), self.root / key)
        return dict(sorted(found.items()))


def _last_ledger(name: str) -> int:
    match = KEY_PATTERN.match(name)
    assert match is not None
    return int(match["end"] or match["start"])


def _ledgers_per_file(keys: Iterable[str]) -> int:
    for key in keys:
        match = KEY_PATTERN.match(key.rsplit("/", 1)[-1])
        if match and match["end"]:
            return int(match["end"]) - int(match["start"]) + 1
    return 1


def _most_common(values: Iterable[str]) -> str | None:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None
