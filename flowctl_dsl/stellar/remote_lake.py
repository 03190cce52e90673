"""Object stores for lakes in S3 (and S3-compatible stores) and Google Cloud Storage.

:func:`open_store` turns a lake URL into an :class:`~flowctl_dsl.stellar.lake.ObjectStore`
(``file://``/paths, ``s3://bucket/prefix``, ``gs://bucket/prefix``) and :func:`open_lake` into a
:class:`~flowctl_dsl.stellar.lake.Lake`, so local and remote lakes share one reader. Access is
anonymous unless credentials are configured (or ``anonymous=False`` insists on them); clients are
created lazily once per process, so stores pickle to Beam workers as a few strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlparse

from flowctl_dsl.stellar.lake import Lake, LakeError, LocalStore, ObjectStore, local_root

REMOTE_SCHEMES = ("s3", "gs")


def split_url(url: str) -> tuple[str, str, str]:
    """``(scheme, bucket, prefix)`` of ``s3://bucket/a/b`` or ``gs://…``; prefix ends in ``/``."""
    parsed = urlparse(url)
    if parsed.scheme not in REMOTE_SCHEMES:
        raise LakeError(f"{url!r} is not an s3:// or gs:// URL")
    if not parsed.netloc:
        raise LakeError(f"{url!r} has no bucket name")
    prefix = parsed.path.strip("/")
    return parsed.scheme, parsed.netloc, f"{prefix}/" if prefix else ""


def is_remote(url: str) -> bool:
    return urlparse(str(url)).scheme in REMOTE_SCHEMES


# --- S3 ---------------------------------------------------------------------------------------


@cache
def _s3_client(region: str | None, endpoint_url: str | None, anonymous: bool | None) -> Any:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    session = boto3.session.Session()
    unsigned = anonymous or (anonymous is None and session.get_credentials() is None)
    config = Config(
        signature_version=UNSIGNED if unsigned else None,
        retries={"max_attempts": 8, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    return session.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


def _s3_error(exc: Exception, url: str) -> LakeError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    return LakeError(f"data lake {url}: S3 error {code}: {exc}")


@dataclass(frozen=True)
class S3Store:
    """Objects under ``s3://bucket/prefix`` (``endpoint_url`` for MinIO, R2, a local server…)."""

    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    anonymous: bool | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _client(self) -> Any:
        return _s3_client(self.region, self.endpoint_url, self.anonymous)

    def list(
        self, prefix: str = "", start_after: str | None = None, delimiter: str | None = None
    ) -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after:
            args["StartAfter"] = self.prefix + start_after
        if delimiter:
            args["Delimiter"] = delimiter
        cut = len(self.prefix)
        try:
            for page in self._client().get_paginator("list_objects_v2").paginate(**args):
                names = [c["Prefix"] for c in page.get("CommonPrefixes", [])]
                names += [o["Key"] for o in page.get("Contents", [])]
                for name in sorted(names):
                    yield name[cut:]
        except (ClientError, BotoCoreError) as exc:
            raise _s3_error(exc, self.url) from exc

    def _get(self, key: str, **extra: Any) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply = self._client().get_object(Bucket=self.bucket, Key=self.prefix + key, **extra)
            return bytes(reply["Body"].read())
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            if code == "InvalidRange":  # empty object
                return b""
            raise _s3_error(exc, self.url) from exc
        except BotoCoreError as exc:
            raise _s3_error(exc, self.url) from exc

    def get(self, key: str) -> bytes | None:
        return self._get(key)

    def get_prefix(self, key: str, length: int) -> bytes | None:
        return self._get(key, Range=f"bytes=0-{max(1, length) - 1}")


# --- Google Cloud Storage ---------------------------------------------------------------------


@cache
def _gcs_client(endpoint_url: str | None, anonymous: bool | None, project: str | None) -> Any:
    from google.cloud import storage  # type: ignore[attr-defined]

    options = {"api_endpoint": endpoint_url} if endpoint_url else None
    if anonymous:
        return (
            storage.Client.create_anonymous_client()
            if options is None
            else storage.Client(
                project=project or "anonymous",
                credentials=_anonymous_credentials(),
                client_options=options,
            )
        )
    if anonymous is None:
        try:
            return storage.Client(project=project, client_options=options)
        except Exception:  # noqa: BLE001 - no default credentials: read anonymously
            return _gcs_client(endpoint_url, True, project)
    return storage.Client(project=project, client_options=options)


def _anonymous_credentials() -> Any:
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()


def _gcs_error(exc: Exception, url: str) -> LakeError:
    return LakeError(f"data lake {url}: GCS error {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class GCSStore:
    """Objects under ``gs://bucket/prefix`` (``endpoint_url`` for an emulator)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    anonymous: bool | None = None
    project: str | None = None

    @property
    def url(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}".rstrip("/")

    def _bucket(self) -> Any:
        return _gcs_client(self.endpoint_url, self.anonymous, self.project).bucket(self.bucket)

    def list(
        self, prefix: str = "", start_after: str | None = None, delimiter: str | None = None
    ) -> Iterator[str]:
        from google.api_core import exceptions

        client = _gcs_client(self.endpoint_url, self.anonymous, self.project)
        args: dict[str, Any] = {"prefix": self.prefix + prefix}
        if start_after:
            args["start_offset"] = self.prefix + start_after  # inclusive: skip it below
        if delimiter:
            args["delimiter"] = delimiter
        cut = len(self.prefix)
        try:
            blobs = client.list_blobs(self.bucket, **args)
            for page in blobs.pages:
                names = [b.name for b in page]
                names += list(page.prefixes)
                for name in sorted(names):
                    if start_after is None or name[cut:] > start_after:
                        yield name[cut:]
        except exceptions.GoogleAPIError as exc:
            raise _gcs_error(exc, self.url) from exc

    def _get(self, key: str, end: int | None = None) -> bytes | None:
        from google.api_core import exceptions

        try:
            blob = self._bucket().blob(self.prefix + key)
            return bytes(blob.download_as_bytes(start=0 if end is not None else None, end=end))
        except exceptions.NotFound:
            return None
        except exceptions.GoogleAPIError as exc:
            raise _gcs_error(exc, self.url) from exc

    def get(self, key: str) -> bytes | None:
        return self._get(key)

    def get_prefix(self, key: str, length: int) -> bytes | None:
        return self._get(key, max(1, length) - 1)


# --- opening ----------------------------------------------------------------------------------


def open_store(
    url: str,
    region: str | None = None,
    endpoint_url: str | None = None,
    anonymous: bool | None = None,
) -> ObjectStore:
    """The store of a lake URL: a local path/``file://``, ``s3://…`` or ``gs://…``."""
    if not is_remote(url):
        root = local_root(url)
        if not root.is_dir():
            raise LakeError(f"data lake {url}: no such directory")
        return LocalStore(str(root))
    scheme, bucket, prefix = split_url(url)
    if scheme == "s3":
        return S3Store(bucket, prefix, region, endpoint_url, anonymous)
    return GCSStore(bucket, prefix, endpoint_url, anonymous)


def open_lake(
    url: str,
    network_passphrase: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    anonymous: bool | None = None,
) -> Lake:
    """A :class:`~flowctl_dsl.stellar.lake.Lake` over :func:`open_store` of ``url``."""
    lake = Lake(open_store(url, region, endpoint_url, anonymous), network_passphrase)
    lake.url = url
    return lake
