"""Writing a whole file safely: to a temporary name beside it, then an atomic rename."""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse


def local_path(url: str) -> Path:
    """A local path from a plain path or a ``file://`` URL."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(parsed.netloc + parsed.path) if parsed.netloc else Path(parsed.path)
    if parsed.scheme and len(parsed.scheme) > 1:
        raise ValueError(f"{url}: only local paths and file:// URLs are supported here")
    return Path(url)


def write_lines_atomically(path: Path, lines: Iterable[str], compress: bool = False) -> int:
    """Write ``lines`` to ``path`` via a temp file + ``os.replace``; returns the line count.

    A crash leaves the previous file (or nothing) under the final name, never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "wb") as raw:
            out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compress else raw
            for line in lines:
                out.write(line.encode("utf-8") + b"\n")
                count += 1
            if compress:
                out.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
