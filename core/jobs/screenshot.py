"""``rlgodot screenshot``: one rendered frame of an agent's episode, written as a PNG.

Made for the plugin READMEs (``make media``): the env runs on one instance rendering offscreen,
as ``rlgodot eval --video`` does; the policy (the plugin's shipped model, a given one, or random
actions) acts ``steps`` steps from a reset with ``seed``, and the frame of the state reached is
written. Every step is drawn, as in a video, since the view's smoothing and effects advance by
the simulated time between drawn frames. The same settings
give the same picture (the episode is seeded, the view is drawn from simulated time). The PNG
is encoded here with zlib (8-bit RGB): no image library needed.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.errors import InvalidOption, RLGodotError
from rlgodot.core.jobs.config import ScreenshotConfig, config_from
from rlgodot.core.jobs.evaluate import load_policy, outcome_flags
from rlgodot.core.jobs.output_file import check_output_file
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.settings import LaunchSettings

PNG_SUFFIX = ".png"


@dataclass
class ScreenshotResult:
    """What ``rlgodot screenshot`` wrote.

    Attributes:
        env_id: The env pictured.
        policy: ``"random"`` or the model's path.
        path: The PNG written.
        size: ``(width, height)`` of the picture in pixels.
        steps: Steps run before the picture (fewer than asked if the episode ended sooner).
        ended: How the episode had ended when pictured: "" (still running), or "terminated" /
            "truncated" followed by the info flags that were set (e.g. "terminated: crashed").
    """

    env_id: str
    policy: str
    path: Path
    size: tuple[int, int]
    steps: int
    ended: str = ""

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``rlgodot screenshot --json``."""
        return {"env_id": self.env_id, "policy": self.policy, "path": str(self.path),
                "size": list(self.size), "steps": self.steps, "ended": self.ended}


def screenshot(config: ScreenshotConfig | str, **overrides: Any) -> ScreenshotResult:
    """Run one seeded episode ``config.steps`` steps on and write its frame to ``config.out``.

    Called as ``screenshot(ScreenshotConfig(env="motorcycle", out=Path("m.png")))`` or
    ``screenshot("motorcycle", out=Path("m.png"), steps=60)``; see :class:`ScreenshotConfig`.
    The output path, the env and the model are checked before Godot starts.

    Raises:
        InvalidOption: ``out`` does not end in ``.png`` or cannot be written; a bad size; a
            model together with random actions.
        EnvNotFound: No such env.
        RLGodotError: No model given and the plugin ships none; the model does not fit the env;
            no display could be found or started for rendering.
    """
    config = config_from(ScreenshotConfig, config, overrides)
    out = check_png_path(config.out)
    spec = get_registry().get(config.env)
    policy = load_policy(spec, config.model, algo=config.algo,
                         random_policy=config.random_policy)
    options = {**policy.options, **config.options}
    env = GodotEnv(spec, options=options, render_mode="rgb_array", settings=LaunchSettings(
        step_timeout=config.step_timeout, render_size=config.render_size,
        render_hud=config.hud,
    ))
    rng = np.random.default_rng(config.seed)
    steps, ended = 0, ""
    try:
        obs, _ = env.reset(seed=config.seed)
        frame = env.render()
        while steps < config.steps and not ended:
            action = (random_actions(spec.action_space, 1, rng) if policy.act is None
                      else policy.act(obs[None]))[0]
            obs, _, terminated, truncated, info = env.step(action)
            steps += 1
            # every step, as in a video: the view's smoothing and effects advance by the
            # simulated time between drawn frames
            frame = env.render()
            if terminated or truncated:
                flags = [key for key, value in outcome_flags(info).items() if value]
                ended = ("terminated" if terminated else "truncated") + (
                    f": {', '.join(flags)}" if flags else "")
    finally:
        env.close()
    if frame is None:  # rgb_array always returns a frame; guard the type
        raise RLGodotError(f"{spec.id}: the rendering instance returned no frame")
    write_png(out, frame)
    return ScreenshotResult(env_id=spec.id, policy=policy.name, path=out,
                            size=(int(frame.shape[1]), int(frame.shape[0])), steps=steps,
                            ended=ended)


def check_png_path(path: Path) -> Path:
    """Make ``path``'s folder and check a PNG can be written there, before Godot starts.

    Raises:
        InvalidOption: Not a ``.png`` name, or the folder cannot be made or written.
    """
    return check_output_file(path, PNG_SUFFIX, "screenshot", InvalidOption)


def write_png(path: Path, frame: np.ndarray) -> None:
    """Write an HxWx3 uint8 RGB frame as an 8-bit RGB PNG.

    Raises:
        InvalidOption: A frame of another shape or type.
        RLGodotError: The file could not be written.
    """
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise InvalidOption(
            f"a PNG frame must be HxWx3 uint8 RGB, got shape {frame.shape} dtype {frame.dtype}"
        )
    height, width = frame.shape[:2]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), frame.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit, truecolour
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise RLGodotError(f"cannot write the screenshot {path}: {exc.strerror or exc}") from exc
