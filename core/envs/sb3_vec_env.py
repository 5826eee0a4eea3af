"""Stable Baselines 3 ``VecEnv`` over N Godot instances in M processes (same-step autoreset)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from rlgodot.core.envs.batch import (
    BatchBacked,
    EnvBatch,
    StepOutcome,
    empty_observations,
    observation_rows,
    set_observation_rows,
)
from rlgodot.core.envs.rendering import render_metadata, with_render_mode
from rlgodot.core.envs.seeding import derive_seeds, normalise_seeds
from rlgodot.core.errors import (
    GodotCrashed,
    GodotLaunchError,
    GodotRestartsExhausted,
    GodotTimeout,
    InvalidOption,
)
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.settings import LaunchSettings


class GodotVecEnv(BatchBacked, VecEnv):
    """SB3 vectorised env: one ``step`` steps all instances in Godot at once.

    Follows SB3's VecEnv contract: an instance whose episode ends is reset in the same step; its
    terminal observation is in ``infos[i]["terminal_observation"]`` and
    ``infos[i]["TimeLimit.truncated"]`` says whether the time limit ended it. The plugin's
    per-episode entries (e.g. ``is_success``) are added to the infos of ended episodes.

    Recovery: when a step finds a Godot process dead (``GodotCrashed``) or hung past
    ``settings.step_timeout`` (``GodotTimeout``), the session is closed (a hung process is
    killed), a new one is launched with the same settings and every instance is reset. That
    ``step_wait`` returns every episode as ended by truncation (``dones`` all True,
    ``TimeLimit.truncated`` True, ``terminal_observation`` the last observation seen, the
    decoder's final info of the last state) with the new first observations and zero rewards.
    Each restart prints one line to stderr and counts in :attr:`restarts`; after
    ``max_restarts`` failures in a row :class:`GodotRestartsExhausted` is raised. Recovery is
    on when ``max_restarts`` > 0 (training); else a failure raises as it is. An attached game
    (``settings.attach``) is never restarted: its session takes ``max_restarts`` 0, and a
    game that stops fails the step with ``GodotCrashed`` (or ``GodotTimeout``).

    Rendering: with ``render_mode="rgb_array"``, :meth:`get_images` returns one frame per
    instance and ``render()`` tiles them (SB3's ``VecVideoRecorder`` records that); with
    ``"human"`` a Godot window shows every instance at real time and ``render()`` returns None.

    Args:
        spec: The env.
        n_envs: Instances in total.
        options: Env options (see ``rlgodot list-envs``).
        seed: Seeds of the first reset (``seed + i`` for instance i); random when ``None``.
        settings: How to run Godot (processes, pinning, timeouts).
        max_restarts: Godot failures in a row that are recovered from before giving up; 0 (the
            default; ``train`` sets its ``max_restarts``) raises the first failure as it is.
            Must be 0 with ``settings.attach``.
        render_mode: ``None`` (headless), ``"human"`` or ``"rgb_array"``; overrides
            ``settings.render_mode``.

    Attributes:
        restarts: Sessions relaunched after a crash or hang so far.
        last_recovery_s: Seconds the latest recovery took (close, launch, reset).
    """

    def __init__(
        self,
        spec: EnvSpec,
        n_envs: int = 1,
        options: Mapping[str, Any] | None = None,
        seed: int | None = None,
        settings: LaunchSettings | None = None,
        max_restarts: int = 0,
        render_mode: str | None = None,
    ) -> None:
        settings = with_render_mode(settings, render_mode)
        if settings.attach is not None and max_restarts:
            raise InvalidOption(
                f"an attached game is never restarted, so max_restarts must be 0 with attach, "
                f"got {max_restarts}; leave --max-restarts out"
            )
        self.spec = spec
        self.max_restarts = max_restarts
        self.restarts = 0
        self.last_recovery_s = 0.0
        self._failures_in_a_row = 0
        self.batch = EnvBatch(spec, n_envs, "same_step", options, settings)
        self.render_mode: str | None = settings.render_mode  # read by VecEnv.__init__
        super().__init__(n_envs, spec.observation_space, spec.action_space)
        self.metadata = render_metadata(spec)
        self._rng = np.random.default_rng(seed)
        if seed is not None:
            self.seed(seed)
        self._actions: Any = None

    def reset(self) -> VecEnvObs:
        """Reset every instance with the seeds/options set by ``seed()``/``set_options()``."""
        seeds = (
            normalise_seeds(self._seeds, self._rng)
            if any(s is not None for s in self._seeds)
            else derive_seeds(None, self.num_envs, self._rng)
        )
        groups = _group_by_options(self._options)
        if len(groups) == 1:
            options, indices = groups[0]
            obs = self.batch.reset(seeds, options or None)
        else:
            obs = empty_observations(self.observation_space, self.num_envs)
            for options, indices in groups:
                first = self.batch.reset([seeds[i] for i in indices], options or None, indices)
                set_observation_rows(obs, indices, first)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions; they are sent in :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step all instances at once and return SB3's ``(obs, rewards, dones, infos)``."""
        return self._step_with(lambda: self.batch.step(self._actions))

    def step_engine_policy(self) -> VecEnvStepReturn:
        """Step all instances with the policy that runs inside Godot (``settings.policy``).

        Godot computes every instance's action from its current state (``RLPolicy``); the
        return value is :meth:`step_wait`'s.

        Raises:
            RemoteError: ``not_ready``: the env was made without ``settings.policy``.
        """
        return self._step_with(self.batch.act)

    def _step_with(self, step: Callable[[], StepOutcome]) -> VecEnvStepReturn:
        try:
            out = step()
        except (GodotCrashed, GodotTimeout) as exc:
            if not self.max_restarts:
                raise
            return self._recover(exc)
        if self._failures_in_a_row:
            self._failures_in_a_row = 0
        dones = out.terminated | out.truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for j, i in enumerate(out.ended.tolist()):
            info = infos[i]
            info["terminal_observation"] = observation_rows(out.final_observations, j)
            info["TimeLimit.truncated"] = bool(out.truncated[i] and not out.terminated[i])
            for key, values in out.final_info.items():
                info[key] = values[j]
        return out.observations, out.rewards, dones, infos

    def _recover(self, error: Exception) -> VecEnvStepReturn:
        """Relaunch Godot after ``error`` and end every episode as truncated (class docstring)."""
        start = time.perf_counter()
        final_observations = self.batch.last_observations()
        final_info = self.batch.last_final_info()
        while True:
            self._failures_in_a_row += 1
            reason = _one_line(error)
            if self._failures_in_a_row > self.max_restarts:
                raise GodotRestartsExhausted(
                    f"Godot failed {self._failures_in_a_row} times in a row (last: {reason}); "
                    "check 'rlgodot doctor' and the env's scene, or raise max_restarts."
                ) from error
            print(f"rlgodot: restarting Godot ({self.restarts + 1}): {reason}", file=sys.stderr)
            try:
                self.batch.relaunch()
                obs = self.batch.reset(derive_seeds(None, self.num_envs, self._rng))
                break
            except (GodotCrashed, GodotTimeout, GodotLaunchError) as again:
                error = again
        self.restarts += 1
        self.last_recovery_s = time.perf_counter() - start
        infos: list[dict[str, Any]] = []
        for i in range(self.num_envs):
            info = {key: values[i] for key, values in final_info.items()}
            info["terminal_observation"] = observation_rows(final_observations, i)
            info["TimeLimit.truncated"] = True
            infos.append(info)
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        return obs, rewards, np.ones(self.num_envs, dtype=bool), infos

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One ``(H, W, 3)`` uint8 frame of the current state per instance."""
        return list(self.batch.render())

    def render(self, mode: str | None = None) -> np.ndarray | None:
        """SB3's ``render``: the instances' frames tiled into one image (``"rgb_array"``).

        With ``render_mode="human"`` the Godot window already shows every instance: returns
        None (SB3's own ``render`` would call ``render`` on each sub-env, which this has not).
        """
        if self.render_mode == "human" and mode in (None, "human"):
            return None
        return super().render(mode)

    def close(self) -> None:
        """End every Godot process of this env (idempotent)."""
        self.close_batch()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Attributes are env-wide here: the same value for every index."""
        value = getattr(self, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an env-wide attribute."""
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """Call an env-wide method once per requested index."""
        method = getattr(self, method_name)
        return [method(*method_args, **kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """Instances live in Godot: no Gymnasium wrappers around them."""
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices


def _one_line(error: Exception) -> str:
    """The first line of an error's message, without a trailing pointer to what follows."""
    line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return line.removesuffix(" Its output tail:").removesuffix(" Output tail:").rstrip(" .:")


def _group_by_options(
    options: Sequence[dict[str, Any]],
) -> list[tuple[dict[str, Any], list[int]]]:
    """Group instance indices that share the same reset options (one reset message each)."""
    groups: list[tuple[dict[str, Any], list[int]]] = []
    for i, opts in enumerate(options):
        for group_opts, indices in groups:
            if group_opts == opts:
                indices.append(i)
                break
        else:
            groups.append((opts, [i]))
    return groups
