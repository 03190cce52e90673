"""Processors: plain functions ``records(ledger: LedgerView, params) -> Iterator[dict]``.

Each yields one dict per record whose values match the pyarrow schema declared for it in the
catalog (``flowctl_dsl.catalog``). They never import Beam; the compiler wraps them.
"""
