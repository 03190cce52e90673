"""Run progress from the live metrics: a rich bar on a terminal, periodic log lines otherwise.

Both read ``flowctl_ledgers_read_total`` from the run's :class:`MetricStore` on a background
thread and write to stderr only (stdout may carry data).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Literal, TextIO

from flowctl_dsl.observability.metrics import MetricStore

ProgressMode = Literal["auto", "bar", "log", "off"]
_LOG = logging.getLogger("flowctl_dsl.progress")


def resolve_mode(mode: ProgressMode, stream: TextIO | None = None) -> ProgressMode:
    """``auto`` is a bar when stderr is a terminal and log lines otherwise."""
    if mode != "auto":
        return mode
    return "bar" if (stream or sys.stderr).isatty() else "log"


def eta_text(done: float, total: int | None, rate: float) -> str:
    if not total or rate <= 0 or done >= total:
        return "-"
    seconds = int((total - done) / rate)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Ledgers done / total, ledgers per second and ETA while a run goes on."""

    def __init__(
        self,
        store: MetricStore,
        total: int | None,
        mode: ProgressMode = "auto",
        interval: float = 10.0,
        stream: TextIO | None = None,
    ) -> None:
        self.store = store
        self.total = total or None
        self.mode = resolve_mode(mode, stream)
        self.interval = interval
        self.stream = stream
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self.started = time.monotonic()

    def done(self) -> float:
        return self.store.value("flowctl_ledgers_read_total")

    def line(self) -> str:
        """``progress: 120/300 ledgers (40%), 55.0 ledgers/s, eta 3s, 1200 records``."""
        done = self.done()
        rate = done / max(time.monotonic() - self.started, 1e-9)
        of = f"/{self.total}" if self.total else ""
        pct = f" ({100 * done / self.total:.0f}%)" if self.total else ""
        records = self.store.value("flowctl_records_total")
        return (
            f"progress: {done:.0f}{of} ledgers{pct}, {rate:.1f} ledgers/s, "
            f"eta {eta_text(done, self.total, rate)}, {records:.0f} records"
        )

    def start(self) -> None:
        if self.mode == "off":
            return
        if self.mode == "bar":
            self._start_bar()
        self._thread = threading.Thread(target=self._loop, name="flowctl-progress", daemon=True)
        self._thread.start()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        class Rate(ProgressColumn):  # type: ignore[misc]
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text(f"{speed:.1f} ledgers/s" if speed else "- ledgers/s")

        console = Console(file=self.stream or sys.stderr)
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ledgers"),
            Rate(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task("run", total=self.total)
        self._bar.start()

    def _loop(self) -> None:
        wait = 0.2 if self.mode == "bar" else self.interval
        while not self._stop.wait(wait):
            if self.mode == "bar":
                self._bar.update(self._task, completed=self.done())
            else:
                _LOG.info(self.line())

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done())
            self._bar.stop()
