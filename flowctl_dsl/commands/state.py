"""``flowctl state show|set|reset PIPELINE``: read, move or remove a pipeline's checkpoint.

``PIPELINE`` is a ``.flow`` file (its name, checkpoint store and IR hash come from the plan) or a
pipeline name (the store is ``--store`` or the default ``.flowctl/state``). ``set --ledger N``
marks every ledger up to N committed: the next ``flowctl run`` starts at N + 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.transforms.reliability.errors import CHECKPOINT_STORE, ReliabilityError


def _target(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """(pipeline name, store, plan or None) for the PIPELINE argument."""
    from flowctl_dsl.transforms.reliability.retry import RetryPolicy
    from flowctl_dsl.transforms.reliability.segments import store_for
    from flowctl_dsl.transforms.reliability.store import Guarded, open_store, parse_location

    plan = None
    if args.pipeline.endswith((".flow", ".yaml", ".yml")) or Path(args.pipeline).is_file():
        from flowctl_dsl.driver import Input, planned

        plan = planned(Input.from_file(args.pipeline), args.sets)
        name = plan.pipeline
        store = store_for(plan)
    else:
        name = args.pipeline
        store = None
    if args.store:
        store = Guarded(open_store(parse_location(args.store)), RetryPolicy(max_attempts=3))
    if store is None:
        store = Guarded(open_store(None), RetryPolicy(max_attempts=3))
    return name, store, plan


def cmd_state(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        return _run(args)
    except ReliabilityError as err:
        raise err.to_flowctl() from None


def _run(args: argparse.Namespace) -> int:
    from flowctl_dsl.transforms.reliability.segments import closed_range
    from flowctl_dsl.transforms.reliability.store import Checkpoint, describe, now

    name, store, plan = _target(args)
    current = store.load(name)
    if args.action == "show":
        if current is None:
            print(f"no checkpoint for `{name}` in {store.url}", file=sys.stderr)
            return 1
        if args.format == "json":
            print(json.dumps(describe(current), indent=2))
        else:
            for key, value in describe(current).items():
                print(f"{key:<18} {value}")
            print(f"{'next run starts at':<18} {_next(current)}")
            print(f"{'store':<18} {store.url}")
        return 0
    if args.action == "reset":
        removed = store.delete(name)
        print(
            f"removed the checkpoint of `{name}` from {store.url}"
            if removed
            else f"no checkpoint for `{name}` in {store.url}",
            file=sys.stderr,
        )
        return 0
    if args.ledger is None:
        raise FlowctlError.one(
            CHECKPOINT_STORE, "state set needs --ledger N (every ledger up to N is committed)"
        )
    if plan is not None:
        rng = closed_range(plan)
        first, last = rng if rng is not None else (args.ledger, None)
        if current is not None and current.ir_sha256 == plan.ir_sha256:
            first = current.first_ledger
        checkpoint = Checkpoint(
            pipeline=name,
            ir_sha256=plan.ir_sha256,
            source=plan.source.name,
            first_ledger=first,
            last_ledger=last,
            committed_through=args.ledger,
            complete=last is not None and args.ledger >= last,
            updated_at=now(),
        )
    elif current is not None:
        complete = current.last_ledger is not None and args.ledger >= current.last_ledger
        checkpoint = current.model_copy(
            update={"committed_through": args.ledger, "complete": complete, "updated_at": now()}
        )
    else:
        raise FlowctlError.one(
            CHECKPOINT_STORE,
            f"no checkpoint for `{name}` in {store.url} to move",
            None,
            ["give the pipeline file instead of its name to create one"],
        )
    store.save(checkpoint)
    print(
        f"`{name}`: committed through ledger {args.ledger}; the next run starts at "
        f"{_next(checkpoint)}",
        file=sys.stderr,
    )
    return 0


def _next(checkpoint) -> str:  # type: ignore[no-untyped-def]
    if checkpoint.complete:
        return f"ledger {checkpoint.first_ledger} (the last run completed)"
    return f"ledger {checkpoint.next_ledger}"


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(
        "state", cmd_state, "show, set or reset a pipeline's checkpoint (its ledger cursor)"
    )
    p.add_argument("action", choices=["show", "set", "reset"])
    p.add_argument("pipeline", help="a .flow file, or a pipeline name")
    p.add_argument("--ledger", type=int, help="set: every ledger up to this one is committed")
    p.add_argument("--store", help="a checkpoint directory, postgres://… DSN, s3:// or gs:// URL")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="as for run: NAME=value feeds ${NAME}, source.x= sets a parameter",
    )
