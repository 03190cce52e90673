"""The places each defaults layer is read from in a config test (see ``conftest.places``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Places:
    """Where each defaults layer is read from in this test."""

    system: Path
    user: Path
    project: Path

    def write(self, layer: str, text: str, suffix: str = ".toml") -> Path:
        path = {
            "system": self.system,
            "user": self.user / f"defaults{suffix}",
            "project": self.project / "flowctl.toml",
        }[layer]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
