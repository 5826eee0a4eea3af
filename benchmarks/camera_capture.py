"""Camera observations: captured images/s (Python path and engine), CnnPolicy PPO steps/s.

Usage: python benchmarks/camera_capture.py [--n-envs 1 16 64] [--seconds 5] [--repeats 3]
                                           [--sb3-timesteps 16384]

Capture: ``ball-pixels-v0``'s scene with its camera at 84 x 84, one frame per observation (no
stack), grayscale and RGB (``camera_bench/gray.tscn``, ``rgb.tscn``, mounted beside the ball
plugin's folder), rendered by Mesa's software OpenGL on the private Xvfb the runtime starts. Each
row is one run of ``rlgodot bench``'s job (:func:`rlgodot.core.jobs.bench.bench`): random
actions through ``GodotVecEnv.step`` for ``--seconds`` (capture in Godot, uint8 on the wire,
decoded into ``(n, 84, 84, C)``): captured images/s, one per instance and step; then, from the
same Godot process, the ``bench`` request with captures (the engine's own capture rate: the same
steps and captures, no I/O) and without (the simulation alone). All three as decisions (images)
per second, medians over ``--repeats`` runs, each in a fresh Godot.

SB3: PPO with ``ball-pixels-v0``'s training defaults (CnnPolicy with SmallCnn) on 16 instances,
``--sb3-timesteps`` steps: SB3's fps on Godot and on a free env with the same spaces (the
network's own ceiling, :func:`rlgodot.core.jobs.bench.bench_sb3`); and the free-env ceiling of
the same PPO with SB3's NatureCNN (the CnnPolicy default) instead. One torch thread.

The load average is printed before and after: on a shared machine it says how much of the
two cores the figures had. Prints tables, then one JSON object per row.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO

from rlgodot.core.jobs.bench import FreeVecEnv, bench, bench_sb3
from rlgodot.core.jobs.config import BenchConfig, TrainConfig
from rlgodot.core.jobs.train import resolve_training
from rlgodot.core.plugin import EnvSpec, hookimpl
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.launcher import assemble_project
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.project import addon_dir

ENV_ID = "ball-pixels-v0"
BENCH_DIR = Path(__file__).resolve().parent / "camera_bench"
CHANNELS = {"gray": 1, "rgb": 3}  # camera_bench/<name>.tscn -> channels per pixel
SB3_ENVS = 16


class CameraVariants:
    """A plugin object with ``ball-pixels-v0`` at one frame, grayscale and RGB."""

    def __init__(self) -> None:
        base = get_registry().get(ENV_ID)
        assert base.godot_dir is not None and base.mount is not None
        project = assemble_project(
            addon_dir(),
            {base.mount: base.godot_dir, "camera_bench": BENCH_DIR},
            base.project_settings,
            find_godot(),
        )
        self.specs = {
            name: dataclasses.replace(
                base,
                id=f"ball-pixels-{name}-v0",
                godot_dir=None,
                mount=None,
                project=project,
                scene=f"res://envs/camera_bench/{name}.tscn",
                observation_space=gym.spaces.Box(0, 255, (84, 84, channels), np.uint8),
                model=None,
            )
            for name, channels in CHANNELS.items()
        }

    @hookimpl
    def rlgodot_env_specs(self) -> list[EnvSpec]:
        """The variants."""
        return list(self.specs.values())


def capture_rows(n_envs: list[int], seconds: float, repeats: int) -> list[dict[str, Any]]:
    """One row per colour mode and instance count: Python-path and engine rates (medians)."""
    variants = CameraVariants()
    get_registry().register(variants, name="camera_bench")
    rows = []
    for name, spec in variants.specs.items():
        for n in n_envs:
            runs = [bench(BenchConfig(env=spec.id, n_envs=n, seconds=seconds))
                    for _ in range(repeats)]
            python = statistics.median(r.decisions_per_s for r in runs)
            engine = statistics.median(r.engine_decisions_per_s for r in runs)
            rows.append({
                "mode": name,
                "image_shape": runs[0].image_shape,
                "n_envs": n,
                "images_per_s": round(python),
                "engine_images_per_s": round(engine),
                "ratio": round(python / engine, 2),
                "engine_decisions_per_s_no_capture": round(statistics.median(
                    r.engine_no_capture_decisions_per_s or 0.0 for r in runs
                )),
                "images_per_s_runs": [round(r.decisions_per_s) for r in runs],
                "engine_images_per_s_runs": [round(r.engine_decisions_per_s) for r in runs],
            })
    return rows


def sb3_rows(timesteps: int) -> list[dict[str, Any]]:
    """SB3 PPO fps with the env's defaults on Godot and free; NatureCNN's free ceiling."""
    default = bench_sb3(ENV_ID, sb3_timesteps=timesteps, n_envs=SB3_ENVS)
    spec, _, hyperparameters = resolve_training(TrainConfig(env=ENV_ID, algo="ppo"))
    hyperparameters.pop("policy_kwargs")
    model = PPO("CnnPolicy", FreeVecEnv(spec, SB3_ENVS), seed=0, device="cpu", **hyperparameters)
    torch.set_num_threads(1)
    start = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    nature = model.num_timesteps / (time.perf_counter() - start)
    return [
        {"network": "SmallCnn (the defaults)", "godot_fps": round(default.godot_fps),
         "free_env_fps": round(default.ceiling_fps), "ratio": round(default.ratio, 2)},
        {"network": "NatureCNN", "godot_fps": None, "free_env_fps": round(nature),
         "ratio": None},
    ]


def main() -> None:
    """Measure, then print the tables and the JSON rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sb3-timesteps", type=int, default=16_384)
    args = parser.parse_args()
    load_before = os.getloadavg()
    captures = capture_rows(args.n_envs, args.seconds, args.repeats)
    sb3 = sb3_rows(args.sb3_timesteps)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    print(f"{'mode':>4} {'instances':>9} {'images/s':>9} {'engine images/s':>15} {'ratio':>5} "
          f"{'engine decisions/s, no capture':>30}")
    for row in captures:
        print(f"{row['mode']:>4} {row['n_envs']:>9} {row['images_per_s']:>9,} "
              f"{row['engine_images_per_s']:>15,} {row['ratio']:>5} "
              f"{row['engine_decisions_per_s_no_capture']:>30,}")
    for row in sb3:
        print(f"PPO {ENV_ID} {SB3_ENVS} instances, {row['network']}: {row['godot_fps']} fps on "
              f"Godot, {row['free_env_fps']} fps on a free env")
    for row in [*captures, *sb3]:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
