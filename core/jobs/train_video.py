"""Videos during training (``rlgodot train --video-every N``).

Every N env steps one evaluation episode (deterministic policy, seed of the run or 0) runs on
its own Godot instance, which renders offscreen (``render_mode="rgb_array"``) and is started at
the first recording and ended with training. It is written to ``<run>/videos/step-<steps>.mp4``
and, as an animated GIF of the whole episode, to TensorBoard's Images tab under ``eval/video``.

The GIF goes to TensorBoard as an image summary holding the GIF: what SB3's ``Video`` and
``SummaryWriter.add_video`` produce, without their encoder: torch's ``add_video`` imports
``moviepy.editor``, which moviepy 2 no longer has, and then logs nothing.

Training pauses while an episode is recorded (a few seconds); between recordings the callback
only compares step counts. A failed recording (no virtual display, Godot crashed, ffmpeg)
prints one warning line and training goes on; the next recording starts a new instance.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat

from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import EvalConfig, TrainConfig
from rlgodot.core.jobs.periodic import EveryNSteps
from rlgodot.core.jobs.video import write_loop
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.settings import LaunchSettings

VIDEO_DIR = "videos"
VIDEO_TAG = "eval/video"
# TensorBoard keeps every GIF in the event file: small ones.
TENSORBOARD_WIDTH = 320


class VideoRecorder:
    """Records evaluation episodes of the model being trained on one rendering instance.

    Args:
        spec: The env trained on.
        config: The run's settings (options, seed, step timeout).
        run_dir: The run directory; videos go to its ``videos/``.
    """

    def __init__(self, spec: EnvSpec, config: TrainConfig, run_dir: Path) -> None:
        self.spec = spec
        self.config = config
        self.run_dir = Path(run_dir)
        self.env: GodotEnv | None = None

    def callback(self, every: int) -> BaseCallback:
        """The SB3 callback that records every ``every`` env steps."""
        return _VideoCallback(self, every)

    def record(self, model: BaseAlgorithm, steps: int) -> tuple[Path, Path]:
        """One deterministic episode of ``model`` -> ``videos/step-<steps>.mp4`` and ``.gif``.

        Returns:
            The MP4 and the GIF of the whole episode (``TENSORBOARD_WIDTH`` wide).

        Raises:
            RLGodotError: Godot could not render (no display) or failed; ffmpeg failed.
        """
        from rlgodot.core.jobs.evaluate import evaluate_watched  # evaluate -> rllib -> train

        config = self.config
        if self.env is None:
            self.env = GodotEnv(self.spec, options=config.options, render_mode="rgb_array",
                                settings=LaunchSettings(step_timeout=config.step_timeout))

        def act(obs: np.ndarray) -> np.ndarray:
            return model.predict(obs, deterministic=True)[0]

        episode = EvalConfig(env=self.spec.id, episodes=1, seed=config.seed or 0,
                             options=config.options, step_timeout=config.step_timeout,
                             video=self.run_dir / VIDEO_DIR / f"step-{steps}.mp4")
        result = evaluate_watched(self.env, act, episode, policy_name="training",
                                  options=dict(config.options))
        assert result.video is not None
        return result.video, write_loop(result.video, seconds=None, width=TENSORBOARD_WIDTH)

    def close(self) -> None:
        """End the recording instance (idempotent)."""
        env, self.env = self.env, None
        if env is not None:
            env.close()


def log_gif(logger: Logger, tag: str, gif: Path, step: int) -> None:
    """Write an animated GIF to the TensorBoard outputs of an SB3 logger (if it has any)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    data = gif.read_bytes()
    width, height = struct.unpack("<HH", data[6:10])  # the GIF's logical screen size
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=data)
    summary = Summary(value=[Summary.Value(tag=tag, image=image)])
    for output in logger.output_formats:
        if isinstance(output, TensorBoardOutputFormat):
            output.writer.file_writer.add_summary(summary, step)
            output.writer.flush()


class _VideoCallback(EveryNSteps):
    def __init__(self, recorder: VideoRecorder, every: int) -> None:
        super().__init__(every)
        self.recorder = recorder

    def _on_due(self) -> None:
        steps = self.num_timesteps
        try:
            _, gif = self.recorder.record(self.model, steps)
        except RLGodotError as exc:
            self.recorder.close()  # a new instance next time
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"rlgodot: warning: no video at step {steps}: {reason}", file=sys.stderr)
            return
        log_gif(self.logger, VIDEO_TAG, gif, steps)

    def _on_training_end(self) -> None:
        self.recorder.close()
