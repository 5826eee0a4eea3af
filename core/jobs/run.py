"""Random-action runs of an installed env: throughput."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.jobs.config import RunConfig, config_from
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin.registry import get_registry
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


def run_random(config: RunConfig | str, **overrides: Any) -> RunResult:
    """Step ``n_envs`` instances with uniformly random actions for ``steps`` env steps in total.

    Called as ``run_random(RunConfig(env="ball", n_envs=8))`` or ``run_random("ball",
    n_envs=8)``; see :class:`RunConfig`.
    """
    config = config_from(RunConfig, config, overrides)
    n_envs, n_procs = config.n_envs, config.n_procs
    spec = get_registry().get(config.env)
    rng = np.random.default_rng(config.seed)
    start = time.perf_counter()
    vec = GodotVecEnv(
        spec, n_envs=n_envs, options=config.options, seed=config.seed,
        settings=LaunchSettings(n_procs=n_procs, pin_cpus=config.pin_cpus, attach=config.attach),
    )
    try:
        vec.reset()
        launch_s = time.perf_counter() - start
        iterations = max(1, -(-config.steps // n_envs))
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
