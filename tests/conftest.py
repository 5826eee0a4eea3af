"""Shared fixtures: leak detection for Godot processes started by the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def rlgodot_godot_pids() -> list[int]:
    """PIDs of live Godot processes started by rlgodot (any parent), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"--rlgodot-scene" in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="session", autouse=True)
def no_godot_left_after_suite() -> None:
    """The whole suite must leave no Godot process behind."""
    before = set(rlgodot_godot_pids())
    yield
    import time

    deadline = time.monotonic() + 5.0
    leaked = set(rlgodot_godot_pids()) - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.1)
        leaked = set(rlgodot_godot_pids()) - before
    assert not leaked, f"Godot processes left running after the suite: {sorted(leaked)}"


@pytest.fixture
def ci() -> bool:
    """True under CI."""
    return bool(os.environ.get("CI"))
