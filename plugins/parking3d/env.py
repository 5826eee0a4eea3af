"""Parking 3D: drive a hatchback (VehicleBody3D, 4 wheels) into a target bay of a car park.

Car park (metres, y up): an aisle 8 m wide along x, one row of 8 bays (3.0 m wide, 5.5 m deep)
on each side (bays 0-7 north, 8-15 south), walls at z = +-10 and x = +-14. Each other bay holds a
parked car (a box) with probability ``occupancy``. The car: ``car_width`` x ``car_length`` m
(1.7 x 3.9), 1000 kg, front steering (max 0.6 rad, turning radius ~3.7 m), front-wheel drive,
brakes, speed limited to ``max_speed``.

Per episode, from the seed: the target bay (random, or ``target_bay``), the occupied bays, the
start pose in the aisle. Near the bay: x = target bay x + U(-start_dx, start_dx), z =
U(-start_dz, start_dz) (aisle centre line z = 0, the bay centre is 6.75 m away), heading = facing
into the target bay + U(-start_heading_range, start_heading_range) degrees (3 m, 1 m, 45 deg by
default: the car arrives roughly facing its bay). In a ``start_anywhere`` share of episodes: x
anywhere along the aisle (within 2.5 m of the end walls), any heading. In a ``start_in_bay``
share (a training curriculum): in or half in the bay, nose or tail first, up to 25 deg askew.
``start_pose=[x, z, heading_deg]`` places the car exactly (heading 0 = facing +z, 90 = facing
+x); ``start_speed`` gives it a forward speed.

Versions (``rlgodot list-envs --env ID`` shows one's options and defaults):

| | ``parking3d-v1`` (newest) | ``parking3d-v0`` |
|---|---|---|
| actions (``-discrete-vN``: 7) | 35 levels (``-continuous-v1``: continuous) | continuous |
| start | anywhere in the aisle, any heading (``start_anywhere=1``) | near the bay, facing it |
| car | 4.0 x 1.8 m | 3.9 x 1.7 m |
| success bonus / collision / time penalty | 30 / 10 / 0.03 | 10 / 5 / 0.01 |
| ``lateral_weight`` | 2 | 1 |
| episode | 300 steps (30 s) | 200 steps (20 s) |
| default training | a mix of starts (``TRAINING_OPTIONS_V1``), 10M steps | the defaults, 4M |

Observation (``Box(-1, 1, (23,), float32)``, clipped):

| index | meaning | scale |
|---|---|---|
| 0, 1 | target bay centre in the car frame (right, forward) | / 15 m |
| 2 | distance to the bay centre | / 15 m |
| 3, 4 | cos, sin of the bay axis heading relative to the car heading | 1 |
| 5 | heading error (folded: either direction counts when ``allow_reverse``) | / pi |
| 6, 7 | forward, lateral speed | / 5 m/s |
| 8 | yaw rate | / 2 rad/s |
| 9 | steering command | 1 |
| 10 | how far the footprint sticks out of the bay (0 = inside) | / 3 m |
| 11-22 | distance rays to cars and walls, 30 deg apart clockwise from ahead | / 8 m (1 = none) |

Actions: the scene takes a throttle (negative = reverse; |throttle| < 0.1, or a sign opposing the
motion, brakes) and a steering command (+1 = full right), each in [-1, 1].
``parking3d-v1`` ``Discrete(35)``: index 7 x throttle level + steering level; throttle levels
-1, -0.4, 0 (brake), 0.4, 1; steering levels -1 .. 1 in steps of 1/3 (``LEVELS_TABLE``).
``parking3d-v0`` and ``parking3d-continuous-v1`` ``Box(-1, 1, (2,))``: throttle, steering.
``parking3d-discrete-vN`` ``Discrete(7)``: 0 brake, 1 forward, 2 forward-left, 3 forward-right,
4 reverse, 5 reverse-left, 6 reverse-right (throttle 0.6, full steering).

Reward per step: ``progress_weight`` x (decrease of the potential ``hypot(axial, lateral_weight x
lateral) + (heading_weight x heading_error + footprint_weight x footprint_out) x max(0, 1 -
distance / 6 m)``; axial/lateral: the car centre's offset from the bay centre along/across the bay
axis, metres) minus ``time_penalty``, minus ``collision_penalty`` on a collision, plus
``success_bonus`` on parking.

Episode end: *terminated* when parked (all four footprint corners inside the bay, heading within
``heading_tolerance`` of the bay axis, either direction when ``allow_reverse``, speed <
``max_park_speed``; ``info["is_success"]``), or on a collision with a parked car or wall when
``end_on_collision`` (``info["collided"]``); *truncated* after 200 steps, 300 in v1 (action
repeat 6 at 60 Hz: 20 s, 30 s).

Version history: v0 (initial); v1 (start anywhere in the aisle, any heading; a 4.0 x 1.8 m
hatchback; success bonus 30, collision penalty 10, time penalty 0.03, lateral weight 2; 30 s;
training mixes in easier starts; 35 action levels, the continuous actions moved to
``parking3d-continuous-v1``).
"""

from __future__ import annotations

import dataclasses
import math
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
N_RAYS = 12
RAY_LENGTH = 8.0
STATE_NAMES = (
    "car_x", "car_z", "car_heading", "speed", "lateral_speed", "yaw_rate", "steering",
    "target_x", "target_z", "target_heading", "heading_error", "footprint_out", "parked",
    "collided", *(f"ray_{i}" for i in range(N_RAYS)),
)
CX, CZ, TX, TZ, TH, HERR, OUT, PARKED, COLLIDED = (STATE_NAMES.index(name) for name in (
    "car_x", "car_z", "target_x", "target_z", "target_heading", "heading_error", "footprint_out",
    "parked", "collided"))
POS_SCALE = 15.0
SPEED_SCALE = 5.0
YAW_SCALE = 2.0
OUT_SCALE = 3.0
OBS_LAYOUT = (
    "target_right", "target_forward", "distance", "cos_rel_heading", "sin_rel_heading",
    "heading_error", "speed", "lateral_speed", "yaw_rate", "steering", "footprint_out",
    *(f"ray_{i}" for i in range(N_RAYS)),
)


# Target in the car frame, motion, steering and rays, scaled to [-1, 1] (the table above).
# Car forward = (sin h, cos h), car right = (-cos h, sin h) in (x, z); dx, dz = target - car.
_DX, _DZ = "(target_x - car_x)", "(target_z - car_z)"
OBSERVATION = ObservationTerms(
    terms=(
        f"(-{_DX} * cos(car_heading) + {_DZ} * sin(car_heading)) / POS_SCALE",
        f"({_DX} * sin(car_heading) + {_DZ} * cos(car_heading)) / POS_SCALE",
        f"sqrt({_DX} * {_DX} + {_DZ} * {_DZ}) / POS_SCALE",
        "cos(target_heading - car_heading)",
        "sin(target_heading - car_heading)",
        "heading_error / pi",
        "speed / SPEED_SCALE",
        "lateral_speed / SPEED_SCALE",
        "yaw_rate / YAW_SCALE",
        "steering",
        "footprint_out / OUT_SCALE",
        *(f"ray_{i} / RAY_LENGTH" for i in range(N_RAYS)),
    ),
    constants={"POS_SCALE": POS_SCALE, "SPEED_SCALE": SPEED_SCALE, "YAW_SCALE": YAW_SCALE,
               "OUT_SCALE": OUT_SCALE, "RAY_LENGTH": RAY_LENGTH, "pi": math.pi},
)
OBS_SIZE = len(OBSERVATION.terms)


class ParkingDecoder(Decoder):
    """Raw car state -> a dense potential-based parking reward (the observation is OBSERVATION)."""

    def _potential(self, states: np.ndarray) -> np.ndarray:
        dx = states[:, CX] - states[:, TX]
        dz = states[:, CZ] - states[:, TZ]
        distance = np.hypot(dx, dz)
        # offsets in the bay frame: along the bay axis and across it (lateral weighs more)
        c, s = np.cos(states[:, TH]), np.sin(states[:, TH])
        axial = dx * s + dz * c
        lateral = dx * c - dz * s
        near = np.clip(1.0 - distance / 6.0, 0.0, 1.0)
        outside = np.minimum(states[:, OUT], OUT_SCALE)
        return -(np.hypot(axial, self.options["lateral_weight"] * lateral)
                 + self.options["heading_weight"] * states[:, HERR] * near
                 + self.options["footprint_weight"] * outside * near)

    def rewards(
        self,
        prev_states: np.ndarray,
        states: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> np.ndarray:
        """Potential progress, time penalty, collision penalty, success bonus."""
        progress = self._potential(states) - self._potential(prev_states)
        reward = (
            self.options["progress_weight"] * progress
            - self.options["time_penalty"]
            - self.options["collision_penalty"] * states[:, COLLIDED]
            + self.options["success_bonus"] * states[:, PARKED]
        )
        return np.nan_to_num(reward).astype(np.float32)

    def final_info(self, terminal_states: np.ndarray) -> dict[str, np.ndarray]:
        """``is_success``: parked; ``collided``: hit a parked car or a wall."""
        return {
            "is_success": terminal_states[:, PARKED] > 0.5,
            "collided": terminal_states[:, COLLIDED] > 0.5,
        }


# parking3d-v1's actions: 5 throttle levels (full and slow reverse, brake, slow and full forward) x
# 7 steering levels (full left to full right), index = 7 x throttle level + steering level. A
# categorical policy can pick forward or reverse where both work; a Gaussian one averaged the two
# into braking (plugin README, Results).
THROTTLE_LEVELS = (-1.0, -0.4, 0.0, 0.4, 1.0)
STEERING_LEVELS = (-1.0, -2.0 / 3.0, -1.0 / 3.0, 0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0)
LEVELS_TABLE = np.array(
    [[throttle, steering] for throttle in THROTTLE_LEVELS for steering in STEERING_LEVELS],
    dtype=np.float32,
)


class ParkingDiscreteDecoder(ParkingDecoder):
    """Same decoding; 7 action indices: brake, forward/reverse x straight/left/right."""

    action_table = np.array(
        [[0, 0], [0.6, 0], [0.6, -1], [0.6, 1], [-0.6, 0], [-0.6, -1], [-0.6, 1]],
        dtype=np.float32,
    )


class ParkingLevelsDecoder(ParkingDecoder):
    """Same decoding; 35 action indices: a throttle level x a steering level (``LEVELS_TABLE``)."""

    action_table = LEVELS_TABLE


OPTIONS = {
    "target_bay": Option(
        -1, "target bay 0-15 (0-7 north row, 8-15 south), -1 = random", low=-1, high=15),
    "occupancy": Option(
        0.5, "probability that each other bay holds a parked car", low=0.0, high=1.0),
    "start_dx": Option(
        3.0, "start x within +- this many metres of the target bay centre", low=0.0, high=10.0),
    "start_dz": Option(
        1.0, "start z within +- this many metres of the aisle centre line", low=0.0, high=3.0),
    "start_heading_range": Option(
        45.0, "start heading: facing into the bay +- this many degrees (90 = up to along the "
              "aisle, 180 = any)", low=0.0, high=180.0),
    "start_anywhere": Option(
        0.0, "share of episodes that start anywhere in the aisle (whole length, any heading)",
        low=0.0, high=1.0),
    "start_in_bay": Option(
        0.0, "share of episodes that start in or half in the bay (a training curriculum)",
        low=0.0, high=1.0),
    "start_pose": Option([], "[x, z, heading_deg]: place the car exactly (tests); [] = random"),
    "start_speed": Option(0.0, "initial forward speed, m/s (tests)", low=-10.0, high=10.0),
    "allow_reverse": Option(True, "parking nose-in or tail-in both count"),
    "heading_tolerance": Option(
        15.0, "max degrees between car and bay axis when parked", low=0.0, high=90.0),
    "max_park_speed": Option(0.5, "max speed (m/s) when parked", low=0.0, high=5.0),
    "end_on_collision": Option(True, "a collision with a parked car or wall ends the episode"),
    "max_engine_force": Option(
        2000.0, "engine force of full throttle, N (car mass 1000 kg)", low=0.0, high=10000.0),
    "brake_force": Option(30.0, "VehicleBody3D brake value when braking", low=0.0, high=1000.0),
    "max_speed": Option(4.0, "no engine force above this speed, m/s", low=0.1, high=30.0),
    "car_length": Option(
        3.9, "length of the car's body (collision box and footprint), m", low=3.5, high=4.5),
    "car_width": Option(
        1.7, "width of the car's body (collision box and footprint), m", low=1.5, high=2.0),
    "progress_weight": Option(1.0, "reward per metre (or heading-weighted radian) of progress",
                              target="reward", low=0.0, high=10.0),
    "heading_weight": Option(2.0, "potential metres per radian of heading error near the bay",
                             target="reward", low=0.0, high=10.0),
    "lateral_weight": Option(1.0, "weight of the offset across the bay axis in the distance term",
                             target="reward", low=0.0, high=10.0),
    "footprint_weight": Option(
        2.0, "potential per metre the footprint sticks out of the bay, near it",
        target="reward", low=0.0, high=10.0),
    "time_penalty": Option(
        0.01, "reward subtracted every step", target="reward", low=0.0, high=1.0),
    "collision_penalty": Option(
        5.0, "reward subtracted on a collision", target="reward", low=0.0, high=100.0),
    "success_bonus": Option(10.0, "reward for parking", target="reward", low=0.0, high=100.0),
}

# v1: the car starts anywhere in the aisle, facing any way; a real hatchback's size; 30 s to park.
# Reward: a larger success bonus and collision penalty; a time penalty that makes standing still
# for the whole episode (-9) cost about as much as a collision (a smaller one taught agents to
# stop short of a hard manoeuvre); the offset across the bay axis weighs double (agents lined up
# with the bay axis far from the bay and drove into the row).
OPTIONS_V1 = {**OPTIONS, **{
    name: dataclasses.replace(OPTIONS[name], default=default)
    for name, default in (("start_anywhere", 1.0), ("car_length", 4.0), ("car_width", 1.8),
                          ("success_bonus", 30.0), ("collision_penalty", 10.0),
                          ("time_penalty", 0.03), ("lateral_weight", 2.0))
}}
# Training on v1 mixes in easier starts: a quarter in or half in the bay, and of the others a third
# near the bay facing any way (the rest start anywhere, as v1 does).
TRAINING_OPTIONS_V1 = {"start_in_bay": 0.25, "start_anywhere": 0.67, "start_heading_range": 180.0}

COMMON: dict[str, Any] = {
    "godot_dir": HERE / "godot",
    "mount": "parking3d",
    "scene": "parking3d.tscn",
    "state_names": STATE_NAMES,
    "action_size": 2,
    "observation_space": gym.spaces.Box(-1.0, 1.0, shape=(OBS_SIZE,), dtype=np.float32),
    "observation": OBSERVATION,
    "action_repeat": 6,
    "physics_hz": 60,
    "project_settings": {"physics": {"3d/physics_engine": '"Jolt Physics"'}},
    "success_key": "is_success",
}
CONTINUOUS: dict[str, Any] = {
    "action_space": gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
    "make_decoder": ParkingDecoder,
}
DISCRETE: dict[str, Any] = {
    "action_space": gym.spaces.Discrete(7),
    "make_decoder": ParkingDiscreteDecoder,
}
LEVELS: dict[str, Any] = {
    "action_space": gym.spaces.Discrete(len(LEVELS_TABLE)),
    "make_decoder": ParkingLevelsDecoder,
}
V0: dict[str, Any] = {**COMMON, "max_episode_steps": 200, "options": OPTIONS}
V1: dict[str, Any] = {**COMMON, "max_episode_steps": 300, "options": OPTIONS_V1}


PARKING = EnvSpec(
    id="parking3d-v0",
    description="Park a 3D car (VehicleBody3D) in a target bay (continuous throttle/steering).",
    train={
        "ppo": TrainDefaults(
            total_timesteps=4_000_000,
            n_envs=32,
            hyperparameters={"n_steps": 128, "batch_size": 1024, "n_epochs": 5,
                             "learning_rate": 3e-4, "gamma": 0.99, "gae_lambda": 0.95,
                             "ent_coef": 0.0, "policy_kwargs": {"net_arch": [128, 128]}},
        )
    },
    model=shipped_model(HERE / "models" / "parking3d-v0-ppo.zip"),
    **V0,
    **CONTINUOUS,
)

DQN_HYPERPARAMETERS: dict[str, Any] = {
    "learning_rate": 5e-4, "buffer_size": 100_000, "learning_starts": 2_000, "train_freq": 4,
    "gradient_steps": 2, "target_update_interval": 2_000, "exploration_fraction": 0.2,
    "gamma": 0.99,
}

PARKING_DISCRETE = EnvSpec(
    id="parking3d-discrete-v0",
    description="Park a 3D car in a target bay (7 discrete actions, for DQN).",
    train={
        "dqn": TrainDefaults(
            total_timesteps=3_000_000,
            n_envs=16,
            hyperparameters=DQN_HYPERPARAMETERS,
        ),
        "ppo": TrainDefaults(total_timesteps=1_000_000, n_envs=32),
    },
    model=shipped_model(HERE / "models" / "parking3d-discrete-v0-dqn.zip"),
    **V0,
    **DISCRETE,
)

# PPO on v1, both action spaces: the learning rate falls linearly to 0 over the run (plugin
# README, Results: continuous actions parked in 70 % at 8M steps, 50 % with a constant 3e-4).
V1_PPO_HYPERPARAMETERS: dict[str, Any] = {
    "n_steps": 256, "batch_size": 2048, "n_epochs": 5, "learning_rate": "lin_4.5e-4",
    "gamma": 0.995, "gae_lambda": 0.95, "ent_coef": 0.005,
    "policy_kwargs": {"net_arch": [256, 256]},
}


def v1_ppo_training(total_timesteps: int) -> TrainDefaults:
    """PPO defaults of a v1 env: 64 instances in 2 processes, v1's mix of starts."""
    return TrainDefaults(total_timesteps=total_timesteps, n_envs=64, n_procs=2,
                         options=TRAINING_OPTIONS_V1, hyperparameters=V1_PPO_HYPERPARAMETERS)


PARKING_V1 = EnvSpec(
    id="parking3d-v1",
    description="Park a 3D hatchback in a target bay from anywhere in the aisle, facing any way "
                "(35 throttle x steering levels).",
    train={"ppo": v1_ppo_training(10_000_000)},
    model=shipped_model(HERE / "models" / "parking3d-v1-ppo.zip"),
    **V1,
    **LEVELS,
)

PARKING_CONTINUOUS_V1 = EnvSpec(
    id="parking3d-continuous-v1",
    description="Park a 3D hatchback from anywhere in the aisle (continuous throttle/steering).",
    train={"ppo": v1_ppo_training(11_000_000)},
    model=shipped_model(HERE / "models" / "parking3d-continuous-v1-ppo.zip"),
    **V1,
    **CONTINUOUS,
)

PARKING_DISCRETE_V1 = EnvSpec(
    id="parking3d-discrete-v1",
    description="Park a 3D hatchback from anywhere in the aisle (7 discrete actions, for DQN).",
    train={
        "dqn": TrainDefaults(
            total_timesteps=3_000_000,
            n_envs=16,
            options=TRAINING_OPTIONS_V1,
            # v1's episodes are longer: a longer horizon and a larger buffer
            hyperparameters={**DQN_HYPERPARAMETERS, "buffer_size": 200_000, "gamma": 0.995},
        ),
        "ppo": TrainDefaults(total_timesteps=1_000_000, n_envs=32, options=TRAINING_OPTIONS_V1),
    },
    model=shipped_model(HERE / "models" / "parking3d-discrete-v1-dqn.zip"),
    **V1,
    **DISCRETE,
)
