"""Batched action sources: random actions for a whole batch in one numpy call."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


def random_actions(space: gym.Space, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random actions of ``space`` (Box or Discrete), one numpy call."""
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(space.start, space.start + space.n, size=n)
    if isinstance(space, gym.spaces.Box):
        low = np.broadcast_to(space.low, space.shape)
        high = np.broadcast_to(space.high, space.shape)
        return rng.uniform(low, high, size=(n, *space.shape)).astype(space.dtype)
    raise TypeError(f"random actions for {space} are not supported")
