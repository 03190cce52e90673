"""Every config test starts with no configuration: empty system/user/project places, no FLOWCTL_*."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from config_places import Places

from flowctl_dsl.config import layers


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Places:
    for name in list(os.environ):
        if name.startswith("FLOWCTL_"):
            monkeypatch.delenv(name)
    p = Places(tmp_path / "etc" / "defaults.toml", tmp_path / "xdg" / "flowctl", tmp_path / "proj")
    p.project.mkdir()
    monkeypatch.setattr(layers, "SYSTEM_FILE", p.system)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(p.project)
    return p
