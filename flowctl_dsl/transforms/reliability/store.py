"""Checkpoints and where they live: a local JSON file, a PostgreSQL row, or an S3/GCS object.

A :class:`Checkpoint` says that every ledger from ``first_ledger`` through ``committed_through``
was committed by every sink (and the dead-letter sink) of the pipeline whose IR hashes to
``ir_sha256``. Stores are small and picklable (a DSN travels :class:`Sealed`, never in clear);
every write replaces the whole checkpoint atomically: temp file + fsync + rename, one upsert, one
object PUT.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, SecretStr

from flowctl_dsl.catalog.settings import DEFAULT_CHECKPOINT_DIR, CheckpointConfig
from flowctl_dsl.transforms.reliability.errors import CheckpointStoreError
from flowctl_dsl.transforms.reliability.retry import RetryPolicy, call

#: The environment variable that moves the default file store (tests, read-only checkouts).
STATE_DIR_ENV = "FLOWCTL_STATE_DIR"
FORMAT_VERSION = 1


class Checkpoint(BaseModel):
    """The cursor of one pipeline: every ledger ``first_ledger..committed_through`` is committed."""

    version: int = FORMAT_VERSION
    pipeline: str
    ir_sha256: str
    source: str
    first_ledger: int
    last_ledger: int | None = None
    committed_through: int
    complete: bool = False
    ledgers: int = 0
    dead_letters: int = 0
    updated_at: datetime
    flowctl_version: str = ""

    @property
    def next_ledger(self) -> int:
        return self.committed_through + 1

    def dumps(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def safe_name(pipeline: str) -> str:
    """A file/object name for ``pipeline`` (letters, digits, ``_.-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", pipeline) or "pipeline"


class CheckpointStore(Protocol):
    """Load, save and delete the checkpoint of a pipeline by name."""

    @property
    def url(self) -> str: ...

    def load(self, pipeline: str) -> Checkpoint | None: ...

    def save(self, checkpoint: Checkpoint) -> None: ...

    def delete(self, pipeline: str) -> bool: ...


def _parse(text: str | bytes, where: str) -> Checkpoint:
    try:
        return Checkpoint.model_validate_json(text)
    except ValueError as err:
        first = str(err).splitlines()[0]
        raise CheckpointStoreError(
            f"checkpoint {where} is not a flowctl checkpoint: {first}",
            ("inspect it with `flowctl state show`, or remove it with `flowctl state reset`",),
        ) from None


class FileStore:
    """``<directory>/<pipeline>.json``, replaced atomically (temp file, fsync, rename)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = str(directory)

    @property
    def url(self) -> str:
        return self.directory

    def path(self, pipeline: str) -> Path:
        return Path(self.directory) / f"{safe_name(pipeline)}.json"

    def load(self, pipeline: str) -> Checkpoint | None:
        path = self.path(pipeline)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as err:
            raise CheckpointStoreError(f"cannot read checkpoint {path}: {err}") from None
        return _parse(text, str(path))

    def save(self, checkpoint: Checkpoint) -> None:
        path = self.path(checkpoint.pipeline)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(checkpoint.dumps())
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_dir(path.parent)
        except OSError as err:
            raise CheckpointStoreError(f"cannot write checkpoint {path}: {err}") from None

    def delete(self, pipeline: str) -> bool:
        path = self.path(pipeline)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class PostgresStore:
    """One row per pipeline in ``flowctl_checkpoints`` (created when missing), upserted."""

    TABLE = "flowctl_checkpoints"

    def __init__(self, dsn: str | SecretStr) -> None:
        from flowctl_dsl.transforms.sinks.targets import Sealed, describe_dsn

        text = dsn.get_secret_value() if isinstance(dsn, SecretStr) else dsn
        self.target = describe_dsn(text)
        self.dsn = Sealed(text)

    @property
    def url(self) -> str:
        return f"{self.target} table {self.TABLE}"

    def _sql(self, text: str) -> Any:
        """``text`` with ``{table}`` as the quoted table identifier (values stay parameters)."""
        from psycopg import sql

        return sql.SQL(text).format(table=sql.Identifier(self.TABLE))

    def _connect(self) -> Any:
        import psycopg

        dsn = self.dsn.reveal()
        if dsn is None:
            raise CheckpointStoreError(f"no credentials for checkpoint store {self.target}")
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        conn.execute(
            self._sql(
                "CREATE TABLE IF NOT EXISTS {table} (pipeline text PRIMARY KEY, "
                "checkpoint jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        return conn

    def load(self, pipeline: str) -> Checkpoint | None:
        with self._connect() as conn:
            row = conn.execute(
                self._sql("SELECT checkpoint::text FROM {table} WHERE pipeline = %s"), (pipeline,)
            ).fetchone()
        return None if row is None else _parse(row[0], f"{self.url} row {pipeline}")

    def save(self, checkpoint: Checkpoint) -> None:
        with self._connect() as conn:
            conn.execute(
                self._sql(
                    "INSERT INTO {table} (pipeline, checkpoint, updated_at) "
                    "VALUES (%s, %s::jsonb, now()) ON CONFLICT (pipeline) DO UPDATE "
                    "SET checkpoint = EXCLUDED.checkpoint, updated_at = EXCLUDED.updated_at"
                ),
                (checkpoint.pipeline, checkpoint.model_dump_json()),
            )

    def delete(self, pipeline: str) -> bool:
        with self._connect() as conn:
            cur = conn.execute(self._sql("DELETE FROM {table} WHERE pipeline = %s"), (pipeline,))
            return bool(cur.rowcount)


class ObjectStore:
    """``<prefix>/<pipeline>.json`` in S3 or GCS: read through the lake store, one PUT to write.

    Endpoints come from the usual client settings (``AWS_ENDPOINT_URL_S3``,
    ``STORAGE_EMULATOR_HOST``); writing needs credentials.
    """

    def __init__(self, url: str) -> None:
        self.location = url.rstrip("/")

    @property
    def url(self) -> str:
        return self.location

    def _store(self) -> Any:
        from flowctl_dsl.stellar.remote_lake import GCSStore, S3Store, split_url

        scheme, bucket, prefix = split_url(self.location)
        if scheme == "s3":
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            return S3Store(bucket, prefix, endpoint_url=endpoint, anonymous=False)
        return GCSStore(bucket, prefix, anonymous=False)

    def key(self, pipeline: str) -> str:
        return f"{safe_name(pipeline)}.json"

    def load(self, pipeline: str) -> Checkpoint | None:
        data = self._store().get(self.key(pipeline))
        return None if data is None else _parse(data, f"{self.location}/{self.key(pipeline)}")

    def save(self, checkpoint: Checkpoint) -> None:
        store = self._store()
        key = store.prefix + self.key(checkpoint.pipeline)
        body = checkpoint.dumps().encode()
        if self.location.startswith("s3://"):
            store._client().put_object(
                Bucket=store.bucket, Key=key, Body=body, ContentType="application/json"
            )
        else:
            store._bucket().blob(key).upload_from_string(body, content_type="application/json")

    def delete(self, pipeline: str) -> bool:
        store = self._store()
        key = store.prefix + self.key(pipeline)
        if store.get(self.key(pipeline)) is None:
            return False
        if self.location.startswith("s3://"):
            store._client().delete_object(Bucket=store.bucket, Key=key)
        else:
            store._bucket().blob(key).delete()
        return True


def default_directory() -> str:
    return os.environ.get(STATE_DIR_ENV) or DEFAULT_CHECKPOINT_DIR


def open_store(config: CheckpointConfig | None) -> CheckpointStore:
    """The store a plan's ``checkpoint`` setting names (a local file store by default)."""
    if config is None:
        return FileStore(default_directory())
    location = config.location
    if config.store == "postgres":
        return PostgresStore(location)
    text = location.get_secret_value() if isinstance(location, SecretStr) else str(location)
    if config.store in ("gs", "s3"):
        return ObjectStore(text)
    if config.store == "file" and text == DEFAULT_CHECKPOINT_DIR:
        text = default_directory()
    return FileStore(text)


def parse_location(text: str) -> CheckpointConfig:
    """A ``--store`` value of ``flowctl state``: a directory, ``postgres://…`` or a bucket URL."""
    for scheme in ("gs", "s3"):
        if text.startswith(f"{scheme}://"):
            return CheckpointConfig(store=scheme, location=text)
    if text.startswith(("postgres://", "postgresql://")) or "dbname=" in text:
        return CheckpointConfig(store="postgres", location=SecretStr(text))
    return CheckpointConfig(store="file", location=text.removeprefix("file://"))


class Guarded:
    """A store whose calls are retried on transient errors and fail as FC409."""

    def __init__(self, store: CheckpointStore, policy: RetryPolicy) -> None:
        self.store = store
        self.policy = policy

    @property
    def url(self) -> str:
        return self.store.url

    def _do(self, what: str, action: Any) -> Any:
        try:
            return call(action, self.policy, "checkpoint")
        except CheckpointStoreError:
            raise
        except Exception as err:  # noqa: BLE001 - any store failure is FC409
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise CheckpointStoreError(
                f"cannot {what} checkpoint store {self.store.url}: {type(err).__name__}: {first}"
            ) from err

    def load(self, pipeline: str) -> Checkpoint | None:
        result: Checkpoint | None = self._do("read", lambda: self.store.load(pipeline))
        return result

    def save(self, checkpoint: Checkpoint) -> None:
        self._do("write", lambda: self.store.save(checkpoint))

    def delete(self, pipeline: str) -> bool:
        return bool(self._do("update", lambda: self.store.delete(pipeline)))


def describe(checkpoint: Checkpoint) -> dict[str, Any]:
    """The checkpoint as plain JSON values (``flowctl state show``)."""
    return json.loads(checkpoint.model_dump_json())
