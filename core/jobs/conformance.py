"""The conformance suite every env plugin must pass, runnable against any installed env.

Each check drives a real Godot. ``rlgodot check --env NAME`` runs them all; the project's tests
and any plugin's own pytest suite run them through the ``rlgodot.core.testing`` pytest plugin.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlgodot.core.envs.batch import Observations, observation_rows
from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import InvalidOption, RLGodotError
from rlgodot.core.jobs.config import CheckConfig, config_from
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec


class CheckFailed(RLGodotError, AssertionError):
    """An env broke the contract; the message says how."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _parts(space: gym.Space[Any], obs: Observations) -> list[tuple[str, gym.spaces.Box, Any]]:
    """``(name, Box, values)`` of each array of an observation: one, or one per ``Dict`` key."""
    if isinstance(space, gym.spaces.Dict):
        assert isinstance(obs, dict)
        return [(f"[{key!r}]", sub, obs[key]) for key, sub in space.spaces.items()]
    assert isinstance(space, gym.spaces.Box)
    return [("", space, obs)]


def _bytes(obs: Observations) -> bytes:
    """An observation's bytes (a ``Dict``'s key by key), for bit-for-bit comparisons."""
    if isinstance(obs, dict):
        return b"".join(np.asarray(obs[key]).tobytes() for key in sorted(obs))
    return np.asarray(obs).tobytes()


def check_scene_answers(spec: EnvSpec, steps: int) -> str:
    """The scene loads in Godot, declares the plugin's layout and answers reset and step."""
    start = time.perf_counter()
    env = GodotVecEnv(spec, n_envs=2, seed=0)
    try:
        obs = env.reset()
        first = time.perf_counter() - start
        for name, space, values in _parts(spec.observation_space, obs):
            _require(values.shape == (2, *space.shape), f"reset obs{name} shape {values.shape}")
        env.step(random_actions(spec.action_space, 2, np.random.default_rng(0)))
    finally:
        env.close()
    return f"first observation {first:.2f} s after launch"


def check_spaces_respected(spec: EnvSpec, steps: int) -> str:
    """Observations (also terminal ones) stay inside the observation space; rewards are finite.

    Each instance runs past ``max_episode_steps``, so observations at truncation are checked.
    """
    n = 16
    space = spec.observation_space
    rng = np.random.default_rng(1)
    per_instance = max(1, steps // n, spec.max_episode_steps + 1)
    env = GodotVecEnv(spec, n_envs=n, seed=1)
    ends = {"terminated": 0, "truncated": 0}
    try:
        obs = env.reset()
        _check_obs(space, obs, "reset")
        for step in range(per_instance):
            obs, rewards, dones, infos = env.step(random_actions(spec.action_space, n, rng))
            _check_obs(space, obs, f"step {step}")
            _require(rewards.shape == (n,) and np.isfinite(rewards).all(), f"rewards {rewards}")
            _require(dones.dtype == bool, f"dones dtype {dones.dtype}")
            for i in np.flatnonzero(dones):
                truncated = bool(infos[i].get("TimeLimit.truncated", False))
                ends["truncated" if truncated else "terminated"] += 1
                final = observation_rows(infos[i]["terminal_observation"], None)
                _check_obs(space, final, f"terminal, step {step}")
    finally:
        env.close()
    return (
        f"{per_instance * n} steps, {ends['terminated']} episodes terminated and "
        f"{ends['truncated']} truncated, all inside {space}"
    )


def _check_obs(space: gym.Space[Any], batch: Observations, where: str) -> None:
    """A batch of observations has the space's dtype and shape and lies inside it."""
    for name, box, obs in _parts(space, batch):
        at = f"{where}: obs{name}"
        _require(obs.dtype == box.dtype, f"{at} dtype {obs.dtype}, space {box.dtype}")
        _require(obs.shape[1:] == box.shape, f"{at} shape {obs.shape[1:]} vs {box.shape}")
        _require(bool(np.isfinite(obs).all()), f"{at}: non-finite observation")
        flat = obs.reshape(len(obs), -1)
        low, high = box.low.reshape(-1), box.high.reshape(-1)
        bad = (flat < low) | (flat > high)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise CheckFailed(
                f"{where}: observation{name}[{col}] = {flat[row, col]} is outside "
                f"[{low[col]}, {high[col]}]"
            )


def check_reset_step_contract(spec: EnvSpec, steps: int) -> str:
    """Gymnasium's reset/step types, observations in the space, truncation at the time limit.

    Runs ``steps`` steps and at least two episodes, resetting after each episode end.
    """
    env = GodotEnv(spec)
    rng = np.random.default_rng(2)
    limit = spec.max_episode_steps or steps
    episodes: list[int] = []
    try:
        _check_reset(env, spec, seed=2)
        t = total = 0
        while total < steps or len(episodes) < 2:
            action = random_actions(spec.action_space, 1, rng)[0]
            ended, truncated = _check_step(env, spec, f"episode {len(episodes)}, step {t + 1}",
                                           action)
            t, total = t + 1, total + 1
            _require(not truncated or t == spec.max_episode_steps,
                     f"truncated at step {t}, time limit is {spec.max_episode_steps}")
            _require(ended or t < limit, f"no episode end within max_episode_steps={limit}")
            if ended:
                episodes.append(t)
                _check_reset(env, spec)
                t = 0
    finally:
        env.close()
    return f"{total} steps, {len(episodes)} episodes ended (lengths {_lengths_text(episodes)})"


def _check_reset(env: GodotEnv, spec: EnvSpec, seed: int | None = None) -> None:
    obs, info = env.reset(seed=seed)
    _require(isinstance(info, dict), "reset info must be a dict")
    _require(spec.observation_space.contains(obs), f"reset obs {obs} not in space")


def _check_step(env: GodotEnv, spec: EnvSpec, where: str, action: Any) -> tuple[bool, bool]:
    """One step with Gymnasium's return types checked; ``(episode ended, truncated)``."""
    obs, reward, terminated, truncated, info = env.step(action)
    _require(spec.observation_space.contains(obs), f"{where}: obs {obs} not in space")
    _require(isinstance(reward, float), f"{where}: reward type {type(reward)}")
    _require(isinstance(terminated, bool) and isinstance(truncated, bool), f"{where}: flag types")
    _require(isinstance(info, dict), f"{where}: step info must be a dict")
    return terminated or truncated, truncated


def _lengths_text(lengths: list[int]) -> str:
    shown = ", ".join(map(str, lengths[:5]))
    return shown + (", ..." if len(lengths) > 5 else "")


def check_seeding(spec: EnvSpec, steps: int) -> str:
    """Two fresh envs reset with the same seed and fed the same actions agree bit for bit."""
    n_steps = min(steps, 300)
    actions = random_actions(spec.action_space, n_steps, np.random.default_rng(3))
    runs = []
    for _ in range(2):
        env = GodotEnv(spec)
        try:
            trace = [_bytes(env.reset(seed=1234)[0])]
            for action in actions:
                obs, reward, terminated, truncated, _ = env.step(action)
                trace.append(_bytes(obs) + np.float64(reward).tobytes())
                if terminated or truncated:
                    trace.append(_bytes(env.reset()[0]))
            other_seed = _bytes(env.reset(seed=4321)[0])
        finally:
            env.close()
        runs.append((trace, other_seed))
    (trace_a, other_a), (trace_b, _) = runs
    for t, (a, b) in enumerate(zip(trace_a, trace_b, strict=True)):
        _require(a == b, f"same seed and actions diverged at step {t}")
    _require(
        trace_a[0] != other_a,
        "seed 1234 and seed 4321 gave the same first observation: the seed has no effect",
    )
    return f"{n_steps} steps identical across two processes; another seed differs"


def check_autoreset(spec: EnvSpec, steps: int) -> str:
    """Every instance ends an episode by the time limit and goes on in a new one.

    Each done instance reports its terminal observation; the batch never stalls.
    """
    n = 4
    rng = np.random.default_rng(4)
    env = GodotVecEnv(spec, n_envs=n, seed=4)
    try:
        env.reset()
        limit = spec.max_episode_steps or steps
        ended = np.zeros(n, dtype=bool)
        for _ in range(limit):
            obs, _, dones, infos = env.step(random_actions(spec.action_space, n, rng))
            for i in np.flatnonzero(dones):
                ended[i] = True
                final = infos[i].get("terminal_observation")
                _require(final is not None, "a done instance has no terminal_observation")
                _require("TimeLimit.truncated" in infos[i], "no TimeLimit.truncated in info")
                _require(
                    _bytes(final) != _bytes(observation_rows(obs, i)),
                    "the observation after a done equals the terminal one: no autoreset",
                )
        _require(bool(ended.all()), f"instances {np.flatnonzero(~ended)} never ended in {limit}")
        env.step(random_actions(spec.action_space, n, rng))
    finally:
        env.close()
    return f"all {n} instances ended within {limit} steps and continued"


def check_play_mode(spec: EnvSpec, steps: int) -> str:
    """The keyboard play mode (human_action, hud_text, camera) runs 300 frames without errors.

    Runs headless (CI has no display): the window is not opened, but every script path of play
    mode executes.
    """
    from rlgodot.core.jobs.play import play_command
    from rlgodot.core.runtime.launcher.process import GodotProcess

    process = GodotProcess.spawn(
        play_command(spec, {}, godot_args=("--headless", "--quit-after", "300"))
    )
    try:
        code = process.wait(timeout=60)
    finally:
        process.terminate()
    output = process.output_tail(200)
    _require(code == 0, f"play mode exited with {code}:\n{output}")
    _require("SCRIPT ERROR" not in output, f"play mode printed script errors:\n{output}")
    return "300 frames of play mode, no script errors"


# Gymnasium's checker only warns about these; a Box observation outside its bounds breaks
# agents that normalise by the bounds, so the suite fails on it.
_FAILING_WARNINGS = ("is not within the observation space",)


@dataclass(frozen=True)
class Detail:
    """What a passed check reports: one line, and the warnings it saw (``rlgodot check``)."""

    text: str
    warnings: tuple[str, ...] = ()


def _run_checker(spec: EnvSpec, checker: Callable[[GodotEnv], object]) -> Detail:
    """Run a library's env checker on a fresh single-instance env, keeping its warnings.

    Raises:
        CheckFailed: A warning that breaks the contract (an observation outside the space).
    """
    env = GodotEnv(spec)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            checker(env)
    finally:
        env.close()
    texts = tuple(dict.fromkeys(str(w.message) for w in caught))  # unique, in order
    failing = [t for t in texts if any(marker in t for marker in _FAILING_WARNINGS)]
    _require(not failing, "; ".join(failing))
    return Detail(f"passed ({len(texts)} warnings)", texts)


def check_gymnasium_env_checker(spec: EnvSpec, steps: int) -> Detail:
    """``gymnasium.utils.env_checker.check_env`` passes (spaces, seeding, determinism of reset)."""
    from gymnasium.utils.env_checker import check_env

    return _run_checker(spec, lambda env: check_env(env, skip_render_check=True))


def check_sb3_env_checker(spec: EnvSpec, steps: int) -> Detail:
    """Stable Baselines 3's ``check_env`` passes."""
    from stable_baselines3.common.env_checker import check_env

    return _run_checker(spec, lambda env: check_env(env, warn=True))


CHECKS: dict[str, Callable[[EnvSpec, int], str | Detail]] = {
    "scene_answers": check_scene_answers,
    "spaces_respected": check_spaces_respected,
    "reset_step_contract": check_reset_step_contract,
    "seeding": check_seeding,
    "autoreset": check_autoreset,
    "play_mode": check_play_mode,
    "gymnasium_env_checker": check_gymnasium_env_checker,
    "sb3_env_checker": check_sb3_env_checker,
}


@dataclass
class CheckResult:
    """Outcome of one check on one env.

    Attributes:
        env_id: The env checked.
        name: The check's name (a key of :data:`CHECKS`).
        passed: Whether it passed.
        seconds: How long it took.
        detail: One line: what was checked, or why it failed.
        warnings: The warnings a passed check saw (each one's text).
    """

    env_id: str
    name: str
    passed: bool
    seconds: float
    detail: str
    warnings: list[str] = field(default_factory=list)


def run_check(env: str, name: str, steps: int = 2000) -> CheckResult:
    """Run one named check on an installed env; see :func:`run_spec_check`."""
    return run_spec_check(get_registry().get(env), name, steps)


def run_spec_check(spec: EnvSpec, name: str, steps: int = 2000) -> CheckResult:
    """Run one named check; a :class:`CheckFailed` or any error becomes a failed result."""
    start = time.perf_counter()
    try:
        outcome = CHECKS[name](spec, steps)
        detail = outcome if isinstance(outcome, Detail) else Detail(outcome)
        passed = True
    except Exception as exc:  # report every failure, keep running the other checks
        detail = Detail(f"{type(exc).__name__}: {exc}")
        passed = False
    return CheckResult(spec.id, name, passed, time.perf_counter() - start, detail.text,
                       list(detail.warnings))


def check_names(config: CheckConfig) -> list[str]:
    """The checks ``config`` selects: ``config.only``, or all of them.

    Raises:
        InvalidOption: A name in ``only`` that is no check.
    """
    unknown = [n for n in config.only if n not in CHECKS]
    if unknown:
        raise InvalidOption(
            f"unknown check(s) {', '.join(unknown)} for --only; known: {', '.join(CHECKS)}"
        )
    return list(config.only) or list(CHECKS)


def run_checks(config: CheckConfig | str, **overrides: Any) -> list[CheckResult]:
    """Run the conformance suite (or the ``only`` checks) against an installed env.

    Called as ``run_checks(CheckConfig(env="ball"))`` or ``run_checks("ball", only=("seeding",))``.
    """
    config = config_from(CheckConfig, config, overrides)
    return [run_check(config.env, name, config.steps) for name in check_names(config)]
