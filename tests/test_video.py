"""Watching and recording agents: MP4/GIF files, ``eval --video``, ``eval --render``,
``train --video-every``. Rendering Godot needs a display: the runtime starts a private Xvfb
(missing Xvfb skips locally and fails under CI, like missing Godot)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from click.testing import CliRunner

from rlgodot.cli.main import main
from rlgodot.core.errors import VideoError
from rlgodot.core.jobs.evaluate import evaluate
from rlgodot.core.jobs.video import ffmpeg_exe, write_loop, write_mp4

SMALL = ("320", "180")


def _probe(path: Path) -> str:
    """ffmpeg's description of the first video stream of ``path``."""
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                         capture_output=True, text=True).stderr
    return next(line for line in out.splitlines() if "Video:" in line)


def _frames(path: Path) -> np.ndarray:
    """Every frame of a video, decoded to (T, H, W, 3) uint8."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    width, height = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    return np.stack(frames)


def _moving(size: tuple[int, int], n: int):
    """A square moving across a gradient."""
    w, h = size
    background = np.zeros((h, w, 3), np.uint8)
    background[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)
    for t in range(n):
        frame = background.copy()
        frame[h // 3: h // 3 + 8, 4 * t % (w - 8): 4 * t % (w - 8) + 8] = 255
        yield frame


def test_mp4_plays_in_browsers_and_the_gif_loops(tmp_path):
    video = tmp_path / "clip.mp4"
    assert write_mp4(video, _moving((161, 91), 40), fps=20) == 40
    stream = _probe(video)
    assert "h264" in stream and "yuv420p" in stream and "162x92" in stream, stream  # even sides
    data = video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while loading
    frames = _frames(video)
    assert frames.shape == (40, 92, 162, 3)
    gif = write_loop(video, seconds=1.0, width=80)
    assert gif == tmp_path / "clip.gif" and gif.read_bytes()[:6] == b"GIF89a"
    assert "80x" in _probe(gif)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([np.zeros((8, 8, 3), np.float32)], "HxWx3 uint8"),
        ([np.zeros((8, 8), np.uint8)], "HxWx3 uint8"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], "render size fixed"),
        ([], "no frames"),
    ],
)
def test_bad_frames_say_what_is_wrong(tmp_path, frames, message):
    with pytest.raises(VideoError, match=message):
        write_mp4(tmp_path / "bad.mp4", frames, fps=10)
    assert (tmp_path / "bad.mp4").exists() == (len(frames) == 2)  # the good frame is kept


@pytest.mark.parametrize(
    ("name", "message"),
    [("/proc/no/such/dir/out.mp4", "cannot write the video"), ("out.gif", "must end in .mp4")],
)
def test_bad_video_path_is_one_line_before_godot(monkeypatch, tmp_path, name, message):
    monkeypatch.setenv("GODOT_BIN", str(tmp_path / "no-godot-here"))  # Godot must not start
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(main, ["eval", "--env", "ball", "--video", name])
    assert out.exit_code == 1, out.output
    assert message in out.output and len(out.output.strip().splitlines()) == 1, out.output


def test_render_and_video_exclude_each_other(tmp_path):
    out = CliRunner().invoke(main, ["eval", "--env", "ball", "--render", "--video",
                                    str(tmp_path / "a.mp4")])
    assert out.exit_code == 1 and "exclude each other" in out.output, out.output


@pytest.mark.godot
# parking3d-v0: its agent drives every episode (v1's may stop short and stand, see its README)
@pytest.mark.parametrize("env", ["motorcycle", "parking3d-v0"])
def test_eval_video_records_the_agent_moving(godot_binary, xvfb, tmp_path, env):
    video = tmp_path / "out.mp4"
    out = CliRunner().invoke(main, ["eval", "--env", env, "--video", str(video),
                                    "--episodes", "2", "--render-size", *SMALL, "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output.splitlines()[-1])
    steps = round(summary["mean_length"] * summary["episodes"])
    assert "h264" in _probe(video)
    frames = _frames(video)
    # one frame per reset and per step, of the size asked for
    assert frames.shape == (steps + 2, int(SMALL[1]), int(SMALL[0]), 3)
    assert summary["video_frames"] == len(frames)
    # the agent moves (the camera follows it): below the HUD (the top quarter, whose return
    # changes every step), nearly every pair of consecutive frames differs in >1 % of pixels
    scene = frames[:, frames.shape[1] * 2 // 5:].astype(np.int16)
    changed = (np.abs(np.diff(scene, axis=0)).max(axis=3) > 24).mean(axis=(1, 2))
    assert np.mean(changed > 0.01) > 0.8, np.percentile(changed, [10, 50, 90])
    gif = Path(summary["loop"])
    assert gif == video.with_suffix(".gif") and gif.read_bytes()[:6] == b"GIF89a"
    # the recorded episodes are those eval reports headless with one instance
    headless = evaluate(env, episodes=2, seed=0, n_envs=1)
    assert summary["mean_return"] == pytest.approx(headless.mean_return)
    assert summary["mean_length"] == headless.mean_length


@pytest.mark.godot
def test_train_video_every_writes_videos_and_tensorboard(godot_binary, xvfb, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlgodot.core.jobs.train import train

    result = train("ball", timesteps=512, n_envs=4, seed=0, output_dir=tmp_path,
                   progress_bar=False, checkpoint_every=0, video_every=256,
                   hyperparameters={"n_steps": 64, "batch_size": 128},  # rollouts of 256 steps
                   options={"target_radius": 0.5})
    videos = sorted(p.name for p in (result.run_dir / "videos").iterdir())
    assert videos == ["step-256.gif", "step-256.mp4", "step-512.gif", "step-512.mp4"], videos
    assert "h264" in _probe(result.run_dir / "videos" / "step-512.mp4")
    events = EventAccumulator(str(result.run_dir / "tb_1"), size_guidance={"images": 0})
    events.Reload()
    images = events.Images("eval/video")
    assert [i.step for i in images] == [256, 512]
    assert images[0].encoded_image_string[:6] == b"GIF89a"


@pytest.mark.godot
def test_a_failed_recording_warns_once_and_training_goes_on(godot_binary, monkeypatch, tmp_path,
                                                            capfd):
    from rlgodot.core.jobs.train import train

    monkeypatch.setenv("PATH", str(tmp_path))  # no Xvfb and no display: rendering fails
    monkeypatch.delenv("DISPLAY", raising=False)
    result = train("ball", timesteps=256, n_envs=4, seed=0, output_dir=tmp_path,
                   progress_bar=False, checkpoint_every=0, video_every=256,
                   hyperparameters={"n_steps": 64, "batch_size": 128})
    assert result.timesteps == 256 and result.model_path.is_file()
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "no video at step 256" in warnings[0], warnings
    assert "Xvfb" in warnings[0]


def _screenshot(display: str) -> np.ndarray:
    """The root window of an X display as (H, W, 3) uint8 (``xwd`` decoded by ffmpeg)."""
    dump = subprocess.run(["xwd", "-root", "-silent", "-display", display],
                          capture_output=True, check=True, timeout=10).stdout
    width, height = (int.from_bytes(dump[i:i + 4], "big") for i in (16, 20))
    rgb = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "xwd_pipe", "-i", "-",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         input=dump, capture_output=True, check=True, timeout=10).stdout
    return np.frombuffer(rgb, np.uint8).reshape(height, width, 3)


def _scene_colours(shot: np.ndarray) -> int:
    """Colours covering over 1 % of the screen below the HUD (its top quarter).

    Colours are counted in 8 levels per channel, so that lit, textured surfaces (a shade per
    pixel) count as the colour they are: a blank window is 1, Godot's splash 3, the car park ~20.
    """
    scene = shot[shot.shape[0] // 4:].reshape(-1, 3) // 32
    _, counts = np.unique(scene, axis=0, return_counts=True)
    return int((counts > 0.01 * len(scene)).sum())


@pytest.mark.godot
def test_eval_render_shows_the_car_park(godot_binary, xvfb_display):
    if shutil.which("xwd") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have xwd ('make xvfb' installs x11-apps as root)")
        pytest.skip("no xwd (apt-get install x11-apps) to take a screenshot")
    shots: list[np.ndarray] = []
    done = threading.Event()

    def watch() -> None:  # while eval runs: screenshots until one shows a rendered scene
        time.sleep(2.0)
        while not done.is_set() and len(shots) < 30:
            shots.append(_screenshot(xvfb_display))
            if _scene_colours(shots[-1]) >= 5:
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        out = CliRunner().invoke(main, ["eval", "--env", "parking3d", "--render",
                                        "--episodes", "1", "--speed", "1"])
    finally:
        done.set()
        watcher.join()
    assert out.exit_code == 0, out.output
    # a blank window is one grey; the car park has tarmac, walls, sky, bays and cars
    colours = [_scene_colours(s) for s in shots]
    assert colours and max(colours) >= 5, colours


@pytest.mark.godot
def test_eval_render_without_a_display_says_what_to_do(godot_binary, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = CliRunner().invoke(main, ["eval", "--env", "parking3d", "--render", "--episodes", "1"])
    assert out.exit_code == 1, out.output
    assert "xvfb-run" in out.output and len(out.output.strip().splitlines()) == 1, out.output
