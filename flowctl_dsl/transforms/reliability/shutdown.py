"""Graceful shutdown: the first SIGINT/SIGTERM stops reading, the second exits at once.

The first signal sets the process-wide stop event (the one followed sources already watch):
sources stop emitting at the next ledger or object, the ledgers in flight go through the sinks,
the checkpoint is persisted through the last contiguous committed ledger, and no further segment
starts. A second signal writes one line and leaves with ``os._exit`` (128 + signal), skipping
whatever is in flight; the checkpoint then still holds the last committed ledger.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flowctl_dsl.transforms.sources.follow import STOP

_LOG = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Shutdown:
    """Which signal asked the run to stop (None: none did)."""

    signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or 0)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""


_CURRENT: Shutdown | None = None


def requested() -> bool:
    """Whether a stop was asked for (sources check this between ledgers)."""
    return STOP.is_set()


def _handle(signum: int, frame: Any) -> None:
    state = _CURRENT
    if STOP.is_set():
        sys.stderr.write(
            f"flowctl: {signal.Signals(signum).name} again: exiting now, without waiting for "
            "ledgers in flight (the checkpoint keeps the last committed ledger)\n"
        )
        sys.stderr.flush()
        os._exit(128 + signum)
    if state is not None:
        state.signum = signum
    STOP.set()
    _LOG.warning(
        "%s: stopping after the ledgers in flight are written (send it again to exit at once)",
        signal.Signals(signum).name,
    )


@contextmanager
def handling() -> Iterator[Shutdown]:
    """Install the handlers for the duration of a run (main thread only), then restore them."""
    global _CURRENT
    state = Shutdown()
    STOP.clear()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    _CURRENT = state
    for sig in SIGNALS:
        signal.signal(sig, _handle)
    try:
        yield state
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _CURRENT = None
