"""Train an SB3 agent (PPO or DQN) on an installed env, with TensorBoard logs and checkpoints."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.callbacks import CheckpointCallback
from stable_baselines3.common.vec_env import VecMonitor

from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import InvalidOption
from rlgodot.core.jobs.config import TrainConfig, config_from
from rlgodot.core.jobs.models import ALGORITHMS, save_model
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec, TrainDefaults
from rlgodot.core.runtime.settings import LaunchSettings


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        env_id: The env trained on.
        algo: The algorithm.
        run_dir: Folder with the model, checkpoints and TensorBoard logs (``tb/``).
        model_path: The final model (``.zip``, with a ``.json`` sidecar).
        timesteps: Env steps trained.
        wall_time_s: Seconds from env launch to the saved model.
        steps_per_s: ``timesteps / wall_time_s``.
    """

    env_id: str
    algo: str
    run_dir: Path
    model_path: Path
    timesteps: int
    wall_time_s: float
    steps_per_s: float


def resolve_training(config: TrainConfig) -> tuple[EnvSpec, TrainDefaults, dict[str, Any]]:
    """Look up the env and merge the plugin's defaults with the config's overrides.

    Raises:
        InvalidOption: Unknown algorithm, or DQN on a continuous action space.
    """
    spec = get_registry().get(config.env)
    algo = config.algo.lower()
    if algo not in ALGORITHMS:
        known = ", ".join(ALGORITHMS)
        raise InvalidOption(f"unknown algorithm {config.algo!r}; use one of {known}")
    if algo == "dqn" and not isinstance(spec.action_space, gym.spaces.Discrete):
        discrete = [
            s.id for s in get_registry().specs().values()
            if s.name.startswith(spec.name) and isinstance(s.action_space, gym.spaces.Discrete)
        ]
        hint = f" Try --env {discrete[0]}." if discrete else ""
        raise InvalidOption(
            f"DQN needs a Discrete action space; {spec.id} has {spec.action_space}.{hint}"
        )
    defaults = spec.train.get(algo, TrainDefaults(total_timesteps=100_000))
    hyperparameters = {**defaults.hyperparameters, **config.hyperparameters}
    return spec, defaults, hyperparameters


def train(config: TrainConfig | str, **overrides: Any) -> TrainResult:
    """Train ``config.algo`` on ``config.env``; see :class:`TrainConfig` for every setting.

    Called as ``train(TrainConfig(env="ball", timesteps=10_000))`` or ``train("ball",
    timesteps=10_000)``.

    Godot processes are always ended, also when training fails or is interrupted. With
    ``config.backend == "rllib"`` this runs :func:`rlgodot.core.jobs.rllib.train_rllib`.
    """
    config = config_from(TrainConfig, config, overrides)
    if config.backend == "rllib":
        from rlgodot.core.jobs.rllib import train_rllib

        return train_rllib(config)
    if config.backend != "sb3":
        raise InvalidOption(f"unknown backend {config.backend!r}; use 'sb3' or 'rllib'")
    spec, defaults, hyperparameters = resolve_training(config)
    algo = config.algo.lower()
    timesteps = config.timesteps or defaults.total_timesteps
    n_envs = config.n_envs or defaults.n_envs
    n_procs = config.n_procs or defaults.n_procs
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(config.output_dir) / f"{spec.id}-{algo}-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, config.torch_threads))

    start = time.perf_counter()
    env = GodotVecEnv(
        spec,
        n_envs=n_envs,
        options=config.options,
        seed=config.seed,
        settings=LaunchSettings(n_procs=n_procs, pin_cpus=config.pin_cpus),
    )
    try:
        monitored = VecMonitor(env, info_keywords=(spec.success_key,) if spec.success_key else ())
        model = ALGORITHMS[algo](
            "MlpPolicy",
            monitored,
            seed=config.seed,
            verbose=config.verbose,
            tensorboard_log=str(run_dir),
            device="cpu",
            **hyperparameters,
        )
        callbacks = []
        if config.checkpoint_every > 0:
            callbacks.append(
                CheckpointCallback(
                    save_freq=max(config.checkpoint_every // n_envs, 1),
                    save_path=str(run_dir / "checkpoints"),
                    name_prefix=algo,
                )
            )
        model.learn(
            total_timesteps=timesteps,
            callback=callbacks,
            tb_log_name="tb",
            progress_bar=config.progress_bar,
        )
        metadata = {
            "algo": algo,
            "env_id": spec.id,
            "options": config.options,
            "timesteps": timesteps,
            "n_envs": n_envs,
            "seed": config.seed,
            "hyperparameters": {k: repr(v) for k, v in hyperparameters.items()},
            "config": {k: str(v) for k, v in asdict(config).items()},
        }
        model_path = save_model(model, run_dir / "model.zip", metadata)
    finally:
        env.close()
    wall = time.perf_counter() - start
    return TrainResult(spec.id, algo, run_dir, model_path, timesteps, wall, timesteps / wall)
