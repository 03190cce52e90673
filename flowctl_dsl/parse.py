"""Text → Lark parse tree → surface AST, with a span on every node and coded syntax errors."""

from __future__ import annotations

import ast as pyast
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.tree import Meta

from flowctl_dsl import ast
from flowctl_dsl.errors import FlowctlError, Span

GRAMMAR = Path(__file__).parent / "grammar" / "flow.lark"

#: How expected terminals are named in messages.
TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "INT": "a whole number",
    "DECIMAL": "a number",
    "RANGE": "a ledger range like 100..200",
    "ENV": "${VAR}",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "VBAR": "`|`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "EQUAL": "`=`",
    "MINUS": "`-`",
    "DOT": "`.`",
    "TRUE": "true",
    "FALSE": "false",
    "_NL": "a new line",
    "$END": "the end of the pipeline",
}


@cache
def parser() -> Lark:
    """The LALR parser for the flowctl grammar (built once per process)."""
    return Lark(
        GRAMMAR.read_text(),
        parser="lalr",
        start=["start", "value_text"],
        propagate_positions=True,
        maybe_placeholders=False,
    )


def span_of(item: Meta | Token) -> Span:
    return Span(
        line=item.line or 1,
        column=item.column or 1,
        end_line=item.end_line or item.line or 1,
        end_column=item.end_column or (item.column or 1) + 1,
    )


def unquote(text: str) -> str:
    """The value of a STRING token: quotes removed, backslash escapes applied."""
    return str(pyast.literal_eval(text))


def number(text: str) -> int | Decimal:
    text = text.replace("_", "")
    return Decimal(text) if "." in text else int(text)


@v_args(meta=True)
class ToAst(Transformer[Token, Any]):
    """Builds :mod:`flowctl_dsl.ast` nodes from the parse tree."""

    # ---- documents
    def start(self, meta: Meta, children: list[Any]) -> ast.Document:
        return children[0]

    def value_text(self, meta: Meta, children: list[Any]) -> ast.Value:
        return children[0]

    def pipe_doc(self, meta: Meta, children: list[Any]) -> ast.PipeDoc:
        settings: tuple[ast.Setting, ...] = ()
        if children and isinstance(children[-1], tuple):
            settings = children.pop()
        return ast.PipeDoc(span_of(meta), children[0], tuple(children[1:]), settings)

    def with_clause(self, meta: Meta, children: list[Any]) -> tuple[ast.Setting, ...]:
        return tuple(children)

    def setting(self, meta: Meta, children: list[Any]) -> ast.Setting:
        return ast.Setting(span_of(meta), str(children[0]), span_of(children[0]), children[1])

    def source_stage(self, meta: Meta, children: list[Any]) -> ast.SourceRef:
        return children[0]

    def key_doc(self, meta: Meta, children: list[Any]) -> ast.KeyDoc:
        return ast.KeyDoc(span_of(meta), tuple(children))

    def inline_entry(self, meta: Meta, children: list[Any]) -> ast.Entry:
        key, key_span = children[0]
        return ast.Entry(span_of(meta), key, key_span, children[1], block=False)

    def block_entry(self, meta: Meta, children: list[Any]) -> ast.Entry:
        key, key_span = children[0]
        return ast.Entry(span_of(meta), key, key_span, tuple(children[1:]), block=True)

    def block_item(self, meta: Meta, children: list[Any]) -> Any:
        return children[0]

    def key(self, meta: Meta, children: list[Token]) -> tuple[str, Span]:
        return str(children[0]), span_of(children[0])

    def source_key(self, meta: Meta, children: list[Any]) -> tuple[str, Span]:
        return "source", span_of(meta)

    def save_key(self, meta: Meta, children: list[Any]) -> tuple[str, Span]:
        return "save_to", span_of(meta)

    def flow_list(self, meta: Meta, children: list[Any]) -> ast.ListV:
        return ast.ListV(span_of(meta), tuple(c for c in children if c is not None))

    # ---- stages
    def use_stage(self, meta: Meta, children: list[Any]) -> ast.UseStage:
        return ast.UseStage(span_of(meta), children[0])

    def filter_stage(self, meta: Meta, children: list[Any]) -> ast.FilterStage:
        return ast.FilterStage(span_of(meta), children[0])

    def filter_primary(self, meta: Meta, children: list[Any]) -> ast.FilterPrimary:
        return ast.FilterPrimary(span_of(meta), str(children[0]), children[1])

    def select_stage(self, meta: Meta, children: list[Any]) -> ast.SelectStage:
        return ast.SelectStage(span_of(meta), tuple(children))

    def derive_stage(self, meta: Meta, children: list[Any]) -> ast.DeriveStage:
        return ast.DeriveStage(span_of(meta), tuple(children))

    def assignment(self, meta: Meta, children: list[Any]) -> ast.Assignment:
        return ast.Assignment(span_of(meta), str(children[0]), children[1])

    def limit_stage(self, meta: Meta, children: list[Token]) -> ast.LimitStage:
        return ast.LimitStage(span_of(meta), int(str(children[0]).replace("_", "")))

    def save_stage(self, meta: Meta, children: list[Any]) -> ast.SaveStage:
        target = children[0]
        calls = target if isinstance(target, tuple) else (target,)
        return ast.SaveStage(span_of(meta), calls)

    def sink_group(self, meta: Meta, children: list[Any]) -> tuple[ast.Call, ...]:
        return tuple(children)

    # ---- calls and values
    def call(self, meta: Meta, children: list[Any]) -> ast.Call:
        name = children[0]
        args: tuple[ast.Arg, ...] = children[1] if len(children) > 1 else ()
        parens = meta.end_column != name.end_column or meta.end_line != name.end_line
        return ast.Call(span_of(meta), str(name), span_of(name), args, parens)

    def args(self, meta: Meta, children: list[Any]) -> tuple[ast.Arg, ...]:
        return tuple(children)

    def named_arg(self, meta: Meta, children: list[Any]) -> ast.Arg:
        return ast.Arg(span_of(meta), str(children[0]), span_of(children[0]), children[1])

    def positional_arg(self, meta: Meta, children: list[Any]) -> ast.Arg:
        return ast.Arg(span_of(meta), None, None, children[0])

    def list_value(self, meta: Meta, children: list[Any]) -> ast.ListV:
        return ast.ListV(span_of(meta), tuple(children))

    def mapping(self, meta: Meta, children: list[Any]) -> ast.Mapping:
        return ast.Mapping(span_of(meta), tuple(children))

    def pair(self, meta: Meta, children: list[Any]) -> ast.Pair:
        return ast.Pair(span_of(meta), str(children[0]), children[1])

    def string(self, meta: Meta, children: list[Token]) -> ast.Str:
        return ast.Str(span_of(meta), unquote(str(children[0])))

    def number(self, meta: Meta, children: list[Token]) -> ast.Num:
        return ast.Num(span_of(meta), number(str(children[0])))

    def range(self, meta: Meta, children: list[Token]) -> ast.Range:
        start, _, end = str(children[0]).partition("..")
        stop = int(end.replace("_", "")) if end else None
        return ast.Range(span_of(meta), int(start.replace("_", "")), stop)

    def boolean(self, meta: Meta, children: list[Token]) -> ast.Bool:
        return ast.Bool(span_of(meta), str(children[0]) == "true")

    def null(self, meta: Meta, children: list[Any]) -> ast.Null:
        return ast.Null(span_of(meta))

    def env_ref(self, meta: Meta, children: list[Token]) -> ast.Env:
        body = str(children[0])[2:-1]
        name, sep, default = body.partition(":-")
        return ast.Env(span_of(meta), name, default if sep else None)

    # ---- expressions
    def field_path(self, meta: Meta, children: list[Token]) -> ast.Field:
        return ast.Field(span_of(meta), tuple(str(c) for c in children))

    def or_(self, meta: Meta, children: list[Any]) -> ast.BoolOp:
        return ast.BoolOp(span_of(meta), "or", children[0], children[1])

    def and_(self, meta: Meta, children: list[Any]) -> ast.BoolOp:
        return ast.BoolOp(span_of(meta), "and", children[0], children[1])

    def not_(self, meta: Meta, children: list[Any]) -> ast.Not:
        return ast.Not(span_of(meta), children[0])

    def compare(self, meta: Meta, children: list[Any]) -> ast.Compare:
        return ast.Compare(span_of(meta), str(children[1]), children[0], children[2])

    def in_(self, meta: Meta, children: list[Any]) -> ast.InList:
        return ast.InList(span_of(meta), children[0], children[1], negated=False)

    def not_in(self, meta: Meta, children: list[Any]) -> ast.InList:
        return ast.InList(span_of(meta), children[0], children[1], negated=True)

    def list_expr(self, meta: Meta, children: list[Any]) -> tuple[ast.Expr, ...]:
        return tuple(children)

    def arith(self, meta: Meta, children: list[Any]) -> ast.Arith:
        return ast.Arith(span_of(meta), str(children[1]), children[0], children[2])

    def neg(self, meta: Meta, children: list[Any]) -> ast.Neg:
        return ast.Neg(span_of(meta), children[0])


def describe_expected(expected: set[str]) -> str:
    names = sorted({TERMINAL_NAMES.get(t, f"`{t.lower()}`") for t in expected if t != "COMMENT"})
    if len(names) > 8:
        names = names[:8] + ["…"]
    return ", ".join(names)


def syntax_error(err: UnexpectedInput, text: str) -> FlowctlError:
    """Turn a Lark error into a coded diagnostic with a span and hints."""
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        span = Span.point(err.line, err.column)
        if char in "\"'":
            return FlowctlError.one(
                "FC003", "unterminated string", span, ["close the string on the same line"]
            )
        hints = []
        if char == "$":
            hints.append("environment variables are written ${NAME} or ${NAME:-default}")
        elif char == "=":
            hints.append("compare with `==`; `=` only names a parameter: name(key=value)")
        elif char == "&":
            hints.append("combine conditions with `and` / `or`")
        else:
            hints.append(f"expected {describe_expected(set(err.allowed or ()))}")
        return FlowctlError.one("FC002", f"unexpected character `{char}`", span, hints)
    at_end = isinstance(err, UnexpectedToken) and (
        err.token.type == "$END"
        or (err.token.type == "_NL" and not text[(err.token.start_pos or 0) :].strip())
    )
    if isinstance(err, UnexpectedToken) and not at_end:
        tok = err.token
        newline = tok.type == "_NL"
        reason = "the line ends too early" if newline else f"unexpected `{tok}`"
        span = Span.point(tok.line or 1, tok.column or 1) if newline else span_of(tok)
        hints = [f"expected {describe_expected(set(err.expected))}"]
        before = text[: tok.start_pos or 0].split()
        if before and before[-1] == "filter":
            hints.insert(0, "`filter` needs a condition, e.g. `filter amount > 100`")
        if tok.type == "COMMA" and "_NL" in err.expected:
            hints.insert(
                0, "list several stages in brackets, `process: [a, b]`, or one per `- ` line"
            )
        if tok.type == "EQUAL" and "COMP_OP" in err.expected:
            hints.insert(0, "compare with `==`; `=` only names a parameter: name(key=value)")
        if tok.type == "VBAR" and not text[: tok.start_pos or 0].strip():
            hints.insert(
                0, "a pipeline starts with a source, e.g. `mainnet | latest_ledger | stdout`"
            )
        return FlowctlError.one("FC001", reason, span, hints)
    expected = set(getattr(err, "expected", ()) or ())
    lines = text.rstrip("\n").splitlines() or [""]
    span = Span.point(len(lines), len(lines[-1]) + 1)
    return FlowctlError.one(
        "FC004",
        "the pipeline ends too early",
        span,
        [f"expected {describe_expected(expected)}"] if expected else [],
    )


def parse(text: str) -> ast.Document:
    """Parse a whole ``.flow`` document (either surface form) into the surface AST."""
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise FlowctlError.one(
            "FC005",
            "the pipeline is empty",
            Span.point(1, 1),
            ["write a source, stages and a sink, e.g. `mainnet | latest_ledger | stdout`"],
        )
    body = text if text.endswith("\n") else text + "\n"
    try:
        tree = parser().parse(body, start="start")
    except (UnexpectedCharacters, UnexpectedToken, UnexpectedEOF) as err:
        raise syntax_error(err, body) from None
    return ToAst().transform(tree)  # type: ignore[no-any-return]


def parse_value(text: str) -> ast.Value:
    """Parse one value (an interpolated ``${VAR}``): a number, range, string, name, list…"""
    tree = parser().parse(text, start="value_text")
    return ToAst().transform(tree)  # type: ignore[no-any-return]
