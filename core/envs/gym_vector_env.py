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

from rlgodot.core.envs.batch import BatchBacked, EnvBatch
from rlgodot.core.envs.seeding import derive_seeds, normalise_seeds
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

    Infos follow Gymnasium's vector convention: for each key, an array over instances plus a
    boolean ``_key`` mask; the plugin's per-episode entries (``is_success``) are set on the step
    whose episode ended.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        spec: EnvSpec,
        num_envs: int = 1,
        options: Mapping[str, Any] | None = None,
        settings: LaunchSettings | None = None,
    ) -> None:
        self.env_spec = spec
        self.num_envs = num_envs
        self.single_observation_space = spec.observation_space
        self.single_action_space = spec.action_space
        self.observation_space = batch_space(spec.observation_space, num_envs)
        self.action_space = batch_space(spec.action_space, num_envs)
        self.render_mode = None
        self.batch = EnvBatch(spec, num_envs, "next_step", options, settings)
        self._seeded = False

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all instances (or those in ``options["reset_mask"]``).

        ``seed`` is an int (instance i gets ``seed + i``), a list of per-instance seeds (``None``
        entries keep their stream) or ``None`` (random on the first reset, else keep streams).
        """
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        indices = None
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.num_envs,):
                raise InvalidOption(f"reset_mask must have shape ({self.num_envs},)")
            indices = np.flatnonzero(mask).tolist()
        count = self.num_envs if indices is None else len(indices)
        seeds = self._seeds(seed, count)
        obs = self.batch.reset(seeds, options or None, indices)
        if indices is None:
            return obs, {}
        full = np.zeros((self.num_envs, *self.single_observation_space.shape), dtype=np.float32)
        full[indices] = obs
        return full, {}

    def _seeds(self, seed: int | Sequence[int | None] | None, count: int) -> list[int] | None:
        if seed is None:
            if self._seeded:
                return None
            self._seeded = True
            return derive_seeds(None, count)
        self._seeded = True
        if isinstance(seed, int | np.integer):
            return derive_seeds(int(seed), count)
        seeds = list(seed)
        if len(seeds) != count:
            raise InvalidOption(f"expected {count} seeds, got {len(seeds)}")
        return normalise_seeds(seeds, np.random.default_rng())

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
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

    def close_extras(self, **kwargs: Any) -> None:
        """End the Godot processes (idempotent)."""
        self.close_batch()
