"""Train and evaluate with Ray RLlib: the scale-out backend (optional extra ``rlgodot[rllib]``).

SB3 stays the default trainer on one machine. RLlib runs the same env plugins, unchanged, across
machines: each EnvRunner builds one :class:`~rlgodot.core.envs.gym_vector_env.GodotVectorEnv`
(one Godot process hosting ``envs_per_runner`` instances, next-step autoreset) through RLlib's
``vector_entry_point`` mode. A crashed or hung Godot raises in ``step``; with the fault-tolerance
settings below RLlib closes that env (ending its Godot) and builds a new one in place.

Nothing here imports ``ray`` at module level.
"""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import TrainConfig
from rlgodot.core.jobs.train import TrainResult, resolve_training
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.settings import LaunchSettings

TUNE_ENV_NAME = "rlgodot-rllib"
CHECKPOINT_MARKER = "rllib_checkpoint.json"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RLGodotError(
            "the RLlib backend needs Ray: pip install 'rlgodot[rllib]' "
            "(with -c constraints.txt for the tested Ray version)"
        ) from exc
    return ray


def make_rllib_env(env_config: dict[str, Any]) -> Any:
    """The env creator RLlib calls once per EnvRunner with ``env_config | {"num_envs": N}``."""
    from rlgodot.core.envs.gym_vector_env import GodotVectorEnv

    spec = get_registry().get(env_config["env_id"])
    # Several runners and their Godots share the node's cores: never spin.
    settings = LaunchSettings(step_timeout=float(env_config.get("step_timeout", 30.0)),
                              spin_usec=0)
    return GodotVectorEnv(
        spec,
        num_envs=int(env_config.get("num_envs", 1)),
        options=env_config.get("options") or None,
        settings=settings,
    )


def _restore_sigterm(handler: Any) -> None:
    """Put back the caller's SIGTERM handler that ``ray.init`` replaced.

    Ray installs its own handlers (a native one that aborts the driver, so no ``finally`` runs:
    no ``algo.stop()``, no env close). Restoring the caller's Python handler (such as the CLI's)
    keeps SIGTERM an orderly shutdown.
    """
    if callable(handler) and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _init_ray(ray: Any, address: str | None, env_runners: int) -> bool:
    """Join ``address`` or start a private local Ray; return True if we started it."""
    if ray.is_initialized():
        return False
    previous = signal.getsignal(signal.SIGTERM)
    try:
        return _start_ray(ray, address, env_runners)
    finally:
        _restore_sigterm(previous)


def _start_ray(ray: Any, address: str | None, env_runners: int) -> bool:
    if address:
        ray.init(address=address)
    else:
        ray.init(
            num_cpus=env_runners + 1,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            _temp_dir=tempfile.mkdtemp(prefix="ray", dir="/tmp"),
            log_to_driver=False,
        )
    return True


def build_algorithm_config(config: TrainConfig) -> tuple[Any, int]:
    """The RLlib ``AlgorithmConfig`` for a :class:`TrainConfig`, and the timesteps to train."""
    from ray import tune
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    spec, defaults, _ = resolve_training(config)
    tune.register_env(TUNE_ENV_NAME, make_rllib_env)
    config_cls = {"ppo": PPOConfig, "dqn": DQNConfig}[config.algo.lower()]
    algo_config = (
        config_cls()
        .environment(TUNE_ENV_NAME, env_config={
            "env_id": spec.id, "options": defaults.training_options(config.options)})
        .env_runners(
            num_env_runners=config.env_runners,
            num_envs_per_env_runner=config.envs_per_runner or defaults.n_envs,
            num_cpus_per_env_runner=1,
            gym_env_vectorize_mode="vector_entry_point",
        )
        .fault_tolerance(
            restart_failed_env_runners=True,
            restart_failed_sub_environments=True,
            delay_between_env_runner_restarts_s=1.0,
        )
        .debugging(seed=config.seed)
    )
    if config.hyperparameters:
        algo_config = algo_config.training(**config.hyperparameters)
    return algo_config, config.timesteps or defaults.total_timesteps


def train_rllib(
    config: TrainConfig, on_result: Callable[[Any, dict[str, Any]], None] | None = None
) -> TrainResult:
    """Train with RLlib until ``timesteps`` env steps are sampled; always stops the algorithm.

    Args:
        config: As for SB3; ``env_runners``, ``envs_per_runner`` and ``address`` apply here,
            ``hyperparameters`` are RLlib ``.training()`` arguments.
        on_result: Called as ``on_result(algo, result)`` after every ``algo.train()``.
    """
    ray = _import_ray()
    spec, _, _ = resolve_training(config)
    algo_name = config.algo.lower()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = (Path(config.output_dir) / f"{spec.id}-rllib-{algo_name}-{stamp}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    started_ray = _init_ray(ray, config.address, config.env_runners)
    algo = None
    try:
        available = ray.cluster_resources().get("CPU", 0)
        if config.env_runners + 1 > available:
            raise RLGodotError(
                f"{config.env_runners} env runners need {config.env_runners + 1} CPUs in the Ray "
                f"cluster (1 per runner + the driver), it has {available:g}; lower "
                "--env-runners or add nodes (RLlib would otherwise wait forever)"
            )
        algo_config, timesteps = build_algorithm_config(config)
        start = time.perf_counter()
        algo = algo_config.build_algo()
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir / "tb"))
        steps = 0
        try:
            while steps < timesteps:
                result = algo.train()
                runners = result.get("env_runners", {})
                steps = int(runners.get("num_env_steps_sampled_lifetime", 0))
                for key in ("episode_return_mean", "episode_len_mean", "num_env_step_failures"):
                    if key in runners:
                        writer.add_scalar(f"rllib/{key}", float(runners[key]), steps)
                writer.add_scalar("rllib/steps_per_s", steps / (time.perf_counter() - start), steps)
                if config.verbose:
                    print(
                        f"iteration {result.get('training_iteration')}: {steps} env steps, "
                        f"return {runners.get('episode_return_mean', float('nan')):.3f}"
                    )
                if on_result is not None:
                    on_result(algo, result)
        finally:
            writer.close()
        checkpoint = Path(algo.save_to_path(str(run_dir / "checkpoint")))
        wall = time.perf_counter() - start
    finally:
        if algo is not None:
            algo.stop()
        if started_ray:
            ray.shutdown()
    return TrainResult(spec.id, f"rllib-{algo_name}", run_dir, checkpoint, steps, wall,
                       steps / wall)


def is_rllib_checkpoint(path: Path) -> bool:
    """True if ``path`` is a directory written by ``Algorithm.save_to_path``."""
    return Path(path).is_dir() and (Path(path) / CHECKPOINT_MARKER).is_file()


def load_rllib_policy(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Load the policy module of an RLlib checkpoint as ``obs batch -> greedy action batch``.

    Only the RLModule is restored (no Ray cluster, no env runners), so evaluation runs through
    the same :func:`rlgodot.core.jobs.evaluate.evaluate` path as SB3 models.
    """
    _import_ray()
    import torch
    from ray.rllib.core.rl_module.rl_module import RLModule

    module_dir = Path(path) / "learner_group" / "learner" / "rl_module" / "default_policy"
    if not module_dir.is_dir():
        raise RLGodotError(f"{path} is not an RLlib algorithm checkpoint ({module_dir} missing)")
    module = RLModule.from_checkpoint(str(module_dir))
    dist_cls = module.get_inference_action_dist_cls()

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = module.forward_inference({"obs": torch.as_tensor(obs, dtype=torch.float32)})
            if "actions" in out:
                return np.asarray(out["actions"])
            dist = dist_cls.from_logits(out["action_dist_inputs"])
            return dist.to_deterministic().sample().numpy()

    return act
