"""Random-action runs (throughput) and human play of an installed env."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.process import GodotProcess
from rlgodot.core.runtime.settings import LaunchSettings


@dataclass
class RunResult:
    """Figures of a random-action run.

    Attributes:
        env_id: The env run.
        n_envs: Instances.
        n_procs: Godot processes.
        steps: Env steps taken, summed over instances (agent decisions).
        seconds: Wall time of the stepping loop (launch excluded).
        steps_per_s: ``steps / seconds``.
        launch_s: Seconds from launching Godot to the first observation.
        episodes: Episodes that ended during the run.
    """

    env_id: str
    n_envs: int
    n_procs: int
    steps: int
    seconds: float
    steps_per_s: float
    launch_s: float
    episodes: int

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``rlgodot run --json``."""
        return dict(self.__dict__)


def run_random(
    env: str,
    steps: int = 10_000,
    n_envs: int = 1,
    n_procs: int = 1,
    seed: int | None = 0,
    options: dict[str, Any] | None = None,
    pin_cpus: bool = False,
) -> RunResult:
    """Step ``n_envs`` instances with uniformly random actions for ``steps`` env steps in total."""
    spec = get_registry().get(env)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    vec = GodotVecEnv(
        spec, n_envs=n_envs, options=options, seed=seed,
        settings=LaunchSettings(n_procs=n_procs, pin_cpus=pin_cpus),
    )
    try:
        vec.reset()
        launch_s = time.perf_counter() - start
        iterations = max(1, -(-steps // n_envs))
        episodes = 0
        loop_start = time.perf_counter()
        for _ in range(iterations):
            vec.step_async(random_actions(spec.action_space, n_envs, rng))
            _, _, dones, _ = vec.step_wait()
            episodes += int(dones.sum())
        seconds = time.perf_counter() - loop_start
    finally:
        vec.close()
    done_steps = iterations * n_envs
    return RunResult(
        spec.id, n_envs, n_procs, done_steps, seconds, done_steps / seconds, launch_s, episodes
    )


def play(env: str, seconds: float | None = None) -> int:
    """Open the env in a Godot window driven by the keyboard; return Godot's exit code.

    With ``seconds`` the window is closed after that long and 0 is returned.

    Raises:
        RLGodotError: There is no display to open a window on.
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RLGodotError(
            "playing needs a display and none is set (DISPLAY/WAYLAND_DISPLAY). On a headless "
            "machine run it under a virtual display: xvfb-run -a rlgodot play --env ..."
        )
    spec = get_registry().get(env)
    godot = find_godot()
    project = prepare_project(spec, godot)
    process = GodotProcess.launch(
        godot, project, spec.scene_res_path, physics_hz=spec.physics_hz, play=True
    )
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return 0  # --seconds ran out: a normal end of play
    finally:
        process.terminate()
