"""Layered defaults: where each component parameter's value comes from when the pipeline omits it.

Lowest to highest: ``built-in`` (the catalog and :mod:`flowctl_dsl.stellar.networks`) < ``system``
(``/etc/flowctl/defaults.toml``) < ``user`` (``$XDG_CONFIG_HOME/flowctl/defaults.toml`` or
``.yaml``, else ``~/.config/flowctl/…``) < ``project`` (``./flowctl.toml``) < ``env`` (``FLOWCTL_*``)
< ``pipeline`` (values written in the pipeline) < ``--set``. A file holds::

    output_root = "out"            # sink paths must stay inside this folder

    [defaults.jsonl]               # any component name or alias
    gzip = true

    [networks.mainnet]             # mainnet, testnet, futurenet, localnet (or an alias)
    lake_url = "file:///data/mainnet-lake"     # also passphrase, rpc_url

Environment variables spell the same keys with ``__``: ``FLOWCTL_DEFAULTS__JSONL__GZIP=true``,
``FLOWCTL_NETWORKS__MAINNET__LAKE_URL=…``, ``FLOWCTL_OUTPUT_ROOT=out``; values are flow values
(``true``, ``5``, ``1..5``, ``"text"`` or bare text). Every value is validated against the
component's parameter model when it is read, and errors name the file (or variable) and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lark.exceptions import LarkError
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from flowctl_dsl import ir, printer
from flowctl_dsl.catalog import Catalog, catalog
from flowctl_dsl.catalog.params import LedgerRange
from flowctl_dsl.catalog.spec import Spec
from flowctl_dsl.config import secrets
from flowctl_dsl.errors import Diagnostic, FlowctlError, Source, Span, suggestion_hints
from flowctl_dsl.stellar.networks import NETWORKS, UnknownNetworkError, network

SYSTEM_FILE = Path("/etc/flowctl/defaults.toml")
PROJECT_FILE = "flowctl.toml"
ENV_PREFIX = "FLOWCTL_"

#: Layer names, lowest precedence first.
LAYERS = ("built-in", "system", "user", "project", "env", "pipeline", "--set")
RANK = {name: i for i, name in enumerate(LAYERS)}

#: Top-level settings that are not component parameters.
SETTINGS = {"output_root": "sink paths must stay inside this folder (unset: no limit)"}
#: Keys of a ``[networks.<name>]`` table, and the network attribute each overrides.
NETWORK_KEYS = {"passphrase": "passphrase", "lake_url": "lake_url", "rpc_url": "rpc_url"}
#: The source that reads a network's ``rpc_url`` when given ``network=`` and no URL.
RPC_SOURCE = "rpc"
#: Network keys that feed a parameter of the network's own source (``mainnet(url=…)``).
NETWORK_SOURCE_PARAMS = {"lake_url": "url"}
SECRET_WORDS = ("password", "secret", "token", "dsn", "auth")

_RANGE = re.compile(r"\s*[0-9][0-9_]*\.\.([0-9][0-9_]*)?\s*")


@dataclass(frozen=True)
class Setting:
    """One value of one key from one layer; ``origin`` says where (a file, a variable, …)."""

    key: str
    value: ir.Value
    layer: str
    origin: str

    @property
    def shown(self) -> str:
        """The value as flow text, masked when the key names a secret and it is not a reference."""
        if isinstance(self.value, ir.NullV):
            return "(unset)"
        if not secrets.is_secret(self.value) and any(w in self.key for w in SECRET_WORDS):
            return "****"
        return printer.value(self.value)


@dataclass
class Layers:
    """Every setting from every configuration layer, lowest precedence first."""

    settings: list[Setting] = field(default_factory=list)
    #: (layer, path) of every file consulted, whether or not it exists.
    files: list[tuple[str, Path]] = field(default_factory=list)

    def chain(self, key: str) -> list[Setting]:
        """Every setting for ``key`` in precedence order; a network source's ``url`` also
        takes ``networks.<name>.lake_url`` (the more specific key wins within one layer)."""
        keys = {key: 1}
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "defaults":
            for net_key, param in NETWORK_SOURCE_PARAMS.items():
                if parts[2] == param and parts[1] in _network_sources():
                    keys[f"networks.{parts[1]}.{net_key}"] = 0
        hits = [s for s in self.settings if s.key in keys]
        return sorted(hits, key=lambda s: (RANK[s.layer], keys[s.key]))

    def winner(self, key: str, configured_only: bool = False) -> Setting | None:
        """The setting in force for ``key``; ``configured_only`` ignores built-in values."""
        hits = [s for s in self.chain(key) if not (configured_only and s.layer == "built-in")]
        return hits[-1] if hits else None

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.settings:
            seen.setdefault(s.key, None)
        return list(seen)

    @property
    def output_root(self) -> Path | None:
        win = self.winner("output_root")
        if win is None or not isinstance(win.value, ir.StrV | ir.NameV):
            return None
        return Path(win.value.value).expanduser()

    def apply(self, pipeline: ir.Pipeline, cat: Catalog | None = None) -> ir.Pipeline:
        """``pipeline`` with configured defaults added for every parameter it does not give.

        Built-in values are not added (the catalog applies them itself), except a network's RPC
        URL: ``rpc(network=testnet)`` without a URL reads the network table's ``rpc_url``.
        """
        cat = cat or catalog()
        stages = [
            self._apply(s, cat, "processor") if isinstance(s, ir.Process) else s
            for s in pipeline.stages
        ]
        return pipeline.model_copy(
            update={
                "source": self._apply(pipeline.source, cat, "source"),
                "stages": stages,
                "sinks": [self._apply(s, cat, "sink") for s in pipeline.sinks],
            }
        )

    def _apply(self, comp: ir.Component, cat: Catalog, kind: str) -> Any:
        spec = cat.get(kind, comp.name)  # type: ignore[arg-type]
        if spec is None:
            return comp
        given = given_params(comp, spec)
        extra: list[ir.Arg] = []
        for param in spec.params.model_fields:
            if param in given:
                continue
            win = self.winner(f"defaults.{spec.name}.{param}", configured_only=True)
            if win is not None:
                extra.append(ir.Arg(name=param, value=win.value))
        net = network_name(given.get("network"))
        if net and "network_passphrase" in spec.params.model_fields:
            win = self.winner(f"networks.{net}.passphrase", configured_only=True)
            if "network_passphrase" not in given and win is not None:
                extra.append(ir.Arg(name="network_passphrase", value=win.value))
        if net and spec.name == RPC_SOURCE and "url" not in given:
            win = self.winner(f"networks.{net}.rpc_url")
            if win is not None and not isinstance(win.value, ir.NullV):
                extra.append(ir.Arg(name="url", value=win.value))
        return comp.model_copy(update={"args": [*comp.args, *extra]}) if extra else comp


def network_name(value: ir.Value | None) -> str | None:
    """The canonical network a ``network=`` value names (None if it names none)."""
    if not isinstance(value, ir.StrV | ir.NameV):
        return None
    try:
        return network(value.value).name
    except UnknownNetworkError:
        return None


def given_params(comp: ir.Component, spec: Spec) -> dict[str, ir.Value]:
    """The parameters ``comp`` gives, by name (positional ones named from the spec)."""
    out: dict[str, ir.Value] = {}
    index = 0
    for arg in comp.args:
        if arg.name is None:
            if index < len(spec.positional):
                out[spec.positional[index]] = arg.value
            index += 1
        else:
            out[arg.name] = arg.value
    return out


@cache
def _network_sources() -> frozenset[str]:
    names = {n.name for n in NETWORKS}
    return frozenset(s.name for s in catalog().of_kind("source") if s.name in names)


# ---- values ---------------------------------------------------------------------------------------
def to_value(raw: Any) -> ir.Value:
    """A TOML/YAML value as an IR value (``secret("…")`` strings become secret references)."""
    match raw:
        case ir.StrV() | ir.IntV() | ir.DecV() | ir.BoolV() | ir.NullV() | ir.RangeV():
            return raw
        case ir.NameV() | ir.ListV() | ir.MapV() | ir.CallV() | ir.EnvV():
            return raw
        case None:
            return ir.NullV()
        case bool():
            return ir.BoolV(value=raw)
        case int():
            return ir.IntV(value=raw)
        case float() | Decimal():
            return ir.DecV(value=Decimal(str(raw)))
        case LedgerRange():
            return ir.RangeV(start=raw.start, end=raw.end)
        case str() if raw.strip().startswith(secrets.CALL + "("):
            return flow_value(raw)
        case str():
            return ir.StrV(value=raw)
        case list() | tuple():
            return ir.ListV(items=[to_value(i) for i in raw])
        case dict():
            return ir.MapV(items={str(k): to_value(v) for k, v in raw.items()})
    return ir.StrV(value=str(raw))


def flow_value(text: str) -> ir.Value:
    """``text`` read as a flow value (``true``, ``5``, ``1..5``, ``secret("env:X")``), else a string."""
    from flowctl_dsl.lower import Lowering
    from flowctl_dsl.parse import parse_value

    try:
        parsed = parse_value(text)
        return Lowering(catalog(), {}, "config", keep_env=True).value(parsed)
    except (LarkError, FlowctlError, AssertionError):
        return ir.StrV(value=text)


def coerce(value: ir.Value, info: FieldInfo) -> ir.Value:
    """Whole numbers for decimal parameters, ``"A..B"`` strings for ledger ranges."""
    text = str(info.annotation)
    if isinstance(value, ir.IntV) and "Decimal" in text:
        return ir.DecV(value=Decimal(value.value))
    if isinstance(value, ir.StrV) and "LedgerRange" in text and _RANGE.fullmatch(value.value):
        start, _, end = value.value.strip().replace("_", "").partition("..")
        return ir.RangeV(start=int(start), end=int(end) if end else None)
    return value


@cache
def _adapter(model: type[BaseModel], param: str) -> TypeAdapter[Any]:
    info = model.model_fields[param]
    annotation: Any = info.annotation
    if info.metadata:
        annotation = typing.Annotated[annotation, *info.metadata]
    return TypeAdapter(annotation)


def check_param(spec: Spec, param: str, value: ir.Value) -> str | None:
    """Why ``value`` cannot be ``spec.param`` (strictly, as in a pipeline), or None if it can."""
    from flowctl_dsl.checks.bind import python_value

    info = spec.params.model_fields[param]
    if secrets.is_secret(value):
        if secrets.secret_type(info.annotation) is None:
            return f"`{spec.name}.{param}` does not take a secret"
        try:
            secrets.reference(value)  # type: ignore[arg-type]
        except secrets.SecretError as err:
            return err.reason
        return None
    data = python_value(value)
    try:
        _adapter(spec.params, param).validate_python(data, strict=True)
        spec.params.model_validate({param: data}, strict=True)  # field validators too
    except ValidationError as err:
        mine = [
            e for e in err.errors() if e["loc"][:1] in ((), (param,)) and e["type"] != "missing"
        ]
        if mine:
            return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in mine)
    return None


# ---- reading the layers ---------------------------------------------------------------------------
class _Reader:
    """Turns one layer's nested mapping into validated settings, collecting every problem."""

    def __init__(self, layer: str, origin: str, text: str, cat: Catalog) -> None:
        self.layer, self.origin, self.text, self.cat = layer, origin, text, cat
        self.errors: list[Diagnostic] = []
        self.out: list[Setting] = []

    def error(self, code: str, path: list[str], reason: str, hints: Iterable[str] = ()) -> None:
        key = ".".join(path)
        where = key if self.layer != "env" else env_name(path)
        self.errors.append(Diagnostic(code, f"{where}: {reason}", self.locate(path), tuple(hints)))

    def locate(self, path: list[str]) -> Span | None:
        """Best effort: the line of the last key of ``path`` (after its table header, if any)."""
        if self.layer == "env" or not self.text:
            return None
        lines = self.text.splitlines()
        start = 0
        if len(path) > 1:
            parent = re.escape(path[-2])
            head = re.compile(rf"^\s*(\[+[^\]]*\b{parent}\b[^\]]*\]+|{parent}\s*:)")
            start = next((i for i, ln in enumerate(lines) if head.search(ln)), 0)
        key = re.compile(rf"^\s*(?:[\w.\"']*\.)?[\"']?{re.escape(path[-1])}[\"']?\s*[=:]")
        head_key = re.compile(rf"^\s*\[+[^\]]*\b{re.escape(path[-1])}\b")
        for i in range(start, len(lines)):
            match = key.search(lines[i]) or (head_key.search(lines[i]) if i >= start else None)
            if match:
                col = len(lines[i]) - len(lines[i].lstrip()) + 1
                return Span.point(i + 1, col, max(1, len(lines[i].strip())))
        return None

    def add(self, key: str, value: ir.Value) -> None:
        self.out.append(Setting(key, value, self.layer, self.origin))

    def read(self, data: Mapping[str, Any]) -> None:
        for top, body in data.items():
            if top in SETTINGS:
                value = to_value(body)
                if not isinstance(value, ir.StrV | ir.NameV | ir.NullV):
                    self.error("FC503", [top], "takes a path string")
                else:
                    self.add(top, value)
            elif top == "defaults":
                self.table(body, [top], self.defaults)
            elif top == "networks":
                self.table(body, [top], self.networks)
            else:
                keys = [*SETTINGS, "defaults", "networks"]
                self.error(
                    "FC502", [top], "unknown setting", suggestion_hints(top, keys, "settings")
                )

    def table(self, body: Any, path: list[str], each: Any) -> None:
        if not isinstance(body, Mapping):
            self.error("FC503", path, "must be a table of tables, e.g. [defaults.jsonl]")
            return
        for name, inner in body.items():
            if not isinstance(inner, Mapping):
                self.error("FC503", [*path, str(name)], "must be a table of key = value")
                continue
            each(str(name), inner)

    def defaults(self, name: str, table: Mapping[str, Any]) -> None:
        specs = self.cat.find(name)
        if not specs:
            names = [n for s in self.cat.specs for n in s.names]
            self.error(
                "FC502",
                ["defaults", name],
                "no component has this name",
                suggestion_hints(name, names, "components"),
            )
            return
        for param, raw in table.items():
            path = ["defaults", name, str(param)]
            spec = next((s for s in specs if param in s.params.model_fields), None)
            if spec is None:
                known = sorted({p for s in specs for p in s.params.model_fields})
                hints = (
                    suggestion_hints(str(param), known, f"parameters of `{specs[0].name}`")
                    if known
                    else [f"`{specs[0].name}` takes no parameters"]
                )
                self.error("FC502", path, f"`{specs[0].name}` has no parameter `{param}`", hints)
                continue
            value = coerce(to_value(raw), spec.params.model_fields[param])
            problem = check_param(spec, str(param), value)
            if problem:
                info = spec.params.model_fields[param]
                hints = [f"{param}: {info.description}"] if info.description else []
                self.error("FC503", path, f"bad value for `{spec.name}.{param}`: {problem}", hints)
                continue
            self.add(f"defaults.{spec.name}.{param}", value)

    def networks(self, name: str, table: Mapping[str, Any]) -> None:
        try:
            net = network(name)
        except UnknownNetworkError:
            names = [n for net in NETWORKS for n in net.names]
            self.error(
                "FC502",
                ["networks", name],
                "unknown network",
                suggestion_hints(name, names, "networks"),
            )
            return
        for key, raw in table.items():
            path = ["networks", name, str(key)]
            if key not in NETWORK_KEYS:
                self.error(
                    "FC502",
                    path,
                    "unknown network setting",
                    suggestion_hints(key, NETWORK_KEYS, "keys"),
                )
                continue
            value = to_value(raw)
            if isinstance(value, ir.NameV):
                value = ir.StrV(value=value.value)
            if not isinstance(value, ir.StrV) or not value.value.strip():
                self.error("FC503", path, "takes a non-empty string")
                continue
            self.add(f"networks.{net.name}.{key}", value)


def built_in(cat: Catalog) -> list[Setting]:
    """The lowest layer: ``output_root`` unset, the network table, every catalog default."""
    out = [Setting("output_root", ir.NullV(), "built-in", "flowctl")]
    for net in NETWORKS:
        for key, attr in NETWORK_KEYS.items():
            raw = getattr(net, attr)
            value = ir.StrV(value=raw) if raw is not None else ir.NullV()
            out.append(
                Setting(f"networks.{net.name}.{key}", value, "built-in", "stellar/networks.py")
            )
    for spec in cat.specs:
        for param, info in spec.params.model_fields.items():
            if param in spec.defaults:
                raw = spec.defaults[param]
            elif info.is_required():
                continue
            else:
                raw = info.get_default(call_default_factory=True)
            origin = f"catalog ({spec.kind} {spec.name})"
            out.append(Setting(f"defaults.{spec.name}.{param}", to_value(raw), "built-in", origin))
    return out


def read_file(path: Path, layer: str, cat: Catalog | None = None) -> list[Setting]:
    """The settings of one TOML (or, for ``.yaml``/``.yml``, YAML) file; FlowctlError if invalid."""
    cat = cat or catalog()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise FlowctlError.one("FC501", f"cannot read {path}: {type(err).__name__}") from None
    source = Source(str(path), text)
    data = _parse(text, path, source)
    if not isinstance(data, Mapping):
        raise FlowctlError.one("FC501", "a defaults file holds a table of settings").with_source(
            source
        )
    reader = _Reader(layer, str(path), text, cat)
    reader.read(data)
    if reader.errors:
        raise FlowctlError(reader.errors, source)
    return reader.out


def _parse(text: str, path: Path, source: Source) -> Any:
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            span = Span.point(mark.line + 1, mark.column + 1) if mark is not None else None
            reason = f"not valid YAML: {getattr(err, 'problem', None) or err}"
            raise FlowctlError.one("FC501", reason, span).with_source(source) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"line (\d+), column (\d+)", str(err))
        span = Span.point(int(found[1]), int(found[2])) if found else None
        reason = f"not valid TOML: {str(err).split(' (at line')[0]}"
        raise FlowctlError.one("FC501", reason, span).with_source(source) from None


def env_name(path: list[str]) -> str:
    """The environment variable for a key path: ``defaults.jsonl.gzip`` → ``FLOWCTL_DEFAULTS__JSONL__GZIP``."""
    if path == ["output_root"]:
        return ENV_PREFIX + "OUTPUT_ROOT"
    return ENV_PREFIX + "__".join(p.upper() for p in path)


def from_env(env: Mapping[str, str], cat: Catalog | None = None) -> list[Setting]:
    """``FLOWCTL_OUTPUT_ROOT``, ``FLOWCTL_DEFAULTS__<COMPONENT>__<PARAM>``, ``FLOWCTL_NETWORKS__<NET>__<KEY>``.

    Other ``FLOWCTL_*`` variables (``FLOWCTL_SECRET_…``, test settings) are not configuration.
    """
    cat = cat or catalog()
    out: list[Setting] = []
    errors: list[Diagnostic] = []
    for name in sorted(env):
        rest = name.removeprefix(ENV_PREFIX)
        if rest == name:
            continue
        if rest == "OUTPUT_ROOT":
            data: dict[str, Any] = {"output_root": ir.StrV(value=env[name])}
        elif rest.startswith(("DEFAULTS__", "NETWORKS__")):
            parts = rest.lower().split("__")
            if len(parts) != 3 or not all(parts):
                errors.append(
                    Diagnostic(
                        "FC502",
                        f"{name}: expected {ENV_PREFIX}{parts[0].upper()}__<NAME>__<KEY>",
                    )
                )
                continue
            data = {parts[0]: {parts[1]: {parts[2]: flow_value(env[name])}}}
        else:
            continue
        reader = _Reader("env", name, "", cat)
        reader.read(data)
        errors.extend(reader.errors)
        out.extend(reader.out)
    if errors:
        raise FlowctlError(errors, Source("environment", ""))
    return out


def user_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base).expanduser() / "flowctl"


def discover(
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    system_file: Path | None = None,
    cat: Catalog | None = None,
) -> Layers:
    """Read every layer from its usual place (system, user, project files, then ``FLOWCTL_*``)."""
    env = os.environ if env is None else env
    cat = cat or catalog()
    layers = Layers(built_in(cat))
    user = user_dir(env)
    user_files = [p for p in (user / "defaults.toml", user / "defaults.yaml") if p.is_file()]
    if len(user_files) > 1:
        raise FlowctlError.one(
            "FC501",
            f"two user defaults files: {user_files[0]} and {user_files[1]}",
            None,
            ["keep one of them"],
        )
    places = [
        ("system", system_file or SYSTEM_FILE),
        ("user", user_files[0] if user_files else user / "defaults.toml"),
        ("project", (cwd or Path.cwd()) / PROJECT_FILE),
    ]
    for layer, path in places:
        layers.files.append((layer, path))
        if path.is_file():
            layers.settings.extend(read_file(path, layer, cat))
    layers.settings.extend(from_env(env, cat))
    return layers
