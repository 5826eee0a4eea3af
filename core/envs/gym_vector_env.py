"""Gymnasium 1.x ``VectorEnv`` over N Godot instances, natively batched (next-step autoreset).

Any Gymnasium-vector client can use it (``gymnasium.make_vec("rlgodot/ball-v0", num_envs=8)``);
RLlib's ``vector_entry_point`` mode builds one per EnvRunner. Autoreset happens inside Godot in
Gymnasium's NEXT_STEP mode: the step that ends an episode returns its terminal observation; the
next step resets that instance (its action ignored, reward 0) and returns the first observation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rlgodot.core.envs.batch import BatchBacked, EnvBatch, Observations, set_observation_rows
from rlgodot.core.envs.rendering import (
    CLASS_METADATA,
    render_metadata,
    warn_no_render_mode,
    with_render_mode,
)
from rlgodot.core.envs.seeding import derive_seeds
from rlgodot.core.errors import InvalidOption
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.settings import LaunchSettings


class GodotVectorEnv(BatchBacked, VectorEnv):
    """``num_envs`` instances of one env, stepped together in one or more Godot processes.

    Args:
        spec: The env.
        num_envs: Instances.
        options: Env options (scene options may change per ``reset(options=...)``).
        settings: How to run Godot (``n_procs`` processes, timeouts, pinning).
        render_mode: ``None`` (headless), ``"human"`` (one Godot window showing every
            instance at real time) or ``"rgb_array"`` (:meth:`render` returns one frame per
            instance); overrides ``settings.render_mode``.

    Infos follow Gymnasium's vector convention: for each key, an array over instances plus a
    boolean ``_key`` mask; the plugin's per-episode entries (``is_success``) are set on the step
    whose episode ended.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, **CLASS_METADATA}

    def __init__(
        self,
        spec: EnvSpec,
        num_envs: int = 1,
        options: Mapping[str, Any] | None = None,
        settings: LaunchSettings | None = None,
        render_mode: str | None = None,
    ) -> None:
        settings = with_render_mode(settings, render_mode)
        self.env_spec = spec
        self.num_envs = num_envs
        self.single_observation_space = spec.observation_space
        self.single_action_space = spec.action_space
        self.observation_space = batch_space(spec.observation_space, num_envs)
        self.action_space = batch_space(spec.action_space, num_envs)
        self.render_mode = settings.render_mode
        self.metadata = {**type(self).metadata, **render_metadata(spec)}
        self.batch = EnvBatch(spec, num_envs, "next_step", options, settings)
        self._seeded = np.zeros(num_envs, dtype=bool)

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Observations, dict[str, Any]]:
        """Reset all instances (or those in ``options["reset_mask"]``), as Gymnasium does.

        ``seed`` is an int (instance i gets ``seed + i``, masked or not), a list of ``num_envs``
        per-instance seeds or ``None``. A ``None`` seed (the whole argument or an entry) keeps
        that instance's seed stream going; an instance never seeded gets a random seed. Rows
        outside ``reset_mask`` keep their last observations.

        Raises:
            InvalidOption: A mask of the wrong shape or without any True entry (Gymnasium's
                ``SyncVectorEnv`` refuses that too), or a seed list of the wrong length.
        """
        options = dict(options or {})
        rows = self._mask_rows(options.pop("reset_mask", None))
        seeds = self._row_seeds(seed)
        scene_options = options or None
        seeded = [i for i in rows if seeds[i] is not None]
        kept = [i for i in rows if seeds[i] is None]
        obs = self.batch.last_observations()  # the rows outside the mask keep these
        if seeded:  # the wire has one seeds list per reset: seeded and kept rows go separately
            first = self.batch.reset(
                [seeds[i] for i in seeded], scene_options, self._wire_indices(seeded)
            )
            set_observation_rows(obs, seeded, first)
            self._seeded[seeded] = True
        if kept:
            first = self.batch.reset(None, scene_options, self._wire_indices(kept))
            set_observation_rows(obs, kept, first)
        return obs, {}

    def _mask_rows(self, mask: Any) -> list[int]:
        """The rows a reset covers: all, or the True entries of ``reset_mask``."""
        if mask is None:
            return list(range(self.num_envs))
        mask = np.asarray(mask)
        if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
            raise InvalidOption(
                f"reset_mask must be a bool array of shape ({self.num_envs},), got shape "
                f"{mask.shape} dtype {mask.dtype}"
            )
        if not mask.any():
            raise InvalidOption("reset_mask has no True entry: leave out the reset or mask a row")
        return np.flatnonzero(mask).tolist()

    def _wire_indices(self, rows: list[int]) -> list[int] | None:
        return None if len(rows) == self.num_envs else rows

    def _row_seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        """One seed per row (``None``: keep its stream); rows never seeded get a random one."""
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, int | np.integer):
            seeds = list(derive_seeds(int(seed), self.num_envs))
        else:
            seeds = [None if s is None else int(s) for s in seed]
            if len(seeds) != self.num_envs:
                raise InvalidOption(
                    f"expected a seed list of num_envs={self.num_envs} entries (None keeps an "
                    f"instance's stream), got {len(seeds)}"
                )
        rng = np.random.default_rng()
        return [
            int(rng.integers(0, 2**62)) if s is None and not self._seeded[i] else s
            for i, s in enumerate(seeds)
        ]

    def step(
        self, actions: Any
    ) -> tuple[Observations, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step all instances; rows reset by the next-step autoreset report reward 0."""
        out = self.batch.step(actions)
        infos: dict[str, Any] = {}
        if len(out.ended):
            for key, values in out.final_info.items():
                column = np.zeros(self.num_envs, dtype=np.asarray(values).dtype)
                column[out.ended] = values
                mask = np.zeros(self.num_envs, dtype=bool)
                mask[out.ended] = True
                infos[key] = column
                infos[f"_{key}"] = mask
        return out.observations, out.rewards, out.terminated, out.truncated, infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        """One ``(H, W, 3)`` uint8 frame of the current state per instance (``"rgb_array"``).

        Returns None for ``"human"`` (the Godot window shows every instance by itself) and,
        with a warning, without a render mode.
        """
        if self.render_mode == "rgb_array":
            return tuple(self.batch.render())
        if self.render_mode is None:
            warn_no_render_mode(self.env_spec)
        return None

    def close_extras(self, **kwargs: Any) -> None:
        """End the Godot processes (idempotent)."""
        self.close_batch()
