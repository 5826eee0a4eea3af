"""Gymnasium ``Env`` over one instance in Godot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlgodot.core.envs.batch import BatchBacked, EnvBatch, Observations, observation_rows
from rlgodot.core.envs.rendering import (
    CLASS_METADATA,
    render_metadata,
    warn_no_render_mode,
    with_render_mode,
)
from rlgodot.core.envs.seeding import derive_seeds
from rlgodot.core.errors import RLGodotError
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.settings import LaunchSettings


class GodotEnv(BatchBacked, gym.Env[Observations, Any]):
    """One env instance simulated by a Godot process (headless unless it renders).

    The plugin's ``EnvSpec`` gives the spaces; Godot simulates; the plugin's decoder turns raw
    state into observation and reward. Episodes end with ``terminated`` when the scene ends
    them (crash, goal) and ``truncated`` at ``spec.max_episode_steps``; call :meth:`reset`
    then, as Gymnasium requires.

    Args:
        spec: The env.
        options: Env options; scene options may also change at each ``reset(options=...)``.
        settings: How to run Godot.
        render_mode: ``None`` (headless), ``"human"`` (a Godot window at real time) or
            ``"rgb_array"`` (:meth:`render` returns frames); overrides
            ``settings.render_mode``.

    Attributes:
        metadata: ``render_modes`` and ``render_fps`` (one frame per decision:
            ``physics_hz / action_repeat``).

    Raises:
        InvalidOption: An unknown ``render_mode``.
        DisplayUnavailable: The render mode needs a display and there is none.
    """

    metadata: dict[str, Any] = CLASS_METADATA

    def __init__(
        self,
        spec: EnvSpec,
        options: Mapping[str, Any] | None = None,
        settings: LaunchSettings | None = None,
        render_mode: str | None = None,
    ) -> None:
        settings = with_render_mode(settings, render_mode)
        self.env_spec = spec
        self.render_mode = settings.render_mode
        self.metadata = render_metadata(spec)
        self.observation_space = spec.observation_space
        self.action_space = spec.action_space
        self.batch = EnvBatch(spec, 1, "next_step", options, settings)
        self._needs_reset = True
        self._seeded = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observations, dict[str, Any]]:
        """Start an episode; ``seed`` reseeds Godot's episode RNG of this instance."""
        super().reset(seed=seed)
        seeds = None
        if seed is not None or not self._seeded:
            seeds = derive_seeds(seed, 1, self.np_random)
            self._seeded = True
        obs = self.batch.reset(seeds, options)
        self._needs_reset = False
        return observation_rows(obs, 0), {}

    def step(self, action: Any) -> tuple[Observations, float, bool, bool, dict[str, Any]]:
        """Advance the instance by one decision (``spec.action_repeat`` physics ticks)."""
        if self._needs_reset:
            raise RLGodotError(
                f"{self.env_spec.id}: step() called before reset() or after the episode "
                "ended; call reset() first"
            )
        out = self.batch.step(np.asarray(action)[None])
        terminated, truncated = bool(out.terminated[0]), bool(out.truncated[0])
        info: dict[str, Any] = {}
        if terminated or truncated:
            self._needs_reset = True
            info = {key: values[0] for key, values in out.final_info.items()}
        observation = observation_rows(out.observations, 0)
        return observation, float(out.rewards[0]), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """The current state as an ``(H, W, 3)`` uint8 frame (``"rgb_array"``).

        Returns None for ``"human"`` (the Godot window shows the env by itself) and, with a
        warning, without a render mode.
        """
        if self.render_mode == "rgb_array":
            return self.batch.render()[0]
        if self.render_mode is None:
            warn_no_render_mode(self.env_spec)
        return None

    def close(self) -> None:
        """End the Godot process (idempotent)."""
        self.close_batch()
        super().close()
