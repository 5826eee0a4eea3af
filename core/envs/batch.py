"""A batch of N env instances in Godot, decoded: the engine room of every env class.

:class:`EnvBatch` owns one :class:`~rlgodot.core.runtime.session.GodotSession` and the plugin's
:class:`~rlgodot.core.plugin.decoder.Decoder`. It validates actions, encodes them, steps all
instances at once and decodes the raw states with whole-batch numpy calls. The Gymnasium ``Env``,
SB3 ``VecEnv`` and Gymnasium ``VectorEnv`` classes are thin adapters over it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlgodot.core.envs.launch import launch_async_session, launch_session
from rlgodot.core.envs.options import split_options
from rlgodot.core.errors import InvalidAction, InvalidOption, PluginError
from rlgodot.core.plugin.decoder import Decoder
from rlgodot.core.plugin.spec import IMAGE_KEY, VECTOR_KEY, EnvSpec
from rlgodot.core.runtime.protocol.messages import (
    RESET,
    TERMINATED,
    TRUNCATED,
    Autoreset,
    StepBatch,
)
from rlgodot.core.runtime.session import AsyncGodotSession, GodotSession
from rlgodot.core.runtime.settings import LaunchSettings

Observations = np.ndarray | dict[str, np.ndarray]
"""A batch of observations: an array ``(n, *shape)``, or for a ``Dict`` space one per key."""


def observation_rows(observations: Observations, rows: Any) -> Observations:
    """``observations[rows]``, key by key for a ``Dict`` observation (rows: an index or mask)."""
    if isinstance(observations, dict):
        return {key: values[rows] for key, values in observations.items()}
    return observations[rows]


def empty_observations(space: gym.Space[Any], n: int) -> Observations:
    """An uninitialised batch of ``n`` observations of ``space`` (a ``Box`` or ``Dict``)."""
    if isinstance(space, gym.spaces.Dict):
        return {key: np.empty((n, *sub.shape), sub.dtype) for key, sub in space.spaces.items()}
    return np.empty((n, *space.shape), space.dtype)


def set_observation_rows(target: Observations, rows: Any, values: Observations) -> None:
    """``target[rows] = values``, key by key for a ``Dict`` observation."""
    if isinstance(target, dict):
        assert isinstance(values, dict)
        for key, array in target.items():
            array[rows] = values[key]
    else:
        target[rows] = values


@dataclass
class StepOutcome:
    """One decoded step of all N instances.

    Attributes:
        observations: ``(n, *obs_shape)``; for same-step autoreset the new episodes' first
            observations where an episode ended.
        rewards: ``(n,)`` float32 (0 on next-step reset rows).
        terminated: ``(n,)`` bool.
        truncated: ``(n,)`` bool.
        reset_rows: ``(n,)`` bool; next-step mode: the row is a new episode's first state.
        ended: indices of the instances whose episode ended in this step.
        final_observations: ``(len(ended), *obs_shape)`` terminal observations.
        final_info: decoder's per-episode entries for ``ended``, arrays of ``len(ended)``.
    """

    observations: Observations
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    reset_rows: np.ndarray
    ended: np.ndarray
    final_observations: Observations
    final_info: dict[str, np.ndarray]


class BatchTranslator:
    """Between the agent and the wire for N instances of one env; no I/O.

    Encodes agent actions into wire actions and decodes Godot's raw replies into observations,
    rewards and episode ends with the plugin's decoder, keeping the previous states that
    rewards need. An env whose observation has an image takes it from the scene's camera
    (the reply's images), alone or beside the decoder's vector in a ``Dict``.
    :class:`EnvBatch` (blocking) and :class:`AsyncEnvBatch` (asyncio) add the Godot session.

    Args:
        spec: The env.
        n_envs: Instances.
        autoreset: ``"same_step"`` (SB3) or ``"next_step"`` (Gymnasium 1.x vector envs).
        options: Env options (scene and reward), validated against ``spec.options``.

    Attributes:
        scene_options: The given scene options (sent at hello; defaults are the spec's).
    """

    def __init__(
        self,
        spec: EnvSpec,
        n_envs: int,
        autoreset: Autoreset,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if n_envs < 1:
            raise InvalidOption(f"n_envs must be >= 1, got {n_envs}")
        self.spec = spec
        self.n_envs = n_envs
        self.autoreset = autoreset
        self.scene_options, reward_options = split_options(spec, options)
        self.decoder: Decoder = spec.create_decoder(reward_options)
        if isinstance(spec.action_space, gym.spaces.Discrete) and self.decoder.action_table is None:
            raise PluginError(f"{spec.id}: a Discrete action space needs Decoder.action_table")
        self._prev_states = np.zeros((n_envs, len(spec.state_names)), dtype=np.float32)
        self._image_only = spec.vector_space is None
        self._last_images: np.ndarray | None = None
        if spec.image_space is not None:
            self._last_images = np.zeros((n_envs, *spec.image_shape), dtype=np.uint8)
        self._no_observations = empty_observations(spec.observation_space, 0)

    def observations(self, states: np.ndarray, images: np.ndarray | None) -> Observations:
        """The observations of raw ``states`` and camera ``images`` (None without a camera)."""
        if images is None:
            return self.decoder.observations(states)
        if self._image_only:
            return images
        return {IMAGE_KEY: images, VECTOR_KEY: self.decoder.observations(states)}

    def reset_options(self, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """Check the scene options of one reset (reward options cannot change per reset)."""
        if options is None:
            return None
        return split_options(self.spec, options, allow_reward=False)[0]

    def decode_reset(self, batch: StepBatch, indices: Sequence[int] | None) -> Observations:
        """The first observations of the instances a reset returned (``indices``, or all)."""
        rows = slice(None) if indices is None else np.asarray(indices, dtype=np.int64)
        self._prev_states[rows] = batch.states
        if self._last_images is not None:
            self._last_images[rows] = batch.images
        return self.observations(batch.states, batch.images)

    def encode(self, actions: Any) -> np.ndarray:
        """Check a batch of agent actions against the action space and encode it for the wire.

        Raises:
            InvalidAction: Wrong shape or type (complex numbers included) or an out-of-range
                index. Non-finite values are refused by the transport when the step is sent.
        """
        space = self.spec.action_space
        actions = np.asarray(actions)
        if isinstance(space, gym.spaces.Discrete):
            actions = (
                actions.reshape(-1) if actions.ndim == 2 and actions.shape[1] == 1 else actions
            )
            if actions.shape != (self.n_envs,) or not np.issubdtype(actions.dtype, np.integer):
                raise InvalidAction(
                    f"{self.spec.id} expects {self.n_envs} integer actions, shape "
                    f"({self.n_envs},), got shape {actions.shape} dtype {actions.dtype}"
                )
            low, high = int(space.start), int(space.start + space.n - 1)
            if actions.min() < low or actions.max() > high:
                raise InvalidAction(
                    f"{self.spec.id}: action indices must be in [{low}, {high}], got "
                    f"min {actions.min()} max {actions.max()}"
                )
            wire = self.decoder.encode_actions(actions - space.start)
        else:
            expected = (self.n_envs, *space.shape)
            real = np.issubdtype(actions.dtype, np.floating) or np.issubdtype(
                actions.dtype, np.integer
            )
            if actions.shape != expected or not real:
                raise InvalidAction(
                    f"{self.spec.id} expects a batch of real numbers of shape {expected}, got "
                    f"shape {actions.shape} dtype {actions.dtype}"
                )
            # NaN survives the clip; the transport's one finiteness check names the rows.
            wire = self.decoder.encode_actions(np.clip(actions, space.low, space.high))
        return np.ascontiguousarray(wire, dtype=np.float32)

    def decode_step(self, batch: StepBatch) -> StepOutcome:
        """Decode the reply of a step of all instances."""
        status = batch.status
        terminated = (status & TERMINATED) != 0
        truncated = (status & TRUNCATED) != 0
        reset_rows = (status & RESET) != 0
        states = batch.states
        if self.autoreset == "same_step":
            ended = np.asarray(batch.terminal_indices, dtype=np.int64)
            final_states = batch.terminal_states
            final_images = batch.terminal_images
            outcome_states = states
            if len(ended):
                outcome_states = states.copy()
                outcome_states[ended] = final_states
        else:
            ended = np.flatnonzero(terminated | truncated)
            final_states = states[ended]
            final_images = None if batch.images is None else batch.images[ended]
            outcome_states = states
        rewards = np.asarray(
            self.decoder.rewards(self._prev_states, outcome_states, terminated, truncated),
            dtype=np.float32,
        )
        if reset_rows.any():
            rewards[reset_rows] = 0.0
        self._prev_states[:] = states
        if self._last_images is not None:
            self._last_images[:] = batch.images
        if len(ended):
            final_observations = self.observations(final_states, final_images)
            final_info = self.decoder.final_info(final_states)
        else:
            final_observations = self._no_observations
            final_info = {}
        return StepOutcome(
            observations=self.observations(states, batch.images),
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            reset_rows=reset_rows,
            ended=ended,
            final_observations=final_observations,
            final_info=final_info,
        )


class EnvBatch(BatchTranslator):
    """N instances of one env in one or more Godot processes, stepped by blocking calls.

    Args:
        spec: The env.
        n_envs: Instances.
        autoreset: ``"same_step"`` (SB3) or ``"next_step"`` (Gymnasium 1.x vector envs).
        options: Env options (scene and reward), validated against ``spec.options``.
        settings: How to run Godot.

    Attributes:
        session: The Godot processes and their connections.
    """

    def __init__(
        self,
        spec: EnvSpec,
        n_envs: int,
        autoreset: Autoreset,
        options: Mapping[str, Any] | None = None,
        settings: LaunchSettings | None = None,
    ) -> None:
        super().__init__(spec, n_envs, autoreset, options)
        self.settings = settings or LaunchSettings()
        self.session: GodotSession = launch_session(
            spec, n_envs, autoreset, self.scene_options, self.settings
        )

    def relaunch(self) -> None:
        """Replace the session by a new one with the same settings (after a crash or hang).

        The old processes are ended first (a hung one is killed); reset every instance next.
        """
        self.session.close(timeout=0.5)
        self.session = launch_session(
            self.spec, self.n_envs, self.autoreset, self.scene_options, self.settings
        )

    def last_observations(self) -> Observations:
        """The observations of the states last seen (the latest step or reset), all instances."""
        images = None if self._last_images is None else self._last_images.copy()
        return self.observations(self._prev_states.copy(), images)

    def last_final_info(self) -> dict[str, np.ndarray]:
        """The decoder's per-episode entries as if every episode ended at its last state."""
        return self.decoder.final_info(self._prev_states.copy())

    def reset(
        self,
        seeds: Sequence[int] | None = None,
        options: Mapping[str, Any] | None = None,
        indices: Sequence[int] | None = None,
    ) -> Observations:
        """Reset all instances (or ``indices``) and return their first observations."""
        batch = self.session.reset(seeds, self.reset_options(options), indices)
        return self.decode_reset(batch, indices)

    def step(self, actions: Any) -> StepOutcome:
        """Step all instances with a batch of agent actions and decode the result."""
        return self.decode_step(self.session.step(self.encode(actions)))

    def act(self) -> StepOutcome:
        """Step all instances with the in-engine policy (``settings.policy``), decoded as a step.

        Raises:
            RemoteError: ``not_ready``: the batch was launched without ``settings.policy``.
        """
        return self.decode_step(self.session.act())

    def render(self) -> np.ndarray:
        """Frames of every instance's current state: ``(n, H, W, 3)`` uint8 RGB.

        Raises:
            RLGodotError: The batch was launched without ``settings.render_mode``.
        """
        return self.session.render()

    def caption(self, texts: Sequence[str]) -> None:
        """Show ``texts[i]`` in instance i's HUD, under its readout (``""`` clears it).

        Raises:
            RLGodotError: The batch was launched without ``settings.render_mode``.
            InvalidOption: Not one string per instance.
        """
        self.session.caption(texts)

    def close(self) -> None:
        """End the Godot processes (idempotent)."""
        session = getattr(self, "session", None)
        if session is not None:
            session.close()


class AsyncEnvBatch(BatchTranslator):
    """N instances of one env for asyncio code: ``await reset()``, ``await step()``.

    Create it with :meth:`launch`; it is an async context manager. Decoding is the same as
    :class:`EnvBatch`'s (same-step or next-step autoreset, terminal observations, final info).

    Attributes:
        session: The Godot processes and their connections.
    """

    session: AsyncGodotSession

    @classmethod
    async def launch(
        cls,
        spec: EnvSpec,
        n_envs: int,
        autoreset: Autoreset = "next_step",
        options: Mapping[str, Any] | None = None,
        settings: LaunchSettings | None = None,
    ) -> AsyncEnvBatch:
        """Start Godot for ``n_envs`` instances of ``spec`` (arguments as :class:`EnvBatch`)."""
        batch = cls(spec, n_envs, autoreset, options)
        batch.session = await launch_async_session(
            spec, n_envs, autoreset, batch.scene_options, settings or LaunchSettings()
        )
        return batch

    async def reset(
        self,
        seeds: Sequence[int] | None = None,
        options: Mapping[str, Any] | None = None,
        indices: Sequence[int] | None = None,
    ) -> Observations:
        """Reset all instances (or ``indices``) and return their first observations."""
        batch = await self.session.reset(seeds, self.reset_options(options), indices)
        return self.decode_reset(batch, indices)

    async def step(self, actions: Any) -> StepOutcome:
        """Step all instances with a batch of agent actions and decode the result."""
        return self.decode_step(await self.session.step(self.encode(actions)))

    async def act(self) -> StepOutcome:
        """Step all instances with the in-engine policy (see :meth:`EnvBatch.act`)."""
        return self.decode_step(await self.session.act())

    async def render(self) -> np.ndarray:
        """Frames of every instance's current state (see :meth:`EnvBatch.render`)."""
        return await self.session.render()

    async def caption(self, texts: Sequence[str]) -> None:
        """One HUD line per instance (see :meth:`EnvBatch.caption`)."""
        await self.session.caption(texts)

    async def close(self) -> None:
        """End the Godot processes (idempotent)."""
        await self.session.close()

    async def __aenter__(self) -> AsyncEnvBatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class BatchBacked:
    """What the three env adapters share: the :class:`EnvBatch` they are a view of.

    Attributes:
        batch: The instances in Godot; ``batch.session`` runs the processes.
    """

    batch: EnvBatch

    @property
    def decoder(self) -> Decoder:
        """The plugin's decoder (for its options and helpers)."""
        return self.batch.decoder

    @property
    def session(self) -> GodotSession:
        """The Godot processes and their connections (pids, in-engine bench, ping)."""
        return self.batch.session

    def close_batch(self) -> None:
        """End the Godot processes (idempotent; safe on a half-built env)."""
        batch = getattr(self, "batch", None)
        if batch is not None:
            batch.close()
