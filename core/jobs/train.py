"""Train an SB3 agent (PPO or DQN) on an installed env, with TensorBoard logs and checkpoints.

A run directory ``<output_dir>/<env>-<algo>-<time>/`` holds ``run.json`` (the run's settings,
written first, so ``--resume`` works even after a hard crash), ``model.zip`` (+ ``.json``
sidecar), ``checkpoints/``, ``tb_1/`` (TensorBoard), and when asked ``videos/`` (evaluation
episodes, ``video_every``), ``best_model.zip`` (the best evaluation during training) or
``model_interrupted.zip`` (the model when training stopped early: Godot failed too often, or
Ctrl-C).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import math
import os
import sys
import time
import typing
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.type_aliases import TrainFrequencyUnit
from stable_baselines3.common.vec_env import VecMonitor

from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import InvalidOption, RLGodotError
from rlgodot.core.jobs.config import DEFAULT_MAX_RESTARTS, EvalConfig, TrainConfig, config_from
from rlgodot.core.jobs.models import (
    ALGORITHMS,
    INFERENCE_OBJECTS,
    check_model_spaces,
    plain,
    read_metadata,
    save_model,
)
from rlgodot.core.jobs.periodic import EveryNSteps
from rlgodot.core.jobs.train_video import VideoRecorder
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec, LinearSchedule, TrainDefaults
from rlgodot.core.runtime.settings import LaunchSettings

RUN_FILE = "run.json"
INTERRUPTED = "model_interrupted.zip"
BEST = "best_model.zip"


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        env_id: The env trained on.
        algo: The algorithm.
        run_dir: Folder with the model, checkpoints and TensorBoard logs (``tb_1/``).
        model_path: The final model (``.zip``, with a ``.json`` sidecar).
        timesteps: The run's step counter at the end: what actually ran (PPO trains whole
            rollouts, so this is ``requested_timesteps`` rounded up to a rollout).
        wall_time_s: Seconds from env launch to the saved model.
        steps_per_s: Steps run by this call / ``wall_time_s``.
        requested_timesteps: The total asked for (``--timesteps`` or the plugin's default);
            0 when the backend does not tell.
        restarts: Godot restarts after a crash or hang during this call.
        best_model_path: ``best_model.zip`` when ``eval_every`` was set, else None.
    """

    env_id: str
    algo: str
    run_dir: Path
    model_path: Path
    timesteps: int
    wall_time_s: float
    steps_per_s: float
    requested_timesteps: int = 0
    restarts: int = 0
    best_model_path: Path | None = None


def resolve_training(config: TrainConfig) -> tuple[EnvSpec, TrainDefaults, dict[str, Any]]:
    """Look up the env and merge the plugin's defaults with the config's overrides.

    Hyperparameter strings ``lin_X`` (RL Zoo's notation) become a linear schedule from X, and
    the classes in ``policy_kwargs`` (``features_extractor_class``, ``activation_fn``,
    ``optimizer_class``) may be given by dotted path (``"torch.nn.ReLU"``), as config files
    and sidecars write them.

    Raises:
        InvalidOption: Unknown algorithm, DQN on a continuous action space, or a class path in
            ``policy_kwargs`` that does not import.
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
    hyperparameters = {
        k: _schedule(v) for k, v in {**defaults.hyperparameters, **config.hyperparameters}.items()
    }
    if isinstance(hyperparameters.get("policy_kwargs"), dict):
        hyperparameters["policy_kwargs"] = {
            k: _imported_class(k, v) if k in CLASS_POLICY_KWARGS and isinstance(v, str) else v
            for k, v in hyperparameters["policy_kwargs"].items()
        }
    return spec, defaults, hyperparameters


CLASS_POLICY_KWARGS = ("features_extractor_class", "activation_fn", "optimizer_class")
"""The SB3 ``policy_kwargs`` that take a class, which may be named by dotted path."""


def _imported_class(name: str, path: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        found = None
    if not isinstance(found, type):
        raise InvalidOption(
            f"policy_kwargs {name} {path!r} is not an importable class; name one by its "
            "dotted path, e.g. 'rlgodot.core.jobs.networks.SmallCnn'"
        )
    return found


def _schedule(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return LinearSchedule(float(value[4:]))
        except ValueError:
            return value
    return value


@dataclass
class _Plan:
    """One training call, resolved before Godot starts."""

    config: TrainConfig
    spec: EnvSpec
    algo: str
    hyperparameters: dict[str, Any]
    timesteps: int
    n_envs: int
    n_procs: int
    run_dir: Path
    training_options: dict[str, Any]
    resume_model: Path | None = None


def train(
    config: TrainConfig | str, callbacks: Sequence[BaseCallback] = (), **overrides: Any
) -> TrainResult:
    """Train ``config.algo`` on ``config.env``; see :class:`TrainConfig` for every setting.

    Called as ``train(TrainConfig(env="ball", timesteps=10_000))`` or ``train("ball",
    timesteps=10_000)``.

    With ``resume`` the run's own settings (env, algo, options, hyperparameters, instances,
    seed) are used, and ``config`` gives only how to run now (timesteps, timeouts, progress,
    evaluation, videos, checkpoints). With ``init_from`` a new run starts from that model's weights.
    ``callbacks`` are SB3 callbacks called besides rlgodot's own.

    Godot processes are always ended, also when training fails or is interrupted; a model
    that was training is then saved as ``<run>/model_interrupted.zip`` first. With
    ``config.backend == "rllib"`` this runs :func:`rlgodot.core.jobs.rllib.train_rllib`.

    Raises:
        RLGodotError: Godot failed more than ``max_restarts`` times in a row (the message names
            the saved model), a model that does not fit the env, a run that cannot resume.
    """
    config = config_from(TrainConfig, config, overrides)
    if config.backend == "rllib":
        from rlgodot.core.jobs.rllib import train_rllib

        if config.video_every:
            raise InvalidOption("--video-every records with the sb3 backend; leave it out "
                                "with --backend rllib")

        return train_rllib(config)
    if config.backend != "sb3":
        raise InvalidOption(f"unknown backend {config.backend!r}; use 'sb3' or 'rllib'")
    plan = _plan(config)
    model = _load_resumed(plan) if plan.resume_model else None
    if config.init_from is not None:
        check_model_fits(Path(config.init_from), plan.spec, plan.algo)
    if plan.resume_model is None:
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        (plan.run_dir / RUN_FILE).write_text(json.dumps(plain(_metadata(plan)), indent=2) + "\n")
    torch.set_num_threads(max(1, config.torch_threads))

    start = time.perf_counter()
    env = GodotVecEnv(
        plan.spec,
        n_envs=plan.n_envs,
        options=plan.training_options,
        seed=config.seed,
        settings=LaunchSettings(
            n_procs=plan.n_procs, pin_cpus=config.pin_cpus, step_timeout=config.step_timeout,
            attach=config.attach,
        ),
        max_restarts=config.training_restarts(),
    )
    evaluator = _Evaluator(plan) if config.eval_every > 0 else None
    recorder = VideoRecorder(plan.spec, config, plan.run_dir) if config.video_every else None
    extra = [*callbacks, *([recorder.callback(config.video_every)] if recorder else [])]
    try:
        model, begin = _learn(plan, env, model, evaluator, extra)
        metadata = {**_metadata(plan), "timesteps": model.num_timesteps}
        model_path = save_model(model, plan.run_dir / "model.zip", metadata)
    finally:
        env.close()
        if evaluator is not None:
            evaluator.close()
        if recorder is not None:
            recorder.close()
    wall = time.perf_counter() - start
    return TrainResult(
        plan.spec.id, plan.algo, plan.run_dir, model_path, model.num_timesteps, wall,
        (model.num_timesteps - begin) / wall, plan.timesteps, env.restarts,
        plan.run_dir / BEST if evaluator is not None else None,
    )


def sb3_policy(spec: EnvSpec) -> str:
    """The SB3 policy for the env's observation: an MLP, a CNN for an image, both for a Dict."""
    if spec.image_space is None:
        return "MlpPolicy"
    return "CnnPolicy" if spec.vector_space is None else "MultiInputPolicy"


def _plan(config: TrainConfig) -> _Plan:
    resume_model = None
    if config.resume is not None:
        run_dir = Path(config.resume)
        config = resumed_config(run_dir, config)
        resume_model = latest_model(run_dir)
    spec, defaults, hyperparameters = resolve_training(config)
    algo = config.algo.lower()
    if config.resume is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path(config.output_dir) / f"{spec.id}-{algo}-{stamp}"
    n_procs = 1 if config.attach is not None else config.n_procs or defaults.n_procs
    return _Plan(
        config, spec, algo, hyperparameters, config.timesteps or defaults.total_timesteps,
        config.n_envs or defaults.n_envs, n_procs, run_dir,
        defaults.training_options(config.options), resume_model,
    )


def _metadata(plan: _Plan) -> dict[str, Any]:
    """The sidecar (and ``run.json``) contents: JSON types (see :func:`plain`)."""
    return {
        "algo": plan.algo,
        "env_id": plan.spec.id,
        "options": plan.config.options,
        "training_options": plan.training_options,
        "timesteps": plan.timesteps,
        "n_envs": plan.n_envs,
        "seed": plan.config.seed,
        "hyperparameters": plan.hyperparameters,
        "config": {**asdict(plan.config), "resume": None, "init_from": plan.config.init_from},
    }


def _learn(
    plan: _Plan,
    env: GodotVecEnv,
    model: BaseAlgorithm | None,
    evaluator: _Evaluator | None,
    extra: Sequence[BaseCallback],
) -> tuple[BaseAlgorithm, int]:
    """Build (or continue) the model and train it; save ``model_interrupted.zip`` on failure."""
    config = plan.config
    spec = plan.spec
    monitored = VecMonitor(env, info_keywords=(spec.success_key,) if spec.success_key else ())
    if model is None:
        model = ALGORITHMS[plan.algo](
            sb3_policy(spec), monitored, seed=config.seed, verbose=config.verbose,
            tensorboard_log=str(plan.run_dir), device="cpu", **plan.hyperparameters,
        )
        if config.init_from is not None:
            model.set_parameters(str(config.init_from), exact_match=True, device="cpu")
    else:
        model.set_env(monitored)
    begin = model.num_timesteps
    total = planned_timesteps(model, plan.timesteps)
    if total <= begin:
        raise RLGodotError(
            f"run {plan.run_dir} already has {begin} of {plan.timesteps} steps; pass "
            f"--timesteps with more than {begin} to continue it"
        )
    callbacks: list[BaseCallback] = [_TrainingStats(env), *extra]
    if isinstance(model, OnPolicyAlgorithm):
        cores = config.update_threads or len(os.sched_getaffinity(0))
        callbacks.append(_UpdateThreads(config.torch_threads, cores))
    if config.checkpoint_every > 0:
        callbacks.append(CheckpointCallback(
            save_freq=max(config.checkpoint_every // plan.n_envs, 1),
            save_path=str(plan.run_dir / "checkpoints"), name_prefix=plan.algo,
        ))
    if evaluator is not None:
        callbacks.append(evaluator.callback(config.eval_every))
    try:
        model.learn(
            total_timesteps=total - begin, callback=callbacks, tb_log_name="tb",
            progress_bar=config.progress_bar, reset_num_timesteps=plan.resume_model is None,
        )
    except (RLGodotError, KeyboardInterrupt, SystemExit) as exc:
        metadata = {**_metadata(plan), "timesteps": model.num_timesteps}
        path = save_model(model, plan.run_dir / INTERRUPTED, metadata)
        if not isinstance(exc, RLGodotError):  # Ctrl-C, SIGTERM
            print(f"rlgodot: training interrupted; the model so far is in {path}", file=sys.stderr)
            raise
        reason = str(exc).splitlines()[0].rstrip(".")
        raise RLGodotError(
            f"{reason}. The model so far ({model.num_timesteps} steps) is saved in {path}; "
            f"continue with 'rlgodot train --resume {plan.run_dir}'"
        ) from exc
    return model, begin


def planned_timesteps(model: BaseAlgorithm, requested: int) -> int:
    """The step counter after training to ``requested`` steps: what SB3 really runs.

    PPO collects whole rollouts (``n_steps x n_envs``), DQN whole ``train_freq`` chunks (of
    ``n_envs`` steps each), so the requested count is rounded up to one.
    """
    n_envs = model.n_envs
    if isinstance(model, OnPolicyAlgorithm):
        chunk = model.n_steps * n_envs
    else:
        freq = getattr(model, "train_freq", None)
        step_unit = freq is not None and freq.unit == TrainFrequencyUnit.STEP
        chunk = freq.frequency * n_envs if step_unit else n_envs
    done = model.num_timesteps
    return done + math.ceil(max(requested - done, 0) / chunk) * chunk


def check_model_fits(path: Path, spec: EnvSpec, algo: str) -> None:
    """Refuse a model for ``init_from`` whose algorithm or spaces do not fit (no Godot).

    Raises:
        RLGodotError: Missing file, other algorithm, or other observation/action spaces.
    """
    if not path.is_file():
        raise RLGodotError(f"model file {path} does not exist; pass a .zip from 'rlgodot train'")
    trained_algo = read_metadata(path).get("algo")
    if trained_algo and trained_algo != algo:
        raise RLGodotError(
            f"model {path} is {trained_algo}, not {algo}; pass --algo {trained_algo}"
        )
    data, _, _ = load_from_zip_file(path, device="cpu", custom_objects=INFERENCE_OBJECTS)
    data = data or {}
    check_model_spaces(data.get("observation_space"), data.get("action_space"), spec, path)


def _load_resumed(plan: _Plan) -> BaseAlgorithm:
    assert plan.resume_model is not None
    return ALGORITHMS[plan.algo].load(
        plan.resume_model, device="cpu", tensorboard_log=str(plan.run_dir),
        verbose=plan.config.verbose,
    )


def latest_model(run_dir: Path) -> Path:
    """The newest model of a run: final, interrupted or a checkpoint, by modification time.

    Raises:
        RLGodotError: The run has none.
    """
    candidates = [run_dir / "model.zip", run_dir / INTERRUPTED,
                  *(run_dir / "checkpoints").glob("*.zip")]
    found = [p for p in candidates if p.is_file()]
    if not found:
        raise RLGodotError(
            f"run {run_dir} has no model or checkpoint to resume from; train it anew"
        )
    return max(found, key=lambda p: p.stat().st_mtime)


# The settings of a run that --resume may change; the others are the run's.
_NOW_FIELDS = ("timesteps", "checkpoint_every", "torch_threads", "update_threads", "progress_bar",
               "pin_cpus", "verbose", "step_timeout", "max_restarts", "eval_every",
               "eval_episodes", "video_every", "attach")


def resumed_config(run_dir: Path, config: TrainConfig) -> TrainConfig:
    """The config of a resumed run: the run's own, updated by ``config``.

    Of ``config`` only the :data:`_NOW_FIELDS` not at their defaults count (a new
    ``timesteps``, another ``step_timeout``, ...).

    Raises:
        RLGodotError: ``run_dir`` is not a run of ``rlgodot train``, or of another env.
    """
    saved = run_config(run_dir)
    if config.env and get_registry().get(config.env).id != get_registry().get(saved.env).id:
        raise RLGodotError(f"run {run_dir} trained {saved.env}, not {config.env}; "
                           f"resume it with --env {saved.env} or leave --env out")
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    now = {
        name: getattr(config, name) for name in _NOW_FIELDS
        if getattr(config, name) != defaults[name]
    }
    # Attaching is how to run now, never inherited from the run; an attached game is one process.
    now = {"attach": None, **now, **({"n_procs": None} if "attach" in now else {})}
    return dataclasses.replace(saved, **now, resume=run_dir, init_from=None)


def run_config(run_dir: Path) -> TrainConfig:
    """The :class:`TrainConfig` a run was started with (its ``run.json`` or ``model.json``).

    Reads sidecars of older releases too, which stored every value as a string.

    Raises:
        RLGodotError: No ``run.json`` or ``model.json`` in ``run_dir``.
    """
    for name in (RUN_FILE, "model.json"):
        path = Path(run_dir) / name
        if path.is_file():
            metadata = json.loads(path.read_text())
            values = config_values(metadata.get("config", {}))
            if values.get("timesteps") is None and "timesteps" in metadata:
                values["timesteps"] = int(metadata["timesteps"])
            return TrainConfig(**values)
    raise RLGodotError(f"{run_dir} is not a run directory of 'rlgodot train' (no {RUN_FILE}); "
                       "pass the folder that holds its checkpoints/")


def config_values(raw: dict[str, Any]) -> dict[str, Any]:
    """TrainConfig field values from a sidecar's ``config``: JSON types, or older strings."""
    hints = typing.get_type_hints(TrainConfig)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name in raw:
            values[f.name] = _field_value(hints[f.name], raw[f.name])
    return values


def _field_value(hint: Any, value: Any) -> Any:
    union = typing.get_origin(hint) in (typing.Union, UnionType)
    kinds = {typing.get_origin(a) or a for a in (typing.get_args(hint) if union else (hint,))}
    if isinstance(value, str) and str not in kinds:  # an older sidecar: str(value)
        if value == "None":
            return None
        if Path in kinds:
            return Path(value)
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    if Path in kinds and isinstance(value, str):
        return Path(value)
    if tuple in kinds and isinstance(value, list):
        return tuple(value)
    return value


# Flags SB3 handles itself (``is_success`` is its ``rollout/success_rate``).
_SB3_FLAGS = ("TimeLimit.truncated", "is_success")


class _TrainingStats(BaseCallback):
    """TensorBoard: Godot restarts and the rate of each boolean episode flag (last 100)."""

    def __init__(self, env: GodotVecEnv) -> None:
        super().__init__()
        self.env = env
        self.flags: dict[str, deque[bool]] = {}

    def _on_step(self) -> bool:
        dones = self.locals.get("dones")
        if dones is not None and dones.any():
            infos = self.locals["infos"]
            for i in np.flatnonzero(dones):
                for key, value in infos[i].items():
                    if isinstance(value, (bool, np.bool_)) and key not in _SB3_FLAGS:
                        self.flags.setdefault(key, deque(maxlen=100)).append(bool(value))
        return True

    def _on_rollout_end(self) -> None:
        self.logger.record("rlgodot/godot_restarts", self.env.restarts)
        for key, values in self.flags.items():
            self.logger.record(f"rollout/{_flag_name(key)}_rate", float(np.mean(values)))


class _UpdateThreads(BaseCallback):
    """Torch threads by phase: few while the rollout is collected, every core for the update.

    Godot computes during collection (more threads for the policy's forward passes compete with
    it) and waits during PPO's update.
    """

    def __init__(self, collect: int, update: int) -> None:
        super().__init__()
        self.collect = collect
        self.update = update

    def _on_rollout_start(self) -> None:
        torch.set_num_threads(self.collect)

    def _on_rollout_end(self) -> None:
        torch.set_num_threads(self.update)

    def _on_training_end(self) -> None:
        torch.set_num_threads(self.collect)  # train() ends with --torch-threads, as it began

    def _on_step(self) -> bool:
        return True


def _flag_name(key: str) -> str:
    return "success" if key == "is_success" else key


class _Evaluator:
    """Seeded evaluation episodes on their own Godot instances; keeps the best model."""

    def __init__(self, plan: _Plan) -> None:
        config = plan.config
        self.plan = plan
        self.eval_config = EvalConfig(env=plan.spec.id, episodes=config.eval_episodes,
                                      options=config.options, step_timeout=config.step_timeout)
        self.vec: GodotVecEnv | None = None
        self.best: tuple[float, float] | None = None

    def callback(self, every: int) -> BaseCallback:
        """The SB3 callback that evaluates every ``every`` env steps."""
        return _EvalCallback(self, every)

    def evaluate(self, model: BaseAlgorithm) -> dict[str, float]:
        """Run the episodes with ``model``; save it as the best if it is; return the scalars."""
        from rlgodot.core.jobs.evaluate import evaluate_on

        spec, config = self.plan.spec, self.eval_config
        if self.vec is None:
            self.vec = GodotVecEnv(spec, n_envs=min(config.episodes, 8), options=config.options,
                                   settings=LaunchSettings(step_timeout=config.step_timeout),
                                   max_restarts=_launched_restarts(self.plan.config))
        self.vec.seed(config.seed)

        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(obs, deterministic=True)[0]

        result = evaluate_on(
            self.vec, act, config, policy_name="training", options=dict(config.options)
        )
        scalars = {"eval/mean_return": result.mean_return, "eval/mean_length": result.mean_length}
        if result.success_rate is not None:
            scalars["eval/success_rate"] = result.success_rate
        for key, rate in result.outcome_rates.items():
            scalars[f"eval/{_flag_name(key)}_rate"] = rate
        score = (result.success_rate or 0.0, result.mean_return)
        if self.best is None or score > self.best:
            self.best = score
            metadata = {**_metadata(self.plan), "timesteps": model.num_timesteps,
                        "eval": result.summary()}
            save_model(model, self.plan.run_dir / BEST, metadata)
        return scalars

    def close(self) -> None:
        """End the evaluation's Godot processes."""
        if self.vec is not None:
            self.vec.close()


def _launched_restarts(config: TrainConfig) -> int:
    """``max_restarts`` for the Godot processes training launches itself (evaluation)."""
    return DEFAULT_MAX_RESTARTS if config.max_restarts is None else config.max_restarts


class _EvalCallback(EveryNSteps):
    def __init__(self, evaluator: _Evaluator, every: int) -> None:
        super().__init__(every)
        self.evaluator = evaluator

    def _on_due(self) -> None:
        for key, value in self.evaluator.evaluate(self.model).items():
            self.logger.record(key, value)
        self.logger.dump(self.num_timesteps)
