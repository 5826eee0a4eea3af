"""``rlgodot bench``: throughput through the full Python path against the engine's own limit.

Both figures come from the same Godot processes in the same run: first the Python path (SB3
``VecEnv.step`` with random actions: checks, encoding, TCP, Godot, decoding), then the same
number of steps driven by Godot alone (the ``bench`` request: the same batch code, no I/O).
Their ratio says how much of the engine's speed the plumbing keeps.

An env with camera sensors captures every step in both phases (one observation per decision:
decisions/s are captured images/s), and its engine phase runs once more without captures, which
shows what the captures cost against the simulation alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from rlgodot.core.envs.batch import Observations
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import InvalidOption
from rlgodot.core.jobs.config import BenchConfig, TrainConfig, config_from
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.protocol.messages import MAX_BENCH_STEPS
from rlgodot.core.runtime.settings import LaunchSettings

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
        engine_decisions_per_s: Godot alone, same scene, instances and action repeat (cameras
            captured, if the scene has any).
        ratio: ``decisions_per_s / engine_decisions_per_s``.
        godot_rss_mib: Resident memory of each Godot process after the Python phase.
        rss_per_instance_kib: Their total resident memory divided by ``n_envs``.
        image_shape: ``(H, W, C)`` of the camera observation, ``[]`` without cameras.
        engine_no_capture_decisions_per_s: With cameras, Godot alone without capturing them (the
            simulation's own limit); None without cameras.
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
    godot_rss_mib: list[float]
    rss_per_instance_kib: float
    image_shape: list[int] = dataclasses.field(default_factory=list)
    engine_no_capture_decisions_per_s: float | None = None

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``rlgodot bench --json``."""
        return dataclasses.asdict(self)


def bench(config: BenchConfig | str, **overrides: Any) -> BenchResult:
    """Measure random-action throughput for about ``seconds``, then the engine's limit.

    Called as ``bench(BenchConfig(env="null", n_envs=8))`` or ``bench("null", n_envs=8)``; see
    :class:`BenchConfig` (``sweep`` and ``sb3_timesteps`` are read by :func:`bench_sweep` and
    :func:`bench_sb3`, not here).
    """
    config = config_from(BenchConfig, config, overrides)
    n_envs, procs, seconds, pin_cpus = config.n_envs, config.procs, config.seconds, config.pin_cpus
    spec = get_registry().get(config.env)
    if config.action_repeat is not None:
        spec = dataclasses.replace(spec, action_repeat=config.action_repeat)
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
        rss = [_rss_kib(p.pid) / 1024 for p in vec.session.processes]
        steps = min(steps, MAX_BENCH_STEPS)
        timeout = max(60.0, 10 * elapsed)
        engine_rate = _engine_rate(vec.session.bench(steps, timeout=timeout))
        no_capture_rate = None
        if spec.image_space is not None:
            no_capture_rate = _engine_rate(
                vec.session.bench(steps, capture=False, timeout=timeout)
            )
    finally:
        vec.close()
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
        godot_rss_mib=[round(r, 1) for r in rss],
        rss_per_instance_kib=sum(rss) * 1024 / n_envs,
        image_shape=list(spec.image_shape),
        engine_no_capture_decisions_per_s=no_capture_rate,
    )


def _engine_rate(results: list[dict[str, Any]]) -> float:
    """Decisions per second of ``bench_result`` messages, summed over the processes."""
    return sum(r["n_envs"] * r["steps"] / r["seconds"] for r in results)


SWEEP = [(n, m) for m in (1, 2) for n in (1, 16, 64, 256) if n >= m]
"""The ``(n_envs, procs)`` grid of ``rlgodot bench --sweep``."""


def bench_sweep(config: BenchConfig | str, **overrides: Any) -> Iterator[BenchResult]:
    """:func:`bench` over :data:`SWEEP` with ``config.sweep``, else once; results as they come."""
    config = config_from(BenchConfig, config, overrides)
    grid = SWEEP if config.sweep else [(config.n_envs, config.procs)]
    for n_envs, procs in grid:
        yield bench(dataclasses.replace(config, n_envs=n_envs, procs=procs))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class SB3BenchResult:
    """SB3 PPO end to end on the Godot env vs on a zero-cost env with identical spaces.

    Attributes:
        env_id: The env.
        n_envs: Instances.
        procs: Godot processes.
        timesteps: Env steps trained in each run.
        godot_fps: SB3's ``time/fps`` on the Godot env.
        ceiling_fps: The same PPO on a free in-process env: SB3's own ceiling.
        ratio: ``godot_fps / ceiling_fps``.
    """

    env_id: str
    n_envs: int
    procs: int
    timesteps: int
    godot_fps: float
    ceiling_fps: float
    ratio: float

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``rlgodot bench --sb3 --json``."""
        return dataclasses.asdict(self)


class FreeVecEnv(VecEnv):
    """A zero-cost VecEnv with an env's spaces (constant observations): SB3's own ceiling."""

    def __init__(self, spec: EnvSpec, n_envs: int) -> None:
        self.render_mode = None
        super().__init__(n_envs, spec.observation_space, spec.action_space)
        space = spec.observation_space
        self._obs: Observations = (
            {key: np.zeros((n_envs, *sub.shape), sub.dtype) for key, sub in space.spaces.items()}
            if isinstance(space, gym.spaces.Dict)
            else np.zeros((n_envs, *space.shape), space.dtype)
        )
        self._zeros = np.zeros(n_envs, np.float32)
        self._dones = np.zeros(n_envs, bool)
        self._infos: list[dict[str, Any]] = [{} for _ in range(n_envs)]

    def reset(self) -> Observations:
        """The constant observations."""
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        """Ignore the actions."""

    def step_wait(self) -> Any:
        """Constant observations, zero rewards, no episode ends."""
        return self._obs, self._zeros, self._dones, self._infos

    def close(self) -> None:
        """Nothing to close."""

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """Env-wide attributes."""
        return [getattr(self, attr_name)] * self.num_envs

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Set an env-wide attribute."""
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any
                   ) -> list[Any]:
        """Call an env-wide method."""
        return [getattr(self, method_name)(*args, **kwargs)] * self.num_envs

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """No wrappers."""
        return [False] * self.num_envs


def bench_sb3(config: BenchConfig | str, **overrides: Any) -> SB3BenchResult:
    """PPO with the env's default hyperparameters on Godot, then on a free env; SB3 ``fps``.

    Trains ``config.sb3_timesteps`` env steps on each (``bench_sb3("ball", sb3_timesteps=50_000,
    n_envs=16)``).

    Raises:
        InvalidOption: ``sb3_timesteps`` is not set.
    """
    config = config_from(BenchConfig, config, overrides)
    if config.sb3_timesteps is None:
        raise InvalidOption("bench_sb3 needs sb3_timesteps (--sb3 TIMESTEPS): env steps per run")
    n_envs, procs, timesteps = config.n_envs, config.procs, config.sb3_timesteps
    import torch
    from stable_baselines3 import PPO

    from rlgodot.core.jobs.train import resolve_training, sb3_policy

    spec, _, hyperparameters = resolve_training(TrainConfig(env=config.env, algo="ppo"))
    torch.set_num_threads(1)

    def fps(vec: Any) -> float:
        model = PPO(sb3_policy(spec), vec, seed=0, device="cpu", **hyperparameters)
        start = time.perf_counter()
        model.learn(total_timesteps=timesteps)
        return model.num_timesteps / (time.perf_counter() - start)

    godot_env = GodotVecEnv(spec, n_envs=n_envs, seed=0,
                            settings=LaunchSettings(n_procs=procs, pin_cpus=config.pin_cpus))
    try:
        godot_fps = fps(godot_env)
    finally:
        godot_env.close()
    ceiling = fps(FreeVecEnv(spec, n_envs))
    return SB3BenchResult(spec.id, n_envs, procs, timesteps, godot_fps, ceiling,
                          godot_fps / ceiling)
