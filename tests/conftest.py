"""Shared fixtures: leak detection for Godot processes started by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def xvfb() -> str:
    """The Xvfb binary, which rendering without a display needs (the runtime starts its own
    display with it). Missing Xvfb skips locally and fails under CI."""
    path = shutil.which("Xvfb")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Xvfb ('make test' installs the xvfb package as root)")
        pytest.skip("no Xvfb (apt-get install xvfb libgl1-mesa-dri) to render on")
    return path


@pytest.fixture
def xvfb_display(xvfb: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private virtual X display (Xvfb) as DISPLAY."""
    display = f":{90 + os.getpid() % 100}"
    server = subprocess.Popen([xvfb, display, "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        socket = f"/tmp/.X11-unix/X{display[1:]}"
        deadline = time.monotonic() + 10.0
        while not os.path.exists(socket):
            assert server.poll() is None, f"Xvfb {display} exited with {server.returncode}"
            assert time.monotonic() < deadline, f"Xvfb {display} did not start"
            time.sleep(0.05)
        monkeypatch.setenv("DISPLAY", display)
        yield display
    finally:
        server.terminate()
        server.wait(5)


def run_godot_script(command: list[str] | tuple[str, ...], project: Path, name: str,
                     source: str) -> str:
    """Write ``source`` (a ``SceneTree`` script) into ``project`` as ``name``, import the
    project, run the script headless and return what Godot printed (asserting no script error).
    """
    (project / name).write_text(source)
    subprocess.run([*command, "--headless", "--path", str(project), "--import"],
                   capture_output=True, text=True, timeout=300)
    ran = subprocess.run([*command, "--headless", "--path", str(project), "--script",
                          f"res://{name}"], capture_output=True, text=True, timeout=120)
    output = ran.stdout + ran.stderr
    assert "SCRIPT ERROR" not in output, output
    return output
