"""The example plugin's own behaviour in Godot: every discrete action does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from rlgodot.core.envs.factory import make_env

pytestmark = pytest.mark.godot

# action index -> expected sign of (vx, vy) after a short push from rest
EXPECTED = {0: (0, 0), 1: (1, 0), 2: (-1, 0), 3: (0, 1), 4: (0, -1)}


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_each_discrete_action_pushes_its_way(godot_binary, action):
    env = make_env("ball-discrete", options={"target_radius": 0.01})
    try:
        obs, _ = env.reset(seed=21)
        assert np.all(obs[2:4] == 0.0), "the ball starts at rest"
        for _ in range(3):
            obs, _, terminated, truncated, _ = env.step(action)
            assert not (terminated or truncated)
    finally:
        env.close()
    velocity = obs[2:4]
    for axis, sign in enumerate(EXPECTED[action]):
        if sign == 0:
            assert abs(velocity[axis]) < 1e-3, f"action {action} moved axis {axis}: {velocity}"
        else:
            assert np.sign(velocity[axis]) == sign and abs(velocity[axis]) > 0.05, velocity


def test_continuous_action_is_a_force(godot_binary):
    env = make_env("ball", options={"target_radius": 0.01})
    try:
        env.reset(seed=5)
        obs, *_ = env.step(np.array([1.0, -0.5], dtype=np.float32))
        env.reset(seed=5)
        weak, *_ = env.step(np.array([0.5, -0.25], dtype=np.float32))
    finally:
        env.close()
    assert obs[2] > 0 > obs[3]
    assert obs[2] > weak[2] > 0


def test_reaching_the_target_pays_the_bonus(godot_binary):
    env = make_env("ball", options={"target_radius": 50.0})
    try:
        env.reset(seed=0)
        _, reward, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
    finally:
        env.close()
    assert terminated and not truncated and info["is_success"]
    assert reward == pytest.approx(1.0 - 0.01, abs=1e-3)
