"""Secret values: ``secret("env:NAME")``, ``secret("file:/path")``, ``secret("gcp:…")``, ``secret("aws:…")``.

A pipeline names where a secret lives, never the secret itself: the IR keeps the reference
(``secret("env:PG_DSN")``), and the checker resolves it into the parameter's secret type (a pydantic
:class:`~pydantic.SecretStr` such as the postgres sink's ``Dsn``), which prints as ``****`` in
``explain``, plans, logs and errors. Only parameters typed as secrets take one.

Cloud references need their client library: ``gcp:projects/P/secrets/S[/versions/V]`` uses
google-cloud-secret-manager, ``aws:<secret id or ARN>`` uses boto3; without it the error says what to
install.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import types
import typing
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from flowctl_dsl import ir
from flowctl_dsl.errors import did_you_mean

CALL = "secret"
SCHEMES = ("env", "file", "gcp", "aws")
#: A secret file larger than this is a mistake (a key file, not a whole directory listing).
MAX_FILE_BYTES = 64 * 1024
#: What a secret resolves to in :func:`offline` mode: valid for every secret type flowctl has.
PLACEHOLDER = "postgresql://localhost/placeholder"

_OFFLINE: ContextVar[bool] = ContextVar("flowctl_secrets_offline", default=False)


class SecretError(Exception):
    """A secret reference that is malformed (FC520), unresolvable (FC521), misplaced (FC522) or
    needs a library that is not installed (FC523). Messages never contain a secret value."""

    def __init__(self, code: str, reason: str, hints: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.hints = hints


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Resolve every secret to :data:`PLACEHOLDER` (checking a migrated pipeline, no lookups)."""
    token = _OFFLINE.set(True)
    try:
        yield
    finally:
        _OFFLINE.reset(token)


def is_secret(value: ir.Value) -> bool:
    return isinstance(value, ir.CallV) and value.name == CALL


def reference(value: ir.CallV) -> str:
    """The ``scheme:rest`` text of ``secret("…")``; FC520 unless it is one such string."""
    args = value.args
    if len(args) != 1 or args[0].name is not None or not isinstance(args[0].value, ir.StrV):
        raise SecretError(
            "FC520",
            'secret(…) takes one string: secret("env:NAME") or secret("file:/path")',
            (f"schemes: {', '.join(SCHEMES)}",),
        )
    ref = args[0].value.value
    scheme, sep, rest = ref.partition(":")
    if not sep or scheme not in SCHEMES or not rest.strip():
        close = did_you_mean(scheme, SCHEMES)
        hint = f"did you mean `{close[0]}:`?" if close and sep else f"schemes: {', '.join(SCHEMES)}"
        raise SecretError("FC520", f"`{ref}` is not a secret reference (scheme:location)", (hint,))
    return ref


def resolve(ref: str, env: Mapping[str, str] | None = None) -> str:
    """The secret ``ref`` names (``scheme:location``), read now; SecretError if it cannot be."""
    if _OFFLINE.get():
        return PLACEHOLDER
    scheme, _, rest = ref.partition(":")
    env = os.environ if env is None else env
    if scheme == "env":
        value = env.get(rest)
        if not value:
            raise SecretError(
                "FC521",
                f"secret `{ref}`: environment variable `{rest}` is {'empty' if value == '' else 'not set'}",
                (f"export {rest}=… before running flowctl",),
            )
        return value
    if scheme == "file":
        return _read_file(ref, Path(rest).expanduser())
    if scheme == "gcp":
        return _gcp(ref, rest)
    if scheme == "aws":
        return _aws(ref, rest)
    raise SecretError("FC520", f"`{ref}` is not a secret reference", (f"schemes: {SCHEMES}",))


def _read_file(ref: str, path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SecretError(
                "FC521", f"secret `{ref}`: the file is {size} bytes (at most {MAX_FILE_BYTES})"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretError("FC521", f"secret `{ref}`: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SecretError(
            "FC521", f"secret `{ref}`: cannot read the file ({type(err).__name__})"
        ) from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise SecretError("FC521", f"secret `{ref}`: the file is empty")
    return value


def _library(module: str, package: str, ref: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SecretError(
            "FC523",
            f"secret `{ref}` needs the {package} library, which is not installed",
            (f"pip install {package}", 'or use secret("env:NAME") / secret("file:/path")'),
        ) from None


def _gcp(ref: str, name: str) -> str:
    secretmanager = _library("google.cloud.secretmanager", "google-cloud-secret-manager", ref)
    if "/versions/" not in name:
        name = name.rstrip("/") + "/versions/latest"
    try:
        client = secretmanager.SecretManagerServiceClient()
        data: bytes = client.access_secret_version(name=name).payload.data
        return data.decode("utf-8")
    except Exception as err:  # noqa: BLE001 - any client failure is "cannot resolve"
        raise SecretError("FC521", f"secret `{ref}`: {type(err).__name__}") from None


def _aws(ref: str, secret_id: str) -> str:
    boto3 = _library("boto3", "boto3", ref)
    try:
        reply = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except Exception as err:  # noqa: BLE001 - any client failure is "cannot resolve"
        raise SecretError("FC521", f"secret `{ref}`: {type(err).__name__}") from None
    value = reply.get("SecretString")
    if not isinstance(value, str):
        raise SecretError("FC521", f"secret `{ref}`: not a string secret")
    return value


def secret_type(annotation: Any) -> type[SecretStr] | None:
    """The :class:`SecretStr` subclass a parameter annotation holds (through Optional/Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, SecretStr):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return secret_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if found := secret_type(arg):
                return found
    return None


def bind(value: ir.CallV, annotation: Any, param: str, component: str) -> SecretStr:
    """``secret("…")`` given to ``component.param``: the resolved value in the parameter's type."""
    kind = secret_type(annotation)
    if kind is None:
        raise SecretError(
            "FC522",
            f"`{component}.{param}` does not take a secret",
            ("secret(…) goes in parameters typed as secrets, e.g. postgres(dsn=secret(…))",),
        )
    return kind(resolve(reference(value)))
