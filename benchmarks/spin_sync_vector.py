"""Spin-waiting with several single-instance Godot processes (what CleanRL's SyncVectorEnv does).

Usage: python benchmarks/spin_sync_vector.py [--env null] [--seconds 5]
Random actions for ``--seconds`` through 1 ``gymnasium.make`` env, then through 4 of them in
``gymnasium.make_vec(..., vectorization_mode="sync")`` (4 Godot processes), then through
``gymnasium.make_vec`` natively (1 Godot process, 4 instances). Prints one JSON object last:
steps/s summed over envs, and the ``spin_usec`` each Godot process was started with.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import gymnasium as gym

import rlgodot  # noqa: F401  (registers the rlgodot/ envs)


def _spins(env: gym.Env[Any, Any] | gym.vector.VectorEnv) -> list[int]:
    """The ``spin_usec`` of each Godot session behind ``env``."""
    envs = getattr(env, "envs", None) or [env]
    return [int(e.unwrapped.batch.session.target.config.spin_usec) for e in envs]


def _rate(env: Any, vector: int, seconds: float) -> float:
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if vector == 1 and (terminated or truncated):
            env.reset()
        steps += vector
    return steps / (time.perf_counter() - start)


def main() -> None:
    """Measure and print the three layouts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="null")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    env_id = f"rlgodot/{args.env}-v0"
    results = {}
    layouts = {
        "1 make": lambda: gym.make(env_id),
        "4 make_vec sync": lambda: gym.make_vec(env_id, num_envs=4, vectorization_mode="sync"),
        "4 make_vec native": lambda: gym.make_vec(env_id, num_envs=4),
    }
    for name, build in layouts.items():
        env = build()
        try:
            vector = getattr(env, "num_envs", 1)
            rate = _rate(env, vector, args.seconds)
            results[name] = {"steps_per_s": round(rate), "spin_usec": _spins(env)}
        finally:
            env.close()
        print(f"{name:<18} {rate:9,.0f} steps/s  spin_usec {results[name]['spin_usec']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
