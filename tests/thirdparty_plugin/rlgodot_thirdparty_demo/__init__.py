"""A third-party rlgodot plugin: a point drifting on a line, steered back to the middle.

Lives outside the rlgodot repo's plugins/ and imports only the public plugin API.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlgodot.core.plugin import Decoder, EnvSpec, Option, hookimpl


class DriftDecoder(Decoder):
    """Observation = (position, drift); reward = staying near 0."""

    def observations(self, states: np.ndarray) -> np.ndarray:
        return np.clip(states[:, :2], -1.0, 1.0).astype(np.float32)

    def rewards(self, prev_states, states, terminated, truncated) -> np.ndarray:
        return (1.0 - np.abs(states[:, 0])).astype(np.float32)


def _decoder(options: Mapping[str, Any]) -> Decoder:
    return DriftDecoder(options)


@hookimpl
def rlgodot_env_specs() -> list[EnvSpec]:
    return [
        EnvSpec(
            id="drift-v0",
            description="Keep a drifting point near the middle (third-party test plugin).",
            godot_dir=Path(__file__).parent / "godot",
            mount="drift",
            scene="drift.tscn",
            state_names=("position", "drift"),
            action_size=1,
            observation_space=gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
            action_space=gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32),
            make_decoder=_decoder,
            max_episode_steps=50,
            action_repeat=2,
            options={"drift_scale": Option(0.5, "drift speed per second", low=0.0, high=2.0)},
        )
    ]
