"""What warehouse sinks share: identifier and DSN checks, secret masking, bounded retries.

No Beam and no database drivers here: the catalog's parameter models import it, and so does
``runtime_errors`` to recognise :class:`SinkError` (FC404 unreachable, FC405 mismatched target).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, unquote

from pydantic import SecretStr

from flowctl_dsl.errors import FlowctlError

if TYPE_CHECKING:
    from flowctl_dsl.transforms.context import BuildContext

_LOG = logging.getLogger(__name__)

T = TypeVar("T")

#: A plain SQL identifier: letter or underscore first, then letters, digits, underscores; at most
#: 63 characters (PostgreSQL's limit). Identifiers are still always quoted when used.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

#: Attempts and first delay of :func:`with_retries` (the delay doubles after each failure).
ATTEMPTS = 3
FIRST_DELAY_S = 0.5


class SinkError(RuntimeError):
    """A sink failed because of its target; ``code`` is the flowctl error code it maps to."""

    code = "FC404"
    hints: tuple[str, ...] = ()


class SinkUnreachableError(SinkError):
    """A sink could not reach its target after bounded retries; the message is one line."""

    code = "FC404"

    def __init__(self, kind: str, target: str, reason: str, attempts: int) -> None:
        self.kind = kind
        self.target = target
        self.reason = " ".join(reason.split())
        self.attempts = attempts
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        super().__init__(f"cannot reach {kind} target {target} {tries}: {self.reason}")


class SinkSchemaError(SinkError):
    """The target exists but cannot take these records (missing columns, no key constraint).

    ``hints`` is keyword-only so that Beam, which re-creates exceptions as ``type(e)(message)``
    to append the step name, wraps this one instead and keeps the original (and its hints).
    """

    code = "FC405"

    def __init__(self, message: str, *, hints: tuple[str, ...]) -> None:
        super().__init__(message)
        self.hints = hints


def cannot_write(reason: str, hints: list[str] | None = None) -> FlowctlError:
    """FC405: the sink cannot write these records as configured (found when building)."""
    return FlowctlError.one(
        "FC405", f"the sink cannot write these records: {reason}", None, hints or ()
    )


def key_for(mode: str, ctx: BuildContext) -> tuple[str, ...]:
    """The natural key ``mode=upsert`` needs, all present in the records' schema (else FC405)."""
    if mode != "upsert":
        return ()
    names = ctx.schema.names if ctx.schema is not None else []
    missing = [k for k in ctx.key_fields if k not in names]
    if not ctx.key_fields or missing:
        raise cannot_write(
            f"mode=upsert needs the records' key ({', '.join(ctx.key_fields) or 'none declared'})"
            + (f"; missing from the records: {', '.join(missing)}" if missing else ""),
            ["keep the key fields in `select`, or use mode=append"],
        )
    return ctx.key_fields


def check_identifier(name: str, what: str = "identifier") -> str:
    """``name`` if it is a plain identifier, else ValueError (the value is not echoed raw)."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(
            f"{what} {name!r} is not a plain identifier "
            "(letters, digits and _, not starting with a digit, at most 63 characters)"
        )
    return name


# ---- PostgreSQL connection strings --------------------------------------------------------------
#: libpq connection keywords (PostgreSQL 18); libpq rejects any other keyword.
LIBPQ_KEYWORDS = frozenset(
    """host hostaddr port dbname user password passfile require_auth channel_binding
    connect_timeout client_encoding options application_name fallback_application_name
    keepalives keepalives_idle keepalives_interval keepalives_count tcp_user_timeout replication
    gssencmode sslmode sslnegotiation requiressl sslcompression sslcert sslkey sslkeylogfile
    sslpassword sslcertmode sslrootcert sslcrl sslcrldir sslsni requirepeer
    ssl_min_protocol_version ssl_max_protocol_version min_protocol_version max_protocol_version
    krbsrvname gsslib gssdelegation service target_session_attrs load_balance_hosts
    oauth_issuer oauth_client_id oauth_client_secret oauth_scope""".split()
)
_SECRET_KEYS = ("password", "sslpassword", "oauth_client_secret")
_KV_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
_URI_PREFIXES = ("postgresql://", "postgres://")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _parse_kv(text: str) -> dict[str, str]:
    """libpq ``key=value`` pairs; values may be single-quoted with ``\\'`` and ``\\\\`` escapes."""
    out: dict[str, str] = {}
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos == n:
            return out
        m = _KV_TOKEN.match(text, pos)
        if m is None:
            raise ValueError("expected key=value pairs separated by spaces")
        key, pos = m.group(1), m.end()
        value: list[str] = []
        if pos < n and text[pos] == "'":
            pos += 1
            while True:
                if pos >= n:
                    raise ValueError(f"unterminated quoted value for `{key}`")
                ch = text[pos]
                if ch == "\\" and pos + 1 < n:
                    value.append(text[pos + 1])
                    pos += 2
                elif ch == "'":
                    pos += 1
                    break
                else:
                    value.append(ch)
                    pos += 1
        else:
            while pos < n and not text[pos].isspace():
                if text[pos] == "\\" and pos + 1 < n:
                    pos += 1
                value.append(text[pos])
                pos += 1
            if not value:
                raise ValueError(f"missing value for `{key}`")
        out[key] = "".join(value)


def _split_host(item: str) -> tuple[str, str]:
    if item.startswith("["):
        host, sep, rest = item[1:].partition("]")
        if not sep:
            raise ValueError("unterminated [IPv6] host")
        if rest and not rest.startswith(":"):
            raise ValueError("junk after the [IPv6] host")
        return host, rest[1:]
    host, _, port = item.partition(":")
    return host, port


def _parse_uri(text: str) -> dict[str, str]:
    """A ``postgresql://user:password@host:port,host2/dbname?key=value`` URI as libpq keywords."""
    rest = text.split("://", 1)[1]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    out: dict[str, str] = {}
    userinfo, at, hostlist = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if user:
            out["user"] = unquote(user)
        if colon:
            out["password"] = unquote(password)
    hosts, ports = [], []
    for item in hostlist.split(",") if hostlist else []:
        host, port = _split_host(item)
        hosts.append(unquote(host))
        ports.append(port)
    if any(p and not p.isdigit() for p in ports):
        raise ValueError("the port is not a number")
    if any(hosts):
        out["host"] = ",".join(hosts)
    if any(ports):
        out["port"] = ",".join(ports)
    path, _, query = tail.partition("?")
    if path.strip("/"):
        out["dbname"] = unquote(path[1:])
    if query:
        for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=True):
            out[key] = value
    return out


def parse_dsn(dsn: str) -> dict[str, str]:
    """A libpq connection string (URI or ``key=value``) as keywords; ValueError if malformed.

    Error messages never repeat the string (it may hold a password).
    """
    text = dsn.strip()
    if not text:
        raise ValueError("the connection string is empty")
    if _SCHEME.match(text) and not text.startswith(_URI_PREFIXES):
        raise ValueError("not a PostgreSQL connection string: URIs start with postgresql://")
    try:
        params = _parse_uri(text) if text.startswith(_URI_PREFIXES) else _parse_kv(text)
    except ValueError as err:
        raise ValueError(f"not a PostgreSQL connection string: {err}") from None
    unknown = sorted(set(params) - LIBPQ_KEYWORDS)
    if unknown:
        raise ValueError(f"unknown connection option(s): {', '.join(unknown)}")
    for key in ("port", "connect_timeout"):
        if key in params and not all(p.strip().isdigit() for p in params[key].split(",")):
            raise ValueError(f"`{key}` must be a number")
    return params


def describe_dsn(dsn: str) -> str:
    """The target of a DSN for messages: ``postgresql://user:****@host:port/dbname``."""
    try:
        p = parse_dsn(dsn)
    except ValueError:
        return "postgresql://(malformed connection string)"
    user = p.get("user", "")
    if user and any(p.get(k) for k in _SECRET_KEYS):
        user += ":****"
    host = p.get("host") or p.get("hostaddr") or "localhost"
    port = p.get("port", "")
    where = f"{user + '@' if user else ''}{host}{':' + port if port else ''}"
    return f"postgresql://{where}/{p.get('dbname', user or '')}"


class Dsn(SecretStr):
    """A connection string: masked in ``repr``, plan JSON and ``explain``."""

    def _display(self) -> str:
        return "****"


def check_dsn(value: Dsn) -> Dsn:
    parse_dsn(value.get_secret_value())
    return value


# ---- retries -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What a sink writes to, for messages: ``kind`` (postgres, duckdb…) and a password-free name."""

    kind: str
    name: str


def first_line(err: BaseException, hide: tuple[str, ...] = ()) -> str:
    """The first non-blank line of ``err``'s message with every ``hide`` string as ``****``."""
    text = str(err)
    for secret in hide:
        if secret:
            text = text.replace(secret, "****")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(err).__name__


def with_retries(
    action: Callable[[], T],
    target: Target,
    retry_on: tuple[type[BaseException], ...],
    attempts: int | None = None,
    first_delay: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    hide: tuple[str, ...] = (),
) -> T:
    """``action()``, retried with exponential backoff on ``retry_on``; then SinkUnreachableError.

    Attempts and the first delay default to :data:`ATTEMPTS` and :data:`FIRST_DELAY_S`. Strings in
    ``hide`` (passwords) are masked in the logged and raised reasons.
    """
    attempts = ATTEMPTS if attempts is None else attempts
    delay = FIRST_DELAY_S if first_delay is None else first_delay
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except retry_on as err:
            why = first_line(err, hide)
            if attempt == attempts:
                raise SinkUnreachableError(target.kind, target.name, why, attempts) from err
            _LOG.info(
                "%s target %s: attempt %d/%d failed (%s); retrying in %.1fs",
                target.kind,
                target.name,
                attempt,
                attempts,
                why,
                delay,
            )
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


# ---- secrets inside pickled pipelines ------------------------------------------------------------
_SEALED: dict[str, str] = {}
_ENV_PREFIX = "FLOWCTL_SECRET_"


class Sealed:
    """A secret that pickles as a reference, so serialised pipelines never contain it.

    The value stays in this process (and in ``FLOWCTL_SECRET_<token>`` for local worker processes,
    which inherit the environment). Where neither exists (a remote worker) it unpickles as None
    and drivers fall back to their own secret sources (``PGPASSWORD``, ``~/.pgpass``).
    """

    __slots__ = ("token", "_value")

    def __init__(self, value: str | None, token: str | None = None) -> None:
        self.token = token or secrets_token()
        self._value = value
        if value is not None:
            _SEALED[self.token] = value
            os.environ[_ENV_PREFIX + self.token] = value

    def reveal(self) -> str | None:
        return self._value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unseal, (self.token,))

    def __repr__(self) -> str:
        return "Sealed(****)"


def _unseal(token: str) -> Sealed:
    value = _SEALED.get(token, os.environ.get(_ENV_PREFIX + token))
    sealed = Sealed.__new__(Sealed)
    sealed.token, sealed._value = token, value
    return sealed


def secrets_token() -> str:
    return secrets.token_hex(12)
