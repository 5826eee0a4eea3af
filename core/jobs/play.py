"""Human play of an installed env: its scene in a Godot window, driven by the keyboard."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import PlayConfig, config_from
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.process import GodotCommand, GodotProcess


def play(config: PlayConfig | str, **overrides: Any) -> int:
    """Open the env in a Godot window driven by the keyboard; return Godot's exit code.

    Called as ``play(PlayConfig(env="ball", seconds=4))`` or ``play("ball", seconds=4)``. With
    ``seconds`` the window is closed after that long and 0 is returned.

    Raises:
        RLGodotError: There is no display to open a window on.
    """
    config = config_from(PlayConfig, config, overrides)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RLGodotError(
            "playing needs a display and none is set (DISPLAY/WAYLAND_DISPLAY). On a headless "
            "machine run it under a virtual display: xvfb-run -a rlgodot play --env ..."
        )
    spec = get_registry().get(config.env)
    godot = find_godot()
    project = prepare_project(spec, godot)
    process = GodotProcess.launch(
        GodotCommand(godot, project, spec.scene_res_path, physics_hz=spec.physics_hz, play=True)
    )
    try:
        return process.wait(timeout=config.seconds)
    except subprocess.TimeoutExpired:
        return 0  # --seconds ran out: a normal end of play
    finally:
        process.terminate()
