"""Keyboard play in a real window: Godot renders the env under a virtual X display (Xvfb)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from rlgodot.core.jobs.play import play

pytestmark = pytest.mark.godot


@pytest.fixture
def xvfb_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Xvfb ('make test' installs the xvfb package as root)")
        pytest.skip("no Xvfb (apt-get install xvfb) to open a window on")
    display = f":{90 + os.getpid() % 100}"
    server = subprocess.Popen([xvfb, display, "-screen", "0", "640x360x24", "-nolisten", "tcp"],
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


def _godot_windows(display: str) -> list[str]:
    tree = subprocess.run(["xwininfo", "-root", "-tree", "-display", display],
                          capture_output=True, text=True, timeout=10).stdout
    return [line for line in tree.splitlines() if "rlgodot" in line.lower()]


@pytest.mark.parametrize("env", ["motorcycle", "parking3d"])
def test_play_opens_a_window_and_ends_after_seconds(godot_binary, xvfb_display, env):
    seen: list[list[str]] = []

    def look() -> None:  # while play() blocks: is there a Godot window on the display?
        time.sleep(3.0)
        seen.append(_godot_windows(xvfb_display))

    watcher = threading.Thread(target=look)
    watcher.start()
    start = time.monotonic()
    result = play(env, seconds=5.0)
    watcher.join()
    assert result.exit_code == 0
    assert result.script_errors == ()
    assert seen and seen[0], f"no rlgodot window on {xvfb_display} during play"
    assert time.monotonic() - start < 30.0


def test_play_without_a_display_says_what_to_do(monkeypatch: pytest.MonkeyPatch):
    from rlgodot.core.errors import RLGodotError

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RLGodotError, match="xvfb-run"):
        play("motorcycle")
