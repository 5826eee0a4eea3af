"""``rlgodot bench``: throughput through the full Python path against the engine's own limit.

Both figures come from the same Godot processes in the same run: first the Python path (SB3
``VecEnv.step`` with random actions: checks, encoding, TCP, Godot, decoding), then the same
number of steps driven by Godot alone (the ``bench`` request: same controller code, no I/O).
Their ratio says how much of the engine's speed the plumbing keeps.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlgodot.core.policies import random_actions
from rlgodot.core.registry import get_registry
from rlgodot.core.runtime import LaunchSettings
from rlgodot.core.vec_env import GodotVecEnv

ACTION_VARIANTS = 8


@dataclass
class BenchResult:
    """Figures of one bench run (decisions = agent steps, summed over instances).

    Attributes:
        env_id: The env.
        n_envs: Instances in total.
        procs: Godot processes.
        action_repeat: Physics ticks per decision.
        pinned: Whether each Godot process was pinned to a core.
        steps: Batch steps taken in each phase.
        decisions_per_s: Through the Python path.
        ticks_per_s: Physics ticks per second through the Python path (instance-ticks).
        engine_decisions_per_s: Godot alone, same scene, instances and action repeat.
        ratio: ``decisions_per_s / engine_decisions_per_s``.
    """

    env_id: str
    n_envs: int
    procs: int
    action_repeat: int
    pinned: bool
    steps: int
    decisions_per_s: float
    ticks_per_s: float
    engine_decisions_per_s: float
    ratio: float

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``rlgodot bench --json``."""
        return dataclasses.asdict(self)


def bench(
    env: str,
    n_envs: int = 64,
    procs: int = 1,
    action_repeat: int | None = None,
    seconds: float = 5.0,
    pin_cpus: bool = False,
) -> BenchResult:
    """Measure random-action throughput for about ``seconds``, then the engine's limit."""
    spec = get_registry().get(env)
    if action_repeat is not None:
        spec = dataclasses.replace(spec, action_repeat=action_repeat)
    rng = np.random.default_rng(0)
    actions = [random_actions(spec.action_space, n_envs, rng) for _ in range(ACTION_VARIANTS)]
    vec = GodotVecEnv(
        spec, n_envs=n_envs, seed=0, settings=LaunchSettings(n_procs=procs, pin_cpus=pin_cpus)
    )
    try:
        vec.reset()
        for k in range(20):  # warm-up: caches, first contacts, lazy allocations
            vec.step(actions[k % ACTION_VARIANTS])
        steps = 0
        start = time.perf_counter()
        while True:
            vec.step_async(actions[steps % ACTION_VARIANTS])
            vec.step_wait()
            steps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        python_rate = steps * n_envs / elapsed
        results = vec._batch.session.bench(steps, timeout=max(60.0, 10 * elapsed))
    finally:
        vec.close()
    engine_rate = sum(r["n_envs"] * r["steps"] / r["seconds"] for r in results)
    return BenchResult(
        env_id=spec.id,
        n_envs=n_envs,
        procs=procs,
        action_repeat=spec.action_repeat,
        pinned=pin_cpus,
        steps=steps,
        decisions_per_s=python_rate,
        ticks_per_s=python_rate * spec.action_repeat,
        engine_decisions_per_s=engine_rate,
        ratio=python_rate / engine_rate,
    )
