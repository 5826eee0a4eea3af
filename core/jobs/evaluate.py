"""Evaluate a trained model (or a random policy) over seeded episodes."""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import InvalidOption
from rlgodot.core.jobs.config import EvalConfig, ExportConfig, config_from
from rlgodot.core.jobs.export import export_policy
from rlgodot.core.jobs.models import load_env_model, shipped_model_path
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.jobs.rllib import is_rllib_checkpoint, load_rllib_policy
from rlgodot.core.jobs.video import check_video_path, write_loop, write_mp4
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.settings import LaunchSettings


@dataclass
class EvalResult:
    """Per-episode results and their summary.

    Attributes:
        env_id: The env evaluated.
        policy: ``"random"`` or the model's path.
        options: The env options used: the model's saved options with the given ones over them.
        episodes: Episodes run.
        success_rate: Fraction of episodes whose final info marks success (``None`` if the env
            has no success flag).
        mean_return: Mean undiscounted return.
        mean_length: Mean episode length in steps.
        outcome_rates: Fraction of episodes ending with each boolean flag the plugin reports at
            an episode's end (e.g. ``is_success``, ``collided``, ``crashed``).
        mean_success_length: Mean length in steps of the successful episodes (``None`` if none).
        mean_success_seconds: The same in simulated seconds (steps x action repeat / tick rate).
        returns: Return of each episode.
        lengths: Length of each episode.
        successes: Success flag of each episode (empty if none).
        video: The MP4 of the episodes (``EvalConfig.video``), else None.
        video_frames: Frames in ``video``: one per episode start and one per step.
        loop: The looping GIF beside ``video``, else None.
    """

    env_id: str
    policy: str
    options: dict[str, Any]
    episodes: int
    success_rate: float | None
    mean_return: float
    mean_length: float
    outcome_rates: dict[str, float] = field(default_factory=dict)
    mean_success_length: float | None = None
    mean_success_seconds: float | None = None
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    successes: list[bool] = field(default_factory=list)
    video: Path | None = None
    video_frames: int = 0
    loop: Path | None = None

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``rlgodot eval --json``."""
        return {
            "env_id": self.env_id,
            "policy": self.policy,
            "options": self.options,
            "episodes": self.episodes,
            "success_rate": self.success_rate,
            "mean_return": self.mean_return,
            "mean_length": self.mean_length,
            "outcome_rates": self.outcome_rates,
            "mean_success_length": self.mean_success_length,
            "mean_success_seconds": self.mean_success_seconds,
            "video": None if self.video is None else str(self.video),
            "video_frames": self.video_frames,
            "loop": None if self.loop is None else str(self.loop),
        }


def evaluate(config: EvalConfig | str, **overrides: Any) -> EvalResult:
    """Run ``config.episodes`` episodes and summarise them; see :class:`EvalConfig`.

    Called as ``evaluate(EvalConfig(env="ball", episodes=4))`` or ``evaluate("ball",
    episodes=4)``. ``model`` is an SB3 ``.zip`` from ``rlgodot train`` or an RLlib checkpoint
    directory from ``rlgodot train --backend rllib``. Without ``model`` the plugin's shipped
    model is used; ``random_policy`` uses uniformly random actions instead (the baseline).
    Instance i starts from seed ``seed + i`` and each instance runs an equal share of the
    episodes (as SB3's ``evaluate_policy``), so a result depends only on ``seed``, ``episodes``
    and ``n_envs``. ``algo`` names the SB3 algorithm of a model without metadata (e.g. a
    checkpoint of a run that did not finish). A model saved with env options (its ``.json``)
    is evaluated with them; ``options`` override them one by one.

    With ``render`` (a window at ``speed`` x real time) or ``video`` (offscreen frames to an
    MP4 and a looping GIF) the episodes run one after another on one instance, seeded as with
    ``n_envs=1``, so they are the episodes ``evaluate(..., n_envs=1)`` reports; see
    :func:`evaluate_watched`. With ``attach`` they run in the game running on that port (its
    window shows them; ``render`` also captions them and starts it at ``speed``); ``video``
    needs a launched Godot.

    A model is loaded with pickle, which runs code: only the path given (``model``) or the
    model the plugin ships inside its own package is ever loaded.

    Raises:
        RLGodotError: No model given and the plugin ships none; the model's spaces do not fit
            the env (checked before Godot starts); ``render`` without a display.
        InvalidOption: A setting out of range (e.g. ``n_envs=0``), ``render`` with ``video``,
            ``video`` with ``attach``.
        GodotNotListening: ``attach`` and no game listens on that port.
        VideoError: ``video`` is not a writable ``.mp4`` path (checked before Godot starts).
    """
    config = config_from(EvalConfig, config, overrides)
    spec = get_registry().get(config.env)
    watched = _check_watching(config)
    policy = load_policy(spec, config.model, algo=config.algo,
                         random_policy=config.random_policy,
                         deterministic=config.deterministic)
    if config.in_engine:
        return _evaluate_in_engine(spec, config, policy)
    options = {**policy.options, **config.options}
    if watched:
        mode = "human" if config.render else "rgb_array"
        env = GodotEnv(spec, options=options, render_mode=mode, settings=LaunchSettings(
            step_timeout=config.step_timeout, render_size=config.render_size,
            realtime_factor=config.speed if config.render else 0.0, attach=config.attach,
        ))
        try:
            result = evaluate_watched(env, policy.act, config, policy_name=policy.name,
                                      options=options)
        finally:
            env.close()
        if result.video is not None:
            result.loop = write_loop(result.video)
        return result
    n = config.n_envs or min(config.episodes, 8)
    vec = GodotVecEnv(spec, n_envs=n, options=options, seed=config.seed,
                      settings=LaunchSettings(step_timeout=config.step_timeout,
                                              attach=config.attach))
    try:
        return evaluate_on(vec, policy.act, config, policy_name=policy.name, options=options)
    finally:
        vec.close()


def _evaluate_in_engine(spec: EnvSpec, config: EvalConfig, policy: LoadedPolicy) -> EvalResult:
    """:func:`evaluate` with the model exported and run by Godot's ``RLPolicy``.

    The same instances, seeds and episode shares as the Python evaluation, so the two results
    compare episode for episode (up to float32 rounding of the network).
    """
    if config.random_policy or config.render or config.video is not None:
        raise InvalidOption(
            "--in-engine runs the model inside Godot headless; drop --random, --render and "
            "--video (record a video of the model with --video alone)"
        )
    if not config.deterministic:
        raise InvalidOption("--in-engine runs the deterministic policy; drop --no-deterministic")
    options = {**policy.options, **config.options}
    n = config.n_envs or min(config.episodes, 8)
    with tempfile.TemporaryDirectory(prefix="rlgodot-policy-") as out:
        exported = export_policy(ExportConfig(env=spec.id, model=config.model, algo=config.algo,
                                              out=Path(out)))
        vec = GodotVecEnv(spec, n_envs=n, options=options, seed=config.seed,
                          settings=LaunchSettings(step_timeout=config.step_timeout,
                                                  policy=exported.policy_json,
                                                  attach=config.attach))
        try:
            episodes = _run_episodes(vec, spec, None, config, in_engine=True)
        finally:
            vec.close()
    return _summarise(spec, f"{policy.name} (in Godot)", options, episodes)


def evaluate_on(
    vec: GodotVecEnv,
    act: Policy | None,
    config: EvalConfig,
    *,
    policy_name: str,
    options: dict[str, Any],
) -> EvalResult:
    """Run ``config.episodes`` seeded episodes on an open env and summarise them.

    The part of :func:`evaluate` after the env is made; evaluation during training reuses it
    on its own instances.

    Args:
        vec: The env (its instances are reset first).
        act: Observations -> actions, or None for random actions.
        config: Episodes and seed.
        policy_name: What the result calls the policy.
        options: The env options, reported in the result.
    """
    episodes = _run_episodes(vec, vec.spec, act, config)
    return _summarise(vec.spec, policy_name, options, episodes)


def evaluate_watched(
    env: GodotEnv,
    act: Policy | None,
    config: EvalConfig,
    *,
    policy_name: str,
    options: dict[str, Any],
) -> EvalResult:
    """Run ``config.episodes`` episodes one after another on one rendering instance.

    The first reset has seed ``config.seed``, the later ones continue its random stream (as
    the autoresets of :func:`evaluate` with one instance). Each step is captioned "episode
    k/N  return R" (the scene's HUD adds the outcome). With ``config.video`` every frame
    (``env.render()`` after each reset and step) goes to that MP4.

    Args:
        env: One instance with ``render_mode`` "rgb_array" (to record) or "human" (to watch).
        act: Observations -> actions (batches of one), or None for random actions.
        config: Episodes, seed and video path.
        policy_name: What the result calls the policy.
        options: The env options, reported in the result.
    """
    episodes = _Episodes()
    frames = _watched_frames(env, act, config, episodes)
    if config.video is None:
        collections.deque(frames, maxlen=0)  # run them; a window shows them
        return _summarise(env.env_spec, policy_name, options, episodes)
    count = write_mp4(config.video, frames, env.metadata["render_fps"])
    result = _summarise(env.env_spec, policy_name, options, episodes)
    result.video, result.video_frames = Path(config.video), count
    return result


def _check_watching(config: EvalConfig) -> bool:
    """Whether the episodes are watched or recorded; refuse settings that do not fit that.

    Raises:
        InvalidOption: ``render`` with ``video``, or with more than one instance.
        VideoError: ``video`` is not a writable ``.mp4`` path.
    """
    if config.render and config.video is not None:
        raise InvalidOption(
            "--render and --video exclude each other (a window or offscreen frames); record "
            "with --video and play the MP4"
        )
    if config.attach is not None and config.video is not None:
        raise InvalidOption(
            "--video records offscreen frames of a Godot launched for it; leave --attach out "
            "(the attached game shows the episodes in its window)"
        )
    if not (config.render or config.video is not None):
        return False
    if config.n_envs not in (None, 1):
        raise InvalidOption(
            f"--render and --video run the episodes on one instance; leave out --n-envs "
            f"(got {config.n_envs})"
        )
    if config.video is not None:
        check_video_path(config.video)
    return True


def _watched_frames(env: GodotEnv, act: Policy | None, config: EvalConfig,
                    episodes: _Episodes) -> Iterator[np.ndarray | None]:
    """Run the episodes, captioned; yield ``env.render()`` after each reset and step."""
    spec = env.env_spec
    rng = np.random.default_rng(config.seed)
    for k in range(1, config.episodes + 1):
        obs, _ = env.reset(seed=config.seed if k == 1 else None)
        episode_return, length, done = 0.0, 0, False
        while True:
            env.batch.caption([f"episode {k}/{config.episodes}  return {episode_return:.1f}"])
            yield env.render()
            if done:
                break
            action = (random_actions(spec.action_space, 1, rng) if act is None
                      else act(obs[None]))[0]
            obs, reward, terminated, truncated, info = env.step(action)
            episode_return += reward
            length += 1
            done = terminated or truncated
        episodes.record(spec, episode_return, length, info)


Policy = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy to run: its name, act function (``None``: random) and saved env options."""

    name: str
    act: Policy | None
    options: dict[str, Any] = field(default_factory=dict)


def load_policy(
    spec: EnvSpec,
    model: Path | None,
    *,
    algo: str | None = None,
    random_policy: bool = False,
    deterministic: bool = True,
) -> LoadedPolicy:
    """Random actions, the model given, or the plugin's shipped model, ready to act.

    ``model`` is an SB3 ``.zip`` (``algo`` names the algorithm of one without metadata) or an
    RLlib checkpoint directory; None: the shipped model. Only that path or the model the
    plugin ships inside its own package is ever loaded (loading runs pickled code).

    Raises:
        RLGodotError: No model given and the plugin ships none, or the model's spaces do not
            fit the env.
    """
    if random_policy:
        return LoadedPolicy("random", None)
    path = Path(model) if model is not None else shipped_model_path(spec)
    if is_rllib_checkpoint(path):
        return LoadedPolicy(str(path), load_rllib_policy(path))
    agent, metadata = load_env_model(spec, path, algo)

    def act(obs: np.ndarray) -> np.ndarray:
        return agent.predict(obs, deterministic=deterministic)[0]

    return LoadedPolicy(str(path), act, dict(metadata.get("options") or {}))


@dataclass
class _Episodes:
    """What the finished episodes left: per-episode figures and counts of end-of-episode flags."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    successes: list[bool] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)

    def record(self, spec: EnvSpec, episode_return: float, length: int,
               info: dict[str, Any]) -> None:
        """Add one finished episode and the boolean flags of its final info."""
        self.returns.append(episode_return)
        self.lengths.append(length)
        if spec.success_key:
            self.successes.append(bool(info.get(spec.success_key, False)))
        for key, value in outcome_flags(info).items():
            self.outcomes[key] = self.outcomes.get(key, 0) + value


def outcome_flags(info: dict[str, Any]) -> dict[str, bool]:
    """The boolean flags of an episode's final info, without Gymnasium's TimeLimit.truncated."""
    return {key: bool(value) for key, value in info.items()
            if isinstance(value, (bool, np.bool_)) and key != "TimeLimit.truncated"}


def _run_episodes(vec: GodotVecEnv, spec: EnvSpec, act: Policy | None,
                  config: EvalConfig, *, in_engine: bool = False) -> _Episodes:
    """Step until every instance has finished its share of the episodes.

    ``act`` None: random actions; ``in_engine``: Godot's policy acts (``act`` is not used).
    """
    n = vec.num_envs
    targets = np.array([(config.episodes + i) // n for i in range(n)])
    rng = np.random.default_rng(config.seed)
    episodes = _Episodes()
    obs = vec.reset()
    counts = np.zeros(n, dtype=np.int64)
    running_return = np.zeros(n)
    running_length = np.zeros(n, dtype=np.int64)
    while (counts < targets).any():
        if in_engine:
            obs, rewards, dones, infos = vec.step_engine_policy()
        else:
            actions = random_actions(spec.action_space, n, rng) if act is None else act(obs)
            obs, rewards, dones, infos = vec.step(actions)
        running_return += rewards
        running_length += 1
        for i in np.flatnonzero(dones):
            if counts[i] < targets[i]:
                episodes.record(spec, float(running_return[i]), int(running_length[i]), infos[i])
                counts[i] += 1
            running_return[i] = 0.0
            running_length[i] = 0
    return episodes


def _summarise(spec: EnvSpec, policy_name: str, options: dict[str, Any],
               episodes: _Episodes) -> EvalResult:
    returns, lengths, successes = episodes.returns, episodes.lengths, episodes.successes
    success_lengths = [n for n, ok in zip(lengths, successes, strict=False) if ok]
    mean_success_length = float(np.mean(success_lengths)) if success_lengths else None
    return EvalResult(
        env_id=spec.id,
        policy=policy_name,
        options=options,
        episodes=len(returns),
        success_rate=float(np.mean(successes)) if successes else None,
        mean_return=float(np.mean(returns)),
        mean_length=float(np.mean(lengths)),
        outcome_rates={k: c / len(returns) for k, c in sorted(episodes.outcomes.items())},
        mean_success_length=mean_success_length,
        mean_success_seconds=None if mean_success_length is None
        else mean_success_length * spec.action_repeat / spec.physics_hz,
        returns=returns,
        lengths=lengths,
        successes=successes,
    )
