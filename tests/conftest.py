"""Shared fixtures: leak detection for Godot processes started by the tests."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

# Every process started by this test session (Godot included, through subprocesses too) inherits
# this tag, so the leak check finds exactly ours, even orphans re-parented to init.
TAG_NAME = "RLGODOT_TEST_SESSION"
os.environ.setdefault(TAG_NAME, uuid.uuid4().hex)
TAG = f"{TAG_NAME}={os.environ[TAG_NAME]}".encode()


def rlgodot_godot_pids() -> list[int]:
    """PIDs of live Godot processes started by this test session, from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"--rlgodot-scene" not in cmdline:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if state != "Z" and TAG in environ.split(b"\0"):
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
