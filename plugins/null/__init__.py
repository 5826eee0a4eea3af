"""rlgodot plugin ``null``: the framework's own cost, measured like for like.

Fixed spec so that other tools can be compared against it:

| | |
|---|---|
| observation | ``Box(-1, 1, (8,), float32)``: cheap values that change every step |
| action | ``Box(-1, 1, (2,), float32)``, ignored |
| reward | 0 |
| episode | 1000 decisions, then truncated (never terminated) |
| stepping | action repeat 8, physics at 60 Hz, no physics bodies |

Version history: v0 (initial).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlgodot.core.plugin import Decoder, EnvSpec, hookimpl

STATE_NAMES = tuple(f"signal_{k}" for k in range(8))


class NullDecoder(Decoder):
    """The raw state is the observation; the reward is always 0."""

    def observations(self, states: np.ndarray) -> np.ndarray:
        """The 8 signals, already in [-1, 1]."""
        return states

    def rewards(
        self,
        prev_states: np.ndarray,
        states: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> np.ndarray:
        """Always 0."""
        return np.zeros(states.shape[0], dtype=np.float32)


def _decoder(options: Mapping[str, Any]) -> Decoder:
    return NullDecoder(options)


NULL = EnvSpec(
    id="null-v0",
    description="Does nothing, fast: measures rlgodot's own overhead (Box(8) obs, Box(2) act).",
    godot_dir=Path(__file__).parent / "godot",
    mount="null",
    scene="null.tscn",
    state_names=STATE_NAMES,
    action_size=2,
    observation_space=gym.spaces.Box(-1.0, 1.0, shape=(8,), dtype=np.float32),
    action_space=gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
    make_decoder=_decoder,
    max_episode_steps=1000,
    action_repeat=8,
    physics_hz=60,
)


@hookimpl
def rlgodot_env_specs() -> list[EnvSpec]:
    """The null env."""
    return [NULL]
