"""V1 → V2: cdp-pipeline-workflow YAML (``pipelines: {Name: {source, processors, consumers}}``) → IR.

The YAML is loaded with a :class:`yaml.SafeLoader` subclass that records where every key and value
is, so each IR node gets a span into the YAML (checker errors point at YAML lines) and every setting
without an equivalent becomes a :class:`Note` with its line. Nothing is dropped silently: a key is
either carried over, reported, or — when dropping it would change which ledgers are read or where
data goes — an error (``FC51x``). Values equal to catalog defaults are left out, so the printed
``.flow`` is the shortest equivalent; secrets are never copied (passwords become ``PGPASSWORD``,
``${VAR}`` connection strings become ``secret("env:VAR")``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flowctl_dsl import ir
from flowctl_dsl.catalog import Catalog, catalog
from flowctl_dsl.config import v1_types as v1
from flowctl_dsl.errors import Diagnostic, FlowctlError, Source, Span, did_you_mean
from flowctl_dsl.stellar.networks import UnknownNetworkError, by_passphrase, network

V1_DOC = re.compile(r"^(pipelines|pipeline)\s*:", re.M)
MAX_BYTES = 1 << 20
_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_KEYS = ("password", "auth_header", "access_token", "connection_string", "database_url")


def is_v1(text: str) -> bool:
    """Whether ``text`` looks like a V1 YAML document (a top-level ``pipelines:``/``pipeline:``)."""
    return bool(V1_DOC.search(text))


# ---- YAML with positions --------------------------------------------------------------------------
class YMap(dict[str, Any]):
    """A YAML mapping that remembers the position of each value (1-based line, column)."""

    line: int = 0
    column: int = 0
    at: dict[str, tuple[int, int]]


class YList(list[Any]):
    line: int = 0
    column: int = 0
    at: list[tuple[int, int]]


def load_yaml(source: Source) -> Any:
    """The YAML in ``source``, safely (no tags beyond plain data), with positions; FC510 if bad."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: Loader, node: yaml.MappingNode) -> YMap:
        loader.flatten_mapping(node)
        out = YMap()
        out.line, out.column = node.start_mark.line + 1, node.start_mark.column + 1
        out.at = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            if key in out:
                raise FlowctlError.one(
                    "FC510",
                    f"`{key}` is given twice in one mapping",
                    Span.point(key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                    ["YAML keeps only the last one; merge them"],
                )
            out[key] = loader.construct_object(value_node, deep=True)
            out.at[key] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
        return out

    def sequence(loader: Loader, node: yaml.SequenceNode) -> YList:
        out = YList(loader.construct_object(n, deep=True) for n in node.value)
        out.line, out.column = node.start_mark.line + 1, node.start_mark.column + 1
        out.at = [(n.start_mark.line + 1, n.start_mark.column + 1) for n in node.value]
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    if len(source.text.encode()) > MAX_BYTES:
        raise FlowctlError.one("FC510", f"the file is larger than {MAX_BYTES} bytes")
    try:
        return yaml.load(source.text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        span = Span.point(mark.line + 1, mark.column + 1) if mark is not None else None
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise FlowctlError.one("FC510", f"not valid YAML: {problem}", span) from None


# ---- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Note:
    """A V1 setting that was not carried over (``dropped``) or was carried over differently."""

    line: int
    key: str
    text: str
    dropped: bool = True

    def render(self, file: str) -> str:
        return f"{file}:{self.line}: {self.key}: {'' if self.dropped else 'note: '}{self.text}"


@dataclass
class Migrated:
    """One V1 pipeline: the IR with every mapped value (``full``), the IR without values equal to
    catalog defaults (``pipeline``, what is printed), and what was not carried over."""

    name: str
    pipeline: ir.Pipeline
    full: ir.Pipeline
    notes: list[Note] = field(default_factory=list)


# ---- the migration --------------------------------------------------------------------------------
class _Migration:
    """One V1 pipeline → IR; ``keep_env`` leaves ``${VAR}`` in strings (printing a .flow)."""

    def __init__(
        self,
        name: str,
        body: YMap,
        prefix: str,
        cat: Catalog,
        env: Mapping[str, str],
        keep_env: bool,
    ) -> None:
        from flowctl_dsl.lower import Lowering

        self.name, self.body, self.prefix, self.cat = name, body, prefix, cat
        self.lowering = Lowering(cat, env, name, keep_env)
        self.keep_env = keep_env
        self.notes: list[Note] = []
        self.errors: list[Diagnostic] = []
        self.network: str | None = None
        self.passphrases: list[tuple[str, int, str]] = []

    # ---- helpers
    def note(self, line: int, key: str, text: str, dropped: bool = True) -> None:
        self.notes.append(Note(line, key, text, dropped))

    def error(
        self, code: str, where: int | Span, reason: str, hints: list[str] | None = None
    ) -> None:
        span = where if isinstance(where, Span) else Span.point(where, 1)
        self.errors.append(Diagnostic(code, reason, span, tuple(hints or ())))

    def span(self, node: Any, key: str | int | None = None) -> Span:
        at: tuple[int, int] | None = None
        if isinstance(node, YMap) and isinstance(key, str):
            at = node.at.get(key)
        elif isinstance(node, YList) and isinstance(key, int) and key < len(node.at):
            at = node.at[key]
        if at:
            return Span.point(*at)
        return Span.point(getattr(node, "line", 1) or 1, getattr(node, "column", 1) or 1)

    def line(self, node: Any, key: str | int | None = None) -> int:
        return self.span(node, key).line

    def string(self, text: str, span: Span | None = None) -> ir.StrV:
        value = text if self.keep_env else self.lowering.interpolate(text, span)
        return ir.StrV(value=value, span=span)

    def component(self, node: Any, where: str, kind: v1.Kind) -> tuple[str, YMap] | None:
        """``(type, config)`` of a V1 component; errors for a missing or unknown type."""
        if not isinstance(node, YMap) or "type" not in node:
            self.error("FC512", getattr(node, "line", 1), f"{where}: expected {{type, config}}")
            return None
        kind_name = str(node["type"])
        config = node.get("config")
        if config is None:
            config = YMap()
            config.at, config.line, config.column = {}, node.line, node.column
        if not isinstance(config, YMap):
            self.error("FC512", self.line(node, "config"), f"{where}.config must be a mapping")
            return None
        for extra in node:
            if extra not in ("type", "config"):
                self.note(self.line(node, extra), f"{where}.{extra}", "not needed in flowctl")
        if kind_name in v1.known(kind):
            return kind_name, config
        at = self.span(node, "type")
        line = Span.point(at.line, at.column, len(kind_name))
        if kind_name in v1.UNSUPPORTED:
            self.error(
                "FC511",
                line,
                f"V1 {kind} type `{kind_name}` has no flowctl equivalent yet",
                [v1.UNSUPPORTED[kind_name]],
            )
            return None
        pool = v1.all_types()
        folded = {t.lower().replace("_", ""): t for t in pool}
        close = [
            folded[k] for k in [kind_name.lower().replace("_", "").replace("-", "")] if k in folded
        ]
        close = close or did_you_mean(kind_name, pool)
        hint = (
            f"did you mean {' or '.join(f'`{c}`' for c in close)}?"
            if close
            else f"known V1 {kind} types: {', '.join(v1.known(kind))}"
        )
        self.error("FC511", line, f"unsupported V1 {kind} type `{kind_name}`", [hint])
        return None

    def check_keys(self, config: YMap, table: dict[str, str], where: str, type_name: str) -> None:
        for key in config:
            line = self.line(config, key)
            if key not in table:
                self.note(
                    line,
                    f"{where}.config.{key}",
                    f"not a {type_name} setting flowctl knows; not migrated",
                )
            elif table[key]:
                self.note(line, f"{where}.config.{key}", table[key])

    # ---- network
    def passphrase_seen(self, config: YMap, where: str) -> None:
        raw = config.get("network_passphrase")
        if isinstance(raw, str):
            self.passphrases.append((raw, self.line(config, "network_passphrase"), where))

    def settle_network(self) -> None:
        """The source's network, else the processors' passphrase; conflicts are reported."""
        for raw, line, where in self.passphrases:
            net = by_passphrase(raw)
            key = f"{where}.config.network_passphrase"
            if net is None:
                if _ENV.match(raw) or "${" in raw:
                    self.note(line, key, "taken from the source's network in flowctl", False)
                else:
                    self.note(line, key, "not a known network passphrase; not migrated")
            elif self.network is None:
                self.network = net.name
            elif net.name != self.network:
                self.note(
                    line,
                    key,
                    f"differs from the source's network ({self.network}); flowctl uses one "
                    "passphrase per pipeline, the source's",
                )

    # ---- source
    def source(self, node: Any, where: str) -> tuple[ir.Source | None, dict[str, Any]]:
        found = self.component(node, where, "source")
        if found is None:
            return None, {}
        type_name, config = found
        how = v1.SOURCES[type_name]
        self.check_keys(config, v1.SOURCE_KEYS[how], where, type_name)
        declared = config.get("network")
        if declared is not None:
            try:
                self.network = network(str(declared)).name
            except UnknownNetworkError:
                self.error(
                    "FC512",
                    self.line(config, "network"),
                    f"{where}.config.network: unknown network `{declared}`",
                    ["mainnet (pubnet), testnet or futurenet"],
                )
        if how == "rpc":
            method = config.get("rpc_method")
            if method not in (None, "getLedgers"):
                self.error(
                    "FC512",
                    self.line(config, "rpc_method"),
                    f"{where}.config.rpc_method: `{method}` has no flowctl equivalent",
                    ["flowctl reads whole ledgers; use getLedgers, or contract_events for events"],
                )
        facts = {"how": how, "config": config, "type": type_name, "where": where, "node": node}
        return None, facts

    def build_source(self, facts: dict[str, Any]) -> ir.Source | None:
        how, config, where = facts["how"], facts["config"], facts["where"]
        span = self.span(facts["node"], "type")
        ranges = self.range_args(config, where)
        if ranges is None:
            return None
        if how == "core":
            net = self.network
            if net not in ("mainnet", "testnet"):
                self.error(
                    "FC512",
                    span,
                    f"{where}: captive core on {net or 'an unknown network'}: flowctl reads the "
                    "network's public data lake instead, and there is none",
                    ["network: testnet or network: pubnet"],
                )
                return None
            return ir.Source(name=net, args=ranges, span=span, name_span=span)
        if how == "rpc":
            return self.rpc_source(config, where, span, ranges)
        if how == "fs":
            raw = config.get("path")
            if not isinstance(raw, str):
                self.error("FC512", span, f"{where}: the FS source needs config.path")
                return None
            url = raw if "://" in raw else "file://" + raw if raw.startswith("/") else raw
        else:
            raw = config.get("bucket_name")
            if not isinstance(raw, str) or not raw.strip():
                self.error("FC512", span, f"{where}: the source needs config.bucket_name")
                return None
            scheme = "s3" if how == "s3" else "gs"
            url = raw if "://" in raw else f"{scheme}://{raw.strip('/')}"
        url_value = self.string(url, self.span(config, "bucket_name" if how != "fs" else "path"))
        extra = [
            ir.Arg(name=param, value=self.string(str(config[key]), self.span(config, key)))
            for key, param in (("region", "region"), ("endpoint", "endpoint_url"))
            if config.get(key) is not None
        ]
        if self.network in ("mainnet", "testnet"):
            args = [*ranges, ir.Arg(name="url", value=url_value), *extra]
            return ir.Source(name=self.network, args=args, span=span, name_span=span)
        args = [ir.Arg(value=url_value)]
        if self.network is not None:
            args.append(ir.Arg(name="network", value=ir.NameV(value=self.network)))
        args += [*ranges, *extra]
        return ir.Source(name="datastore", args=args, span=span, name_span=span)

    def rpc_source(
        self, config: YMap, where: str, span: Span, ranges: list[ir.Arg]
    ) -> ir.Source | None:
        raw = config.get("rpc_url")
        if not isinstance(raw, str) or not raw.strip():
            self.error("FC512", span, f"{where}: the RPC source needs config.rpc_url")
            return None
        args = [ir.Arg(value=self.string(raw, self.span(config, "rpc_url")))]
        if self.network is not None:
            args.append(ir.Arg(name="network", value=ir.NameV(value=self.network)))
        args += ranges
        size = config.get("batch_size")
        if isinstance(size, int) and not isinstance(size, bool):
            if 1 <= size <= 200:
                args.append(ir.Arg(name="page_size", value=ir.IntV(value=size)))
            else:
                self.note(
                    self.line(config, "batch_size"),
                    f"{where}.config.batch_size",
                    "getLedgers pages hold at most 200 ledgers; page_size stays at its default",
                )
        poll = config.get("poll_interval")
        if isinstance(poll, int) and not isinstance(poll, bool) and poll > 0:
            args.append(ir.Arg(name="poll", value=ir.StrV(value=f"{poll}s")))
        header = config.get("auth_header")
        if isinstance(header, str) and header:
            key, line = f"{where}.config.auth_header", self.line(config, "auth_header")
            if "${" in header:
                value = self.string(header, self.span(config, "auth_header"))
                headers = ir.MapV(items={"Authorization": value})
                args.append(ir.Arg(name="headers", value=headers))
                self.note(
                    line, key, "sent as the Authorization header, from the environment", False
                )
            else:
                self.note(
                    line,
                    key,
                    "a literal credential is not written to the .flow: add "
                    'headers={Authorization: "${RPC_AUTH_HEADER}"} to rpc(…) and export it',
                )
        return ir.Source(name="rpc", args=args, span=span, name_span=span)

    def ledgers(self, config: YMap, where: str) -> ir.RangeV | None | bool:
        """``start_ledger``/``end_ledger`` as a range (None: not given; False: an error)."""
        start, end = config.get("start_ledger"), config.get("end_ledger")
        if start is None and end is None:
            return None
        for key, value in (("start_ledger", start), ("end_ledger", end)):
            if value is not None and not (isinstance(value, int) and not isinstance(value, bool)):
                self.error(
                    "FC512",
                    self.span(config, key),
                    f"{where}.config.{key} must be a whole number here",
                    ["for a range from the environment write ledgers=${LEDGERS} in the .flow"],
                )
                return False
        if start is None:
            self.error(
                "FC512",
                self.span(config, "end_ledger"),
                f"{where}: end_ledger without start_ledger",
            )
            return False
        if end == 0 or config.get("continuous_mode") is True:
            end = None
        return ir.RangeV(start=start, end=end, span=self.span(config, "start_ledger"))

    def range_args(self, config: YMap, where: str) -> list[ir.Arg] | None:
        """``ledgers``/``since``/``until``/``last``/``follow`` from the V1 range keys."""
        from flowctl_dsl.stellar.time_ranges import TimeRangeError, parse_duration

        args: list[ir.Arg] = []
        ledgers = self.ledgers(config, where)
        if ledgers is False:
            return None
        if isinstance(ledgers, ir.RangeV):
            args.append(ir.Arg(name="ledgers", value=ledgers))
        for key, param in (("start_time", "since"), ("end_time", "until")):
            if config.get(key) is not None:
                raw = config[key]
                text = raw.isoformat() if hasattr(raw, "isoformat") else str(raw)
                args.append(ir.Arg(name=param, value=ir.StrV(value=text)))
        ago = config.get("start_time_ago")
        if ago is not None:
            try:
                parse_duration(str(ago))
            except TimeRangeError:
                self.error(
                    "FC512",
                    self.span(config, "start_time_ago"),
                    f"{where}.config.start_time_ago: `{ago}` is not a duration flowctl reads",
                    ["units s, m, h, d, w: e.g. 365d for 1y, 180d for 6mo"],
                )
                return None
            args.append(ir.Arg(name="last", value=ir.StrV(value=str(ago))))
        if config.get("end_time_ago") is not None:
            self.error(
                "FC512",
                self.span(config, "end_time_ago"),
                f"{where}.config.end_time_ago: flowctl ranges cannot end a duration before now",
                ["give end_time (an instant) or end_ledger"],
            )
            return None
        if config.get("continuous_mode") is True:
            args.append(ir.Arg(name="follow", value=ir.BoolV(value=True)))
        return args

    # ---- processors
    def processors(self, items: Any, where: str) -> tuple[list[ir.Stage], str | None]:
        stages: list[ir.Stage] = []
        last: str | None = None
        if items is None:
            return stages, last
        if not isinstance(items, YList):
            self.error("FC512", getattr(items, "line", 1), f"{where} must be a list")
            return stages, last
        for index, node in enumerate(items):
            at = f"{where}[{index}]"
            found = self.component(node, at, "processor")
            if found is None:
                continue
            type_name, config = found
            self.check_keys(config, v1.PROCESSOR_KEYS[type_name], at, type_name)
            self.passphrase_seen(config, at)
            if "name" in node:
                pass  # reported by component() as "not needed"
            target = v1.PROCESSORS[type_name]
            span = self.span(node, "type")
            if target is None and type_name == "BlankProcessor":
                self.note(span.line, f"{at}.type", "a passthrough: no stage needed", False)
                continue
            args: list[ir.Arg] = []
            filters = self.payment_filters(type_name, config, at, args)
            if type_name in ("FilteredContractInvocation", "ContractFilter"):
                filters += self.contract_filters(type_name, config)
            if target is not None:
                merge = target == "payments" and last == "payments"
                if merge:
                    stages = self.merge_args(stages, args)
                else:
                    stages.append(ir.Process(name=target, args=args, span=span, name_span=span))
                last = target
            stages.extend(combine(filters))
        return stages, last

    def merge_args(self, stages: list[ir.Stage], args: list[ir.Arg]) -> list[ir.Stage]:
        """A second V1 payments stage narrows the first: its arguments join the existing ones."""
        for i in range(len(stages) - 1, -1, -1):
            stage = stages[i]
            if isinstance(stage, ir.Process):
                names = {a.name for a in stage.args}
                new = [a for a in args if a.name not in names]
                stages[i] = stage.model_copy(update={"args": [*stage.args, *new]})
                break
        return stages

    def payment_filters(
        self, type_name: str, config: YMap, where: str, args: list[ir.Arg]
    ) -> list[ir.Stage]:
        filters: list[ir.Stage] = []
        if type_name == "CreateAccount":
            filters.append(self.compare("type", "==", ir.StrV(value="create_account"), None))
        if type_name == "FilterPayments":
            include_failed = config.get("include_failed", False)
            if include_failed is not True:
                # V1 FilterPayments skips failed transactions unless include_failed is true.
                args.append(ir.Arg(name="successful_only", value=ir.BoolV(value=True)))
            if config.get("include_muxed") is False:
                self.note(
                    self.line(config, "include_muxed"),
                    f"{where}.config.include_muxed",
                    "no equivalent: muxed accounts are always included (from_muxed/to_muxed)",
                )
        if type_name not in ("FilterPayments", "TransformToAppPayment"):
            return filters
        for key, op in (("min_amount", ">="), ("max_amount", "<=")):
            if key in config:
                number = self.number(config, key, where)
                if number is not None:
                    filters.append(self.compare("amount", op, number, self.span(config, key)))
        if "asset_code" in config:
            code = str(config["asset_code"])
            span = self.span(config, "asset_code")
            if code.lower() in ("native", "xlm"):
                filters.append(self.compare("asset", "==", ir.StrV(value="native"), span))
            else:
                filters.append(self.compare("asset_code", "==", self.string(code, span), span))
        addresses = config.get("addresses")
        if addresses:
            span = self.span(config, "addresses")
            items: list[ir.Expr] = [
                ir.Const(value=self.string(str(a), span), span=span) for a in addresses
            ]
            left = ir.InList(left=ir.FieldRef(path=["from"]), items=items, span=span)
            right = ir.InList(left=ir.FieldRef(path=["to"]), items=items, span=span)
            expr = ir.BoolOp(op="or", left=left, right=right, span=span)
            filters.append(ir.Filter(expr=expr, span=span))
        return filters

    def contract_filters(self, type_name: str, config: YMap) -> list[ir.Stage]:
        out: list[ir.Stage] = []
        pairs = [("contract_id", "contract_id"), ("contract_ids", "contract_id")]
        if type_name == "FilteredContractInvocation":
            pairs.append(("account_ids", "source_account"))
        for key, column in pairs:
            if key not in config:
                continue
            raw = config[key]
            span = self.span(config, key)
            values = raw if isinstance(raw, list) else [raw]
            strings = [self.string(str(v), span) for v in values]
            consts: list[ir.Expr] = [ir.Const(value=v, span=span) for v in strings]
            if len(strings) == 1:
                out.append(self.compare(column, "==", strings[0], span))
            else:
                expr = ir.InList(left=ir.FieldRef(path=[column]), items=consts, span=span)
                out.append(ir.Filter(expr=expr, span=span))
        return out

    def compare(self, column: str, op: str, value: ir.Value, span: Span | None) -> ir.Filter:
        expr = ir.Compare(
            op=op,  # type: ignore[arg-type]
            left=ir.FieldRef(path=[column], span=span),
            right=ir.Const(value=value, span=span),
            span=span,
        )
        return ir.Filter(expr=expr, span=span)

    def number(self, config: YMap, key: str, where: str) -> ir.Value | None:
        raw = config[key]
        try:
            amount = Decimal(str(raw).replace("_", ""))
        except InvalidOperation:
            self.error("FC512", self.line(config, key), f"{where}.config.{key}: not a number")
            return None
        if amount == amount.to_integral_value() and "." not in str(raw):
            return ir.IntV(value=int(amount))
        return ir.DecV(value=amount)

    # ---- consumers
    def consumers(self, items: Any, where: str, records: str | None) -> list[ir.Sink]:
        sinks: list[ir.Sink] = []
        if not isinstance(items, YList) or not items:
            self.error(
                "FC512",
                getattr(items, "line", None) or self.body.line,
                f"{where}: a pipeline needs at least one consumer",
            )
            return sinks
        for index, node in enumerate(items):
            at = f"{where}[{index}]"
            found = self.component(node, at, "consumer")
            if found is None:
                continue
            type_name, config = found
            self.check_keys(config, v1.CONSUMER_KEYS[type_name], at, type_name)
            span = self.span(node, "type")
            target = v1.CONSUMERS[type_name]
            args: list[ir.Arg] | None
            if target == "parquet":
                args = self.parquet(config, at)
            elif target == "postgres":
                args = self.postgres(config, at, records, type_name)
            elif target == "duckdb":
                args = self.duckdb(config, at, records)
            else:
                args = []
                if type_name != "StdoutConsumer":
                    self.note(
                        span.line, f"{at}.type", f"{type_name} becomes the stdout sink", False
                    )
            if args is not None:
                sinks.append(ir.Sink(name=target, args=args, span=span, name_span=span))
        return sinks

    def parquet(self, config: YMap, where: str) -> list[ir.Arg] | None:
        storage = str(config.get("storage_type", "FS")).upper()
        prefix = str(config.get("path_prefix", "")).strip("/")
        line = self.line(config, "storage_type") if "storage_type" in config else config.line
        if storage in ("FS", "LOCAL", "FILE"):
            base = str(config.get("local_path", "out")).rstrip("/")
            path = "/".join(p for p in (base, prefix) if p) + "/"
            for key in ("bucket_name",):
                if key in config:
                    self.note(
                        self.line(config, key),
                        f"{where}.config.{key}",
                        "not used with storage_type FS",
                    )
        else:
            bucket = str(config.get("bucket_name", "")).strip("/")
            path = f"out/{prefix}/" if prefix else "out/"
            scheme = "gs" if storage == "GCS" else "s3"
            self.note(
                line,
                f"{where}.config.storage_type",
                f"{storage}: the parquet sink writes local files only; writes {path} "
                f"(copy it to {scheme}://{'/'.join(p for p in (bucket, prefix) if p)}/ afterwards)",
            )
            if "local_path" in config:
                self.note(
                    self.line(config, "local_path"),
                    f"{where}.config.local_path",
                    f"not used with storage_type {storage}",
                )
        args = [ir.Arg(value=self.string(path, self.span(config, "path_prefix")))]
        # V1 SaveToParquet compresses with snappy unless told otherwise.
        codec = str(config.get("compression", "snappy")).lower()
        codec = {"uncompressed": "none"}.get(codec, codec)
        if codec not in ("zstd", "snappy", "gzip", "brotli", "lz4", "none"):
            self.error(
                "FC512", self.line(config, "compression"), f"{where}: unknown compression `{codec}`"
            )
        else:
            args.append(ir.Arg(name="compression", value=ir.NameV(value=codec)))
        if "partition_by" in config:
            part = str(config["partition_by"])
            mapped = {
                "ledger_day": "day",
                "date": "day",
                "day": "day",
                "ledger_range": "ledger_range",
                "hour": "day",
            }.get(part)
            if part == "hour":
                self.note(
                    self.line(config, "partition_by"),
                    f"{where}.config.partition_by",
                    "hour: no hourly folders; partitioned by day",
                )
            if mapped is None:
                self.note(
                    self.line(config, "partition_by"),
                    f"{where}.config.partition_by",
                    f"`{part}` has no equivalent; not migrated",
                )
            else:
                args.append(ir.Arg(name="partition_by", value=ir.NameV(value=mapped)))
        if isinstance(config.get("ledgers_per_file"), int):
            args.append(
                ir.Arg(name="ledgers_per_file", value=ir.IntV(value=config["ledgers_per_file"]))
            )
        return args

    def table(self, config: YMap, records: str | None, where: str, line: int) -> ir.Arg | None:
        for key in ("table", "table_name"):
            if isinstance(config.get(key), str):
                return ir.Arg(name="table", value=self.string(config[key], self.span(config, key)))
        if records is None:
            self.error("FC512", line, f"{where}: no table name and no processor to name it after")
            return None
        self.note(
            line, f"{where}.type", f"writes table `{records}` (named after the records)", False
        )
        return ir.Arg(name="table", value=ir.StrV(value=records))

    def postgres(
        self, config: YMap, where: str, records: str | None, type_name: str
    ) -> list[ir.Arg] | None:
        line = config.line or self.body.line
        dsn = self.dsn(config, where, line)
        table = self.table(config, records, where, line)
        if dsn is None or table is None:
            return None
        args = [ir.Arg(value=dsn), table]
        if isinstance(config.get("schema"), str):
            args.append(ir.Arg(name="schema", value=self.string(config["schema"])))
        if type_name == "BufferedPostgreSQL" and isinstance(config.get("buffer_size"), int):
            args.append(ir.Arg(name="batch_size", value=ir.IntV(value=config["buffer_size"])))
        return args

    def dsn(self, config: YMap, where: str, line: int) -> ir.Value | None:
        """A connection string without its password: a ``${VAR}`` one becomes ``secret("env:VAR")``."""
        for key in ("connection_string", "database_url"):
            raw = config.get(key)
            if not isinstance(raw, str):
                continue
            at = self.line(config, key)
            env = _ENV.match(raw.strip())
            if env:
                call = ir.CallV(name="secret", args=[ir.Arg(value=ir.StrV(value=f"env:{env[1]}"))])
                self.note(
                    at,
                    f"{where}.config.{key}",
                    f'becomes secret("env:{env[1]}"): never written out',
                    False,
                )
                return call
            return self.string(self.without_password(raw, where, key, at))
        if "host" not in config and "database" not in config and "dbname" not in config:
            self.error("FC512", line, f"{where}: no connection settings (host, database, …)")
            return None
        parts: list[str] = []
        names = (
            ("host", "host"),
            ("port", "port"),
            ("database", "dbname"),
            ("dbname", "dbname"),
            ("username", "user"),
            ("user", "user"),
            ("sslmode", "sslmode"),
            ("connect_timeout", "connect_timeout"),
        )
        for key, keyword in names:
            if key in config and config[key] is not None:
                value = str(config[key])
                quoted = (
                    value
                    if re.fullmatch(r"[^\s'\\]+", value)
                    else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
                )
                parts.append(f"{keyword}={quoted}")
        if "password" in config:
            self.password_note(
                config["password"], self.line(config, "password"), f"{where}.config.password"
            )
        return self.string(" ".join(parts))

    def without_password(self, dsn: str, where: str, key: str, line: int) -> str:
        from urllib.parse import urlsplit, urlunsplit

        if dsn.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(dsn)
            if parts.password is not None:
                self.password_note(parts.password, line, f"{where}.config.{key}")
                host = parts.hostname or ""
                netloc = f"{parts.username}@{host}" if parts.username else host
                if parts.port:
                    netloc += f":{parts.port}"
                return urlunsplit(parts._replace(netloc=netloc))
            return dsn
        pairs = re.sub(r"(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", "", dsn)
        if pairs != dsn:
            self.password_note("", line, f"{where}.config.{key}")
        return " ".join(pairs.split())

    def password_note(self, raw: Any, line: int, key: str) -> None:
        env = _ENV.match(str(raw).strip())
        how = (
            f'export PGPASSWORD="${env[1]}"'
            if env
            else "export PGPASSWORD=… (and rotate it: the V1 file holds it in plain text)"
        )
        self.note(
            line, key, f"not written to the .flow; libpq reads the password from PGPASSWORD: {how}"
        )

    def duckdb(self, config: YMap, where: str, records: str | None) -> list[ir.Arg] | None:
        line = config.line or self.body.line
        path = config.get("db_path")
        if not isinstance(path, str):
            self.error("FC512", line, f"{where}: SaveToDuckDB needs config.db_path")
            return None
        table = self.table(config, records, where, line)
        if table is None:
            return None
        return [ir.Arg(value=self.string(path, self.span(config, "db_path"))), table]

    # ---- the whole pipeline
    def run(self) -> ir.Pipeline | None:
        where = self.prefix
        body = self.body
        for key in body:
            if key not in ("source", "processors", "consumers", "name"):
                self.note(
                    self.line(body, key),
                    f"{where}.{key}",
                    "not a V1 pipeline key flowctl knows; not migrated",
                )
        if "source" not in body:
            self.error("FC512", body.line or 1, f"{where}: no source")
            return None
        _, facts = self.source(body["source"], f"{where}.source")
        stages, records = self.processors(body.get("processors"), f"{where}.processors")
        self.settle_network()
        source = self.build_source(facts) if facts else None
        sinks = self.consumers(body.get("consumers"), f"{where}.consumers", records)
        if self.lowering.errors:
            self.errors.extend(self.lowering.errors)
        if self.errors or source is None:
            return None
        return ir.Pipeline(
            name=self.name,
            source=source,
            stages=stages,
            sinks=sinks,
            span=Span.point(body.line or 1, 1),
        )


def combine(filters: list[ir.Stage]) -> list[ir.Stage]:
    """The filters of one V1 processor as one ``filter a and b …`` stage."""
    if len(filters) < 2:
        return filters
    exprs = [f.expr for f in filters if isinstance(f, ir.Filter)]
    expr = exprs[0]
    for nxt in exprs[1:]:
        expr = ir.BoolOp(op="and", left=expr, right=nxt, span=nxt.span)
    return [ir.Filter(expr=expr, span=filters[0].span)]


def pipeline_name(raw: str, notes: list[Note], line: int, where: str) -> str:
    """A V1 pipeline name as a flow name (letters, digits, ``_``)."""
    if _NAME.fullmatch(raw):
        return raw
    name = re.sub(r"[^A-Za-z0-9_]+", "_", raw).strip("_") or "pipeline"
    if not name[0].isalpha() and name[0] != "_":
        name = "p_" + name
    notes.append(Note(line, where, f"renamed `{name}` (flow names are letters, digits and _)"))
    return name


def pipelines(doc: Any, default_name: str) -> list[tuple[str, YMap, str, int]]:
    """``(name, body, key path, line)`` of every pipeline in a V1 document; FC510 if none."""
    if not isinstance(doc, YMap):
        raise FlowctlError.one("FC510", "a V1 file is a mapping with `pipelines:` or `pipeline:`")
    out: list[tuple[str, YMap, str, int]] = []
    if isinstance(doc.get("pipelines"), YMap):
        group = doc["pipelines"]
        for name, body in group.items():
            if not isinstance(body, YMap):
                raise FlowctlError.one(
                    "FC510", f"pipelines.{name} must be a mapping", Span.point(*group.at[name])
                )
            out.append((str(name), body, f"pipelines.{name}", group.at[name][0]))
    elif isinstance(doc.get("pipeline"), YMap):
        body = doc["pipeline"]
        out.append((str(body.get("name", default_name)), body, "pipeline", doc.at["pipeline"][0]))
    if not out:
        raise FlowctlError.one(
            "FC510",
            "no pipelines: expected `pipelines: {Name: {source, processors, consumers}}`",
            Span.point(1, 1),
        )
    return out


def migrate(
    source: Source,
    cat: Catalog | None = None,
    env: Mapping[str, str] | None = None,
    keep_env: bool = True,
    default_name: str = "pipeline",
    check: bool = True,
) -> list[Migrated]:
    """Every pipeline of a V1 document; FlowctlError (with YAML spans) if any cannot be migrated.

    With ``check`` each migrated pipeline also passes the checker (secrets are not looked up).
    """
    cat = cat or catalog()
    try:
        doc = load_yaml(source)
        results: list[Migrated] = []
        errors: list[Diagnostic] = []
        for raw_name, body, where, line in pipelines(doc, default_name):
            notes: list[Note] = []
            name = pipeline_name(raw_name, notes, line, where)
            job = _Migration(name, body, where, cat, env or {}, keep_env)
            full = job.run()
            errors.extend(job.errors)
            if full is None:
                continue
            notes.extend(job.notes)
            short = drop_defaults(full, cat)
            results.append(Migrated(name, short, full, sorted(notes, key=lambda n: n.line)))
        if errors:
            raise FlowctlError(errors)
        if check:
            from flowctl_dsl.checks import check as run_checks
            from flowctl_dsl.config import secrets

            with secrets.offline():
                for result in results:
                    run_checks(result.pipeline, cat)
        return results
    except FlowctlError as err:
        raise err.with_source(source) from None


def load_v1(
    source: Source, cat: Catalog, env: Mapping[str, str], keep_env: bool = False
) -> ir.Pipeline:
    """The one pipeline of a V1 file as IR (what ``flowctl check old.yaml`` runs)."""
    found = migrate(source, cat, env, keep_env, check=False)
    if len(found) != 1:
        names = ", ".join(m.name for m in found)
        raise FlowctlError.one(
            "FC513",
            f"the V1 file has {len(found)} pipelines ({names}); flowctl runs one per file",
            None,
            ["split it: flowctl migrate FILE -o DIR/ writes one .flow per pipeline"],
        ).with_source(source)
    return found[0].pipeline


# ---- shortest form --------------------------------------------------------------------------------
def drop_defaults(p: ir.Pipeline, cat: Catalog) -> ir.Pipeline:
    """``p`` without arguments equal to the catalog's defaults (built-in layer only)."""

    def short(comp: Any, kind: str) -> Any:
        spec = cat.get(kind, comp.name)  # type: ignore[arg-type]
        if spec is None:
            return comp
        kept = [a for a in comp.args if not _is_default(spec, a)]
        return comp.model_copy(update={"args": kept})

    stages = [short(s, "processor") if isinstance(s, ir.Process) else s for s in p.stages]
    return p.model_copy(
        update={
            "source": short(p.source, "source"),
            "stages": stages,
            "sinks": [short(s, "sink") for s in p.sinks],
        }
    )


def _is_default(spec: Any, arg: ir.Arg) -> bool:
    from flowctl_dsl.checks.bind import python_value
    from flowctl_dsl.config.layers import to_value

    if arg.name is None or arg.name not in spec.params.model_fields:
        return False
    info = spec.params.model_fields[arg.name]
    if arg.name in spec.defaults:
        default = spec.defaults[arg.name]
    elif info.is_required():
        return False
    else:
        default = info.get_default(call_default_factory=True)
    try:
        return bool(python_value(arg.value) == python_value(to_value(default)))
    except AssertionError:
        return False
