"""Camera observations through the full Python path: images per second of ``ball-pixels-v0``.

Usage: python benchmarks/camera_capture.py [--n-envs 1 16 64] [--steps 200]

For each instance count, a ``GodotVecEnv`` of ``ball-pixels-v0`` (84 x 84 grayscale, stack 2,
rendered by Mesa's software OpenGL on the private Xvfb the runtime starts) steps with random
actions: every step captures every instance's camera once in Godot, sends the frames as uint8
after the states and decodes them into ``(n, 84, 84, 2)`` observations. Reported: steps/s and
captured images/s (steps/s x instances) over ``--steps`` steps after 20 warm-up steps, wall
clock, median of ``--repeats`` runs; and beside it, in the same session, the engine's ``bench``
(the same steps without captures or I/O), which bounds what the physics alone allows. Prints
a table, then one JSON object per row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.plugin.registry import get_registry

ENV_ID = "ball-pixels-v0"
WARMUP_STEPS = 20


def measure(n_envs: int, steps: int, repeats: int) -> dict[str, float]:
    """Steps/s through the Python path and of the engine's bench (no captures), medians."""
    spec = get_registry().get(ENV_ID)
    env = GodotVecEnv(spec, n_envs=n_envs, seed=0)
    rng = np.random.default_rng(0)
    try:
        env.reset()
        rates = []
        for _ in range(repeats):
            actions = rng.uniform(-1, 1, (WARMUP_STEPS + steps, n_envs, 2)).astype(np.float32)
            for k in range(WARMUP_STEPS):
                env.step(actions[k])
            start = time.perf_counter()
            for k in range(WARMUP_STEPS, WARMUP_STEPS + steps):
                env.step(actions[k])
            rates.append(steps / (time.perf_counter() - start))
        bench = env.session.bench(steps)[0]
    finally:
        env.close()
    python_rate = statistics.median(rates)
    return {
        "env": ENV_ID,
        "n_envs": n_envs,
        "image_shape": list(spec.image_shape),
        "steps_per_s": round(python_rate, 1),
        "images_per_s": round(python_rate * n_envs, 1),
        "engine_steps_per_s_no_capture": round(bench["steps"] / bench["seconds"], 1),
    }


def main() -> None:
    """Measure every instance count and print the table and the JSON rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(n, args.steps, args.repeats) for n in args.n_envs]
    print(f"{'instances':>9}  {'steps/s':>9}  {'images/s':>9}  {'engine steps/s (no capture)':>28}")
    for row in rows:
        print(f"{row['n_envs']:>9}  {row['steps_per_s']:>9}  {row['images_per_s']:>9}  "
              f"{row['engine_steps_per_s_no_capture']:>28}")
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
