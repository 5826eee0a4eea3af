"""Ball-to-target: push a ball across a walled 2D arena onto a target circle.

Top-down 2D arena (Godot physics, no gravity), 10 m x 10 m, walls on all sides. The ball
(radius 0.25 m, damped) starts at rest; the target is at least ``min_start_distance`` away.

Observation (``Box(-1, 1, (6,), float32)``, clipped):

| index | meaning | scale |
|---|---|---|
| 0, 1 | ball position x, y | / 5 m (arena half-size) |
| 2, 3 | ball velocity x, y | / 5 m/s |
| 4, 5 | target minus ball, x, y | / 10 m |

``ball-pixels-v0`` sees the arena instead, through a camera riding on the ball:
``Box(0, 255, (84, 84, 2), uint8)``, the last two 84 x 84 grayscale frames of a
``CameraSensor2D`` on the ball (``ball_pixels.tscn``: the ball scene plus the sensor), for
``CnnPolicy``. The frame is 18 m across (4.7 pixels per metre), so the target is in view
wherever it is; the ball (white, 255) stays at the centre, the target is a mid-grey (128) disc
on the black floor, the walls and what lies beyond them dark grey (64). The two frames show the
motion. Its dynamics, actions and reward are ``ball-v0``'s; the reward still comes from the raw
state. (A camera above the arena, framing it whole, learned far slower: the policy must then
find two small shapes and subtract their positions; from the ball, where the target lies is the
push.)

Actions: ``ball-v0``, ``ball-pixels-v0`` ``Box(-1, 1, (2,))``: force along x and y as a fraction
of ``max_force``. ``ball-discrete-v0`` ``Discrete(5)``: 0 no force, 1 +x, 2 -x, 3 +y, 4 -y
(full force).

Reward per step: ``progress_weight`` x (metres the ball got closer to the target), minus
``time_penalty``, plus ``success_bonus`` when it reaches the target.

Episode end: *terminated* when the ball's centre is within ``target_radius`` of the target
(``info["is_success"]`` is true); *truncated* after 200 steps (action repeat 4 at 60 Hz: 13.3 s).

Training (measured on 2 vCPUs, seed 0; shipped in ``models/``): ``rlgodot train --env ball``
(PPO, 100k steps, 16 instances) takes ~13 s and reaches 100 % success over 50 seeded eval
episodes (random: 0 %); ``rlgodot train --env ball-discrete --algo dqn`` (200k steps) ~30 s,
100 % (random: 2 %). ``rlgodot train --env ball-pixels --seed 0`` (PPO ``CnnPolicy`` with
``SmallCnn``, 64 features, 100k steps, 16 instances, ``n_steps`` 128, ``batch_size`` 256, 4
epochs) took 285 s of wall time (357 steps/s; the machine shared with other training runs, load
average about 4) and reaches 98 % success, mean return 5.77 over 50 seeded episodes
(``rlgodot eval --env ball-pixels --episodes 50``; ``--random``: 0 %, -1.79); the model is
1.8 MB.

Version history: v0 (initial).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlgodot.core.plugin import (
    Decoder,
    EnvSpec,
    ObservationTerms,
    Option,
    TrainDefaults,
    shipped_model,
)

HERE = Path(__file__).parent
STATE_NAMES = ("ball_x", "ball_y", "ball_vx", "ball_vy", "target_x", "target_y", "reached")
BX, BY, TX, TY, REACHED = (STATE_NAMES.index(name) for name in (
    "ball_x", "ball_y", "target_x", "target_y", "reached"))
ARENA_HALF_SIZE = 5.0
SPEED_SCALE = 5.0

# Positions, velocities and the target offset, scaled to [-1, 1] (the table above).
OBSERVATION = ObservationTerms(
    terms=(
        "ball_x / ARENA_HALF_SIZE",
        "ball_y / ARENA_HALF_SIZE",
        "ball_vx / SPEED_SCALE",
        "ball_vy / SPEED_SCALE",
        "(target_x - ball_x) / (2 * ARENA_HALF_SIZE)",
        "(target_y - ball_y) / (2 * ARENA_HALF_SIZE)",
    ),
    constants={"ARENA_HALF_SIZE": ARENA_HALF_SIZE, "SPEED_SCALE": SPEED_SCALE},
)


class BallDecoder(Decoder):
    """Raw ball state -> progress reward, for the whole batch (the observation is OBSERVATION)."""

    def rewards(
        self,
        prev_states: np.ndarray,
        states: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> np.ndarray:
        """Progress towards the target, a small time penalty, a bonus on reaching it."""
        progress = _distance(prev_states) - _distance(states)
        return (
            self.options["progress_weight"] * progress
            - self.options["time_penalty"]
            + self.options["success_bonus"] * states[:, REACHED]
        ).astype(np.float32)

    def final_info(self, terminal_states: np.ndarray) -> dict[str, np.ndarray]:
        """``is_success``: the episode ended on the target."""
        return {"is_success": terminal_states[:, REACHED] > 0.5}


class BallDiscreteDecoder(BallDecoder):
    """Same decoding; each of the 5 action indices maps to a force on the wire."""

    action_table = np.array(
        [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float32
    )


def _distance(states: np.ndarray) -> np.ndarray:
    return np.hypot(states[:, TX] - states[:, BX], states[:, TY] - states[:, BY])


OPTIONS = {
    "target_radius": Option(
        0.5, "metres from the target centre that count as reached", low=0.01, high=50.0),
    "min_start_distance": Option(
        3.0, "minimum metres between start and target", low=0.0, high=12.0),
    "max_force": Option(
        8.0, "force (newtons) of a full action; the ball has 1 kg mass", low=0.0, high=100.0),
    "progress_weight": Option(
        1.0, "reward per metre of progress", target="reward", low=0.0, high=10.0),
    "time_penalty": Option(
        0.01, "reward subtracted every step", target="reward", low=0.0, high=1.0),
    "success_bonus": Option(
        1.0, "reward for reaching the target", target="reward", low=0.0, high=100.0),
}

COMMON: dict[str, Any] = {
    "godot_dir": HERE / "godot",
    "mount": "ball",
    "scene": "ball.tscn",
    "state_names": STATE_NAMES,
    "action_size": 2,
    "observation_space": gym.spaces.Box(-1.0, 1.0, shape=(6,), dtype=np.float32),
    "observation": OBSERVATION,
    "max_episode_steps": 200,
    "action_repeat": 4,
    "physics_hz": 60,
    "options": OPTIONS,
    "success_key": "is_success",
}


BALL = EnvSpec(
    id="ball-v0",
    description="Push a ball onto a target in a 2D arena (continuous force).",
    action_space=gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
    make_decoder=BallDecoder,
    train={
        "ppo": TrainDefaults(
            total_timesteps=100_000,
            n_envs=16,
            hyperparameters={"n_steps": 256, "batch_size": 512, "n_epochs": 10,
                             "learning_rate": 3e-4, "gamma": 0.99},
        )
    },
    model=shipped_model(HERE / "models" / "ball-v0-ppo.zip"),
    **COMMON,
)

PIXELS_SHAPE = (84, 84, 2)  # the scene's CameraSensor2D: 84 x 84, grayscale, stack 2

BALL_PIXELS = EnvSpec(
    id="ball-pixels-v0",
    description="Push a ball onto a target, seen from above in 84x84 grayscale frames (CNN).",
    action_space=gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
    make_decoder=BallDecoder,
    train={
        "ppo": TrainDefaults(
            total_timesteps=100_000,
            n_envs=16,
            hyperparameters={
                "n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": 3e-4,
                "gamma": 0.99,
                "policy_kwargs": {
                    "features_extractor_class": "rlgodot.core.jobs.networks.SmallCnn",
                    "features_extractor_kwargs": {"features_dim": 64},
                },
            },
        )
    },
    model=shipped_model(HERE / "models" / "ball-pixels-v0-ppo.zip"),
    **{
        **COMMON,
        "scene": "ball_pixels.tscn",
        "observation_space": gym.spaces.Box(0, 255, shape=PIXELS_SHAPE, dtype=np.uint8),
        "observation": None,
    },
)

BALL_DISCRETE = EnvSpec(
    id="ball-discrete-v0",
    description="Push a ball onto a target in a 2D arena (5 discrete pushes, for DQN).",
    action_space=gym.spaces.Discrete(5),
    make_decoder=BallDiscreteDecoder,
    train={
        "dqn": TrainDefaults(
            total_timesteps=200_000,
            n_envs=8,
            hyperparameters={"learning_rate": 1e-3, "buffer_size": 50_000,
                             "learning_starts": 1_000, "train_freq": 4, "gradient_steps": 2,
                             "target_update_interval": 1_000, "exploration_fraction": 0.2},
        ),
        "ppo": TrainDefaults(total_timesteps=100_000, n_envs=16),
    },
    model=shipped_model(HERE / "models" / "ball-discrete-v0-dqn.zip"),
    **COMMON,
)
