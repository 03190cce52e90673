"""Property: printing any IR and parsing it back gives the same IR, in both surface forms."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowctl_dsl import ir
from flowctl_dsl.catalog import catalog
from flowctl_dsl.lower import lower
from flowctl_dsl.parse import parse
from flowctl_dsl.printer import print_pipeline

KEYWORDS = {
    "filter",
    "select",
    "derive",
    "limit",
    "source",
    "save_to",
    "and",
    "or",
    "not",
    "in",
    "true",
    "false",
    "null",
}
CAT = catalog()

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
naturals = st.integers(min_value=0, max_value=10**12)
decimals = st.decimals(
    allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6
)


def scalar_values() -> st.SearchStrategy[ir.Value]:
    return st.one_of(
        texts.map(lambda s: ir.StrV(value=s)),
        naturals.map(lambda i: ir.IntV(value=i)),
        decimals.filter(lambda d: d >= 0).map(lambda d: ir.DecV(value=d)),
        st.booleans().map(lambda b: ir.BoolV(value=b)),
        st.just(ir.NullV()),
        st.tuples(naturals, st.none() | naturals).map(lambda t: ir.RangeV(start=t[0], end=t[1])),
        names.map(lambda n: ir.NameV(value=n)),
    )


values = st.recursive(
    scalar_values(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: ir.ListV(items=xs)),
        st.dictionaries(names, inner, max_size=3).map(lambda d: ir.MapV(items=d)),
        st.tuples(names, st.lists(inner, max_size=2)).map(
            lambda t: ir.CallV(name=t[0], args=[ir.Arg(value=v) for v in t[1]])
        ),
    ),
    max_leaves=6,
)

args = st.lists(st.tuples(st.none() | names, values), max_size=3).map(
    lambda items: [
        ir.Arg(name=n, value=v) for n, v in sorted(items, key=lambda t: t[0] is not None)
    ]
)

consts = st.one_of(
    texts.map(lambda s: ir.Const(value=ir.StrV(value=s))),
    st.integers(-(10**9), 10**9).map(lambda i: ir.Const(value=ir.IntV(value=i))),
    decimals.map(lambda d: ir.Const(value=ir.DecV(value=d))),
    st.booleans().map(lambda b: ir.Const(value=ir.BoolV(value=b))),
    st.just(ir.Const(value=ir.NullV())),
)
fields = st.lists(names, min_size=1, max_size=3).map(lambda p: ir.FieldRef(path=p))


def extend(inner: st.SearchStrategy[ir.Expr]) -> st.SearchStrategy[ir.Expr]:
    return st.one_of(
        st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), inner, inner).map(
            lambda t: ir.Compare(op=t[0], left=t[1], right=t[2])
        ),
        st.tuples(inner, st.lists(inner, max_size=3), st.booleans()).map(
            lambda t: ir.InList(left=t[0], items=t[1], negated=t[2])
        ),
        st.tuples(st.sampled_from(["and", "or"]), inner, inner).map(
            lambda t: ir.BoolOp(op=t[0], left=t[1], right=t[2])
        ),
        inner.map(lambda e: ir.Not(operand=e)),
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), inner, inner).map(
            lambda t: ir.Arith(op=t[0], left=t[1], right=t[2])
        ),
        inner.filter(lambda e: not isinstance(e, ir.Const)).map(lambda e: ir.Neg(operand=e)),
    )


exprs = st.recursive(consts | fields, extend, max_leaves=8)

stages = st.one_of(
    st.tuples(st.sampled_from(CAT.names("processor")), args).map(
        lambda t: ir.Process(name=t[0], args=t[1])
    ),
    exprs.map(lambda e: ir.Filter(expr=e)),
    st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), exprs).map(
        lambda t: ir.Filter(expr=ir.Compare(op=t[0], left=ir.FieldRef(path=[]), right=t[1]))
    ),
    st.lists(fields, min_size=1, max_size=3).map(lambda fs: ir.Select(fields=fs)),
    st.lists(st.tuples(names, exprs), min_size=1, max_size=2).map(
        lambda xs: ir.Derive(assignments=[ir.Assignment(name=n, expr=e) for n, e in xs])
    ),
    st.integers(0, 10**6).map(lambda n: ir.Limit(count=n)),
)
sinks = st.tuples(st.sampled_from(CAT.names("sink")), args).map(
    lambda t: ir.Sink(name=t[0], args=t[1])
)

setting_values = st.one_of(
    st.tuples(names, st.lists(values, max_size=2)).map(
        lambda t: ir.CallV(name=t[0], args=[ir.Arg(value=v) for v in t[1]])
    ),
    st.dictionaries(names, values, max_size=3).map(lambda d: ir.MapV(items=d)),
    scalar_values().filter(lambda v: not isinstance(v, ir.NullV)),
)
setting_maps = st.dictionaries(
    st.sampled_from(["on_error", "checkpoint", "retry"]), setting_values, max_size=3
)

pipelines = st.builds(
    ir.Pipeline,
    settings=setting_maps,
    name=names,
    source=st.tuples(st.sampled_from(CAT.names("source")), args).map(
        lambda t: ir.Source(name=t[0], args=t[1])
    ),
    stages=st.lists(stages, max_size=5),
    sinks=st.lists(sinks, min_size=1, max_size=3),
)


def reparse(text: str, name: str) -> ir.Pipeline:
    return lower(parse(text), CAT, {}, default_name=name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines)
def test_pipe_form_round_trips(p: ir.Pipeline) -> None:
    text = print_pipeline(p, "pipe")
    assert reparse(text, p.name).model_dump() == p.model_dump(), text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines)
def test_key_form_round_trips(p: ir.Pipeline) -> None:
    text = print_pipeline(p, "key", default_name="pipeline")
    assert reparse(text, "pipeline").model_dump() == p.model_dump(), text


@settings(max_examples=100, deadline=None)
@given(pipelines, st.sampled_from(["pipe", "key"]))
def test_fmt_is_idempotent(p: ir.Pipeline, form: str) -> None:
    once = print_pipeline(p, form, default_name="pipeline")  # type: ignore[arg-type]
    twice = print_pipeline(reparse(once, "pipeline"), form, default_name="pipeline")  # type: ignore[arg-type]
    assert once == twice


def test_decimal_literals_keep_their_type() -> None:
    p = reparse("a | filter x > 1.50 | stdout", "p")
    (f,) = p.stages
    assert isinstance(f, ir.Filter) and isinstance(f.expr, ir.Compare)
    assert f.expr.right.model_dump() == ir.Const(value=ir.DecV(value=Decimal("1.50"))).model_dump()
