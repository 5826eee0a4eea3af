"""Keyboard play in a real window: Godot renders the env under a virtual X display (Xvfb)."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from rlgodot.core.jobs.play import play

pytestmark = pytest.mark.godot


def _godot_windows(display: str) -> list[str]:
    tree = subprocess.run(["xwininfo", "-root", "-tree", "-display", display],
                          capture_output=True, text=True, timeout=10).stdout
    return [line for line in tree.splitlines() if "rlgodot" in line.lower()]


@pytest.mark.parametrize("env", ["motorcycle", "parking3d"])
def test_play_opens_a_window_and_ends_after_seconds(godot_binary, xvfb_display, env):
    from rlgodot.core.envs.launch import prepare_project
    from rlgodot.core.plugin.registry import get_registry

    # Import the project first (the first run after an addon change takes longer than the
    # 3 s this test looks after): what is timed below is play itself.
    prepare_project(get_registry().get(env), godot_binary)
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


def _headless_play(env: str, options: dict, frames: int) -> str:
    """Play mode without a window for ``frames`` frames (no keys pressed); its output.

    ``--fixed-fps`` makes each frame one physics tick, run flat out.
    """
    from rlgodot.core.jobs.play import play_command
    from rlgodot.core.plugin.registry import get_registry
    from rlgodot.core.runtime.launcher.process import GodotProcess

    spec = get_registry().get(env)
    process = GodotProcess.spawn(
        play_command(
            spec, options,
            godot_args=("--headless", "--fixed-fps", "60", "--quit-after", str(frames)),
        )
    )
    try:
        assert process.wait(timeout=60) == 0
    finally:
        process.terminate()
    return process.output_tail(200)


def test_play_is_the_env_outcome_and_time_limit(godot_binary):
    # ball: a target the ball starts on ends the episode at once, and says how it ended
    out = _headless_play("ball", {"target_radius": 50.0}, frames=30)
    assert "rlgodot play: Episode 1: on target after" in out, out
    # the env's time limit: 200 decisions x 4 ticks = 800 ticks, then truncated
    out = _headless_play("ball", {"target_radius": 0.01}, frames=900)
    assert "rlgodot play: Episode 1: time limit (13.3 s)" in out, out
    assert "SCRIPT ERROR" not in out
