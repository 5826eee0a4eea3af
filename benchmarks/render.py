"""Rendering cost: rgb_array frames vs Godot's Movie Maker, and ``eval --video`` end to end.

Usage: python benchmarks/render.py [--env motorcycle] [--seconds 5] [--movie-steps 300]

1. rgb_array: ``EnvBatch(render_mode="rgb_array")`` stepped with random actions, ``render()``
   after every step, at 640x360 and 84x84 with 1 and 16 instances (one Godot process, on a
   private Xvfb): frames/s (frames = instances x renders).
2. Movie Maker: the same scene, one instance, in a Godot window (the ``window`` viewer) started
   with ``--write-movie`` (MJPEG AVI of the main window, one frame per rendered engine frame),
   stepped ``--movie-steps`` times; frames written / wall time of the stepping.
3. ``rlgodot eval --video`` of one seeded episode of the shipped model: wall time (rgb_array
   path, encoding included).

Prints one JSON object last. Rendering runs on Mesa's software OpenGL (llvmpipe) under Xvfb.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np

from rlgodot.core.envs.batch import BatchTranslator, EnvBatch
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.process import GodotCommand
from rlgodot.core.runtime.protocol.messages import SessionConfig
from rlgodot.core.runtime.session import GodotSession
from rlgodot.core.runtime.settings import LaunchSettings


def rgb_array_rate(spec: EnvSpec, n: int, size: tuple[int, int], seconds: float) -> dict[str, Any]:
    """Step + render ``n`` instances for ``seconds``: frames/s and decisions/s."""
    settings = LaunchSettings(render_mode="rgb_array", render_size=size)
    batch = EnvBatch(spec, n, "same_step", settings=settings)
    rng = np.random.default_rng(0)
    try:
        batch.reset(list(range(n)))
        batch.render()  # the first frame builds the views: not counted
        renders, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            batch.step(random_actions(spec.action_space, n, rng))
            frames = batch.render()
            renders += 1
        wall = time.perf_counter() - start
    finally:
        batch.close()
    assert frames.shape == (n, size[1], size[0], 3), frames.shape
    return {"n_envs": n, "size": f"{size[0]}x{size[1]}", "frames_per_s": round(renders * n / wall)}


def movie_maker_rate(spec: EnvSpec, steps: int, size: tuple[int, int]) -> dict[str, Any]:
    """One instance in a window with ``--write-movie``: frames written per second of stepping."""
    godot = find_godot()
    with tempfile.TemporaryDirectory() as tmp:
        movie = Path(tmp) / "movie.avi"
        command = GodotCommand(
            godot, prepare_project(spec, godot), spec.scene_res_path,
            physics_hz=spec.physics_hz, headless=False,
            godot_args=("--write-movie", str(movie), "--resolution", f"{size[0]}x{size[1]}"),
        )
        config = SessionConfig(
            n_envs=1, action_repeat=spec.action_repeat, max_episode_steps=spec.max_episode_steps,
            autoreset="same_step", options=spec.default_options("scene"), viewer="window",
            view_size=size,
        )
        session = GodotSession.launch(
            command, n_envs=1, config=config, expect_state_names=spec.state_names,
            expect_action_size=spec.action_size, private_display=True,
        )
        rng = np.random.default_rng(0)
        wire = BatchTranslator(spec, 1, "same_step")  # agent actions -> wire actions
        try:
            session.reset([0])
            start = time.perf_counter()
            for _ in range(steps):
                session.step(wire.encode(random_actions(spec.action_space, 1, rng)))
            wall = time.perf_counter() - start
        finally:
            session.close()  # Godot finishes the AVI when it quits
        frames = imageio_ffmpeg.count_frames_and_secs(str(movie))[0]
        reader = imageio_ffmpeg.read_frames(str(movie))
        width, height = next(reader)["size"]
        reader.close()
    return {"size": f"{width}x{height}", "steps": steps, "frames": frames,
            "frames_per_s": round(frames / wall), "decisions_per_s": round(steps / wall)}


def eval_video_seconds(env: str) -> float:
    """Wall time of ``rlgodot eval --env ENV --video X --episodes 1 --seed 0``."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([Path(sys.executable).with_name("rlgodot"), "eval", "--env", env,
                        "--video", str(Path(tmp) / "v.mp4"), "--episodes", "1", "--seed", "0"],
                       check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    """Measure and print the three parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="motorcycle")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--movie-steps", type=int, default=300)
    args = parser.parse_args()
    spec = get_registry().get(args.env)
    results: dict[str, Any] = {"env": spec.id, "rgb_array": [], "movie_maker": None}
    for size in ((640, 360), (84, 84)):
        for n in (1, 16):
            row = rgb_array_rate(spec, n, size, args.seconds)
            results["rgb_array"].append(row)
            print(f"rgb_array   {row['size']:>8} x{n:<3} {row['frames_per_s']:>7,} frames/s")
    movie = movie_maker_rate(spec, args.movie_steps, (640, 360))
    results["movie_maker"] = movie
    print(f"movie maker {movie['size']:>8} x1   {movie['frames_per_s']:>7,} frames/s "
          f"({movie['frames']} frames for {movie['steps']} steps, "
          f"{movie['decisions_per_s']:,} decisions/s)")
    results["eval_video_s"] = round(eval_video_seconds(args.env), 1)
    print(f"eval --video, 1 episode: {results['eval_video_s']} s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
