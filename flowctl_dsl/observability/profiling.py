"""``flowctl run --profile out.prof``: a cProfile CPU profile of the run, saved in pstats format.

Open it with ``python -m pstats out.prof`` or ``snakeviz out.prof``. The direct runner executes
the DoFns in the calling thread, so the profile covers the pipeline's work; with more than one
worker process it covers only the driver.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from pathlib import Path


class Profiler:
    """Profile from :meth:`start` to :meth:`stop`, then write ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._profile = cProfile.Profile()

    def start(self) -> None:
        self._profile.enable()

    def stop(self) -> Path:
        self._profile.disable()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._profile.dump_stats(str(self.path))
        return self.path


def top(path: str | Path, limit: int = 10) -> str:
    """The ``limit`` functions with the most cumulative time in a saved profile."""
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()
