"""Render modes: frames and captions over the wire, the private Xvfb, and the envs' render API.

The first part needs no Godot (a fake two-process pool, settings, display choice). The rest runs
a rendering Godot on a private Xvfb (Mesa's software OpenGL): without Godot or Xvfb those tests
skip locally and fail under CI. Views are small (160x90) to keep them quick.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from conftest import TAG
from rlgodot.core.envs.batch import EnvBatch
from rlgodot.core.envs.factory import make_env, make_vec_env
from rlgodot.core.envs.gym_env import GodotEnv
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.errors import DisplayUnavailable, InvalidOption, LayoutMismatch, RLGodotError
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.client.async_client import SERVER_NAME, AsyncGodotClient
from rlgodot.core.runtime.client.pool import AsyncGodotPool
from rlgodot.core.runtime.launcher.display import VirtualDisplay
from rlgodot.core.runtime.launcher.process import GodotCommand
from rlgodot.core.runtime.protocol.codec import decode_json, encode_json
from rlgodot.core.runtime.protocol.messages import SessionConfig
from rlgodot.core.runtime.session import GodotSession
from rlgodot.core.runtime.settings import LaunchSettings
from rlgodot.core.testing.wire import FrameReader, FrameWriter, encode_frames

SIZE = (160, 90)
RGB = LaunchSettings(render_mode="rgb_array", render_size=SIZE)


# ---------------------------------------------------------------------------- no Godot


class FakeGodot:
    """A server of ``n`` instances that answers hello, render and caption like Godot.

    Frame pixels are ``10 * process + local index``, so a test can tell which frame is which.
    """

    def __init__(self, number: int, n: int, max_frame_bytes: int) -> None:
        self.number = number
        self.n = n
        self.max_frame_bytes = max_frame_bytes
        self.requests: list[dict[str, Any]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames, out = FrameReader(reader), FrameWriter(writer)
        while True:
            try:
                message = decode_json(await frames.read())
            except asyncio.IncompleteReadError:
                return
            self.requests.append(message)
            kind = message["type"]
            if kind == "hello":
                out.write(encode_json(self._hello(message["config"])))
            elif kind == "render":
                local = message.get("indices", list(range(self.n)))
                pixels = np.array([10 * self.number + i for i in local], np.uint8)
                shape = (len(local), 2, 3, 3)
                out.write(encode_frames(np.broadcast_to(pixels[:, None, None, None], shape)))
            elif kind == "caption":
                out.write(encode_json({"type": "captioned"}))
            else:
                out.write(encode_json({"type": "bye"}))
                return

    def _hello(self, config: dict[str, Any]) -> dict[str, Any]:
        assert config["n_envs"] == self.n
        return {
            "type": "hello", "protocol": 1, "server": SERVER_NAME, "codec": "binary",
            "n_envs": self.n,
            "state_names": ["x"], "action_size": 1, "viewer": config["viewer"],
            "max_frame_bytes": self.max_frame_bytes,
        }  # fmt: skip


async def _fake_pool(
    counts: list[int], viewer: str, view_size: tuple[int, int] = SIZE, max_frame_bytes: int = 2**26
) -> tuple[AsyncGodotPool, list[FakeGodot]]:
    fakes = [FakeGodot(p, n, max_frame_bytes) for p, n in enumerate(counts)]
    clients = []
    for fake in fakes:
        server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clients.append(await AsyncGodotClient.connect(port, timeout=5.0))
    pool = AsyncGodotPool(clients)
    config = SessionConfig(n_envs=sum(counts), viewer=viewer, view_size=view_size)
    await pool.hello(config, counts=counts)
    return pool, fakes


def test_pool_routes_render_and_caption_by_process_in_global_order():
    async def main() -> None:
        pool, fakes = await _fake_pool([2, 3], "offscreen")
        everything = await pool.render()
        assert everything.shape == (5, 2, 3, 3) and everything.dtype == np.uint8
        assert everything[:, 0, 0, 0].tolist() == [0, 1, 10, 11, 12]
        picked = await pool.render([4, 0, 2])
        assert picked[:, 0, 0, 0].tolist() == [12, 0, 10]
        assert fakes[0].requests[-1] == {"type": "render", "indices": [0]}
        assert fakes[1].requests[-1] == {"type": "render", "indices": [2, 0]}
        await pool.render([0, 1])  # only the first process is asked, for all of its instances
        assert fakes[0].requests[-1] == {"type": "render"} and len(fakes[1].requests) == 3
        await pool.caption(["a", "b", "c", "", "e"])
        assert fakes[0].requests[-1]["captions"] == ["a", "b"]
        assert fakes[1].requests[-1]["captions"] == ["c", "", "e"]
        with pytest.raises(InvalidOption, match="exactly 5 strings"):
            await pool.caption(["a"])
        with pytest.raises(InvalidOption, match=r"render indices \[5\] are outside 0..4"):
            await pool.render([5])
        await pool.close()

    asyncio.run(main())


def test_frames_larger_than_a_protocol_frame_are_refused_before_sending():
    async def main() -> None:
        pool, fakes = await _fake_pool([3], "offscreen", view_size=(16, 16), max_frame_bytes=1600)
        with pytest.raises(InvalidOption, match="3 frames of 16x16 are 2320 bytes.*indices="):
            await pool.render()
        assert [r["type"] for r in fakes[0].requests] == ["hello"]
        assert (await pool.render([0, 2])).shape[0] == 2  # 1552 bytes fit
        await pool.close()

    asyncio.run(main())


def test_render_without_a_viewer_says_to_pass_render_mode_and_sends_nothing():
    async def main() -> None:
        pool, fakes = await _fake_pool([1], "none")
        with pytest.raises(RLGodotError, match="render_mode='rgb_array'"):
            await pool.render()
        with pytest.raises(RLGodotError, match="render_mode"):
            await pool.caption([""])
        assert [r["type"] for r in fakes[0].requests] == ["hello"]
        await pool.close()

    asyncio.run(main())


def test_launch_settings_render_rules():
    assert LaunchSettings().viewer == "none"
    human = LaunchSettings(render_mode="human", pin_cpus=True)
    assert human.viewer == "window" and human.session_realtime_factor == 1.0
    assert not human.session_pin_cpus
    assert LaunchSettings(render_mode="human", realtime_factor=4.0).session_realtime_factor == 4.0
    assert RGB.viewer == "offscreen" and RGB.session_realtime_factor == 0.0
    assert LaunchSettings(pin_cpus=True).session_pin_cpus
    assert LaunchSettings(render_size=[np.int64(84), 84]).render_size == (84, 84)
    with pytest.raises(InvalidOption, match=r"render_size must be \(width, height\)"):
        LaunchSettings(render_size=(8, 8))


def test_an_unknown_render_mode_is_one_line_listing_the_modes():
    spec = get_registry().get("ball")
    with pytest.raises(InvalidOption) as error:
        GodotEnv(spec, render_mode="rgb")  # refused before any Godot starts
    assert str(error.value) == (
        "render_mode must be one of ('human', 'rgb_array') or None, got 'rgb'"
    )


def test_display_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    fake_xvfb = tmp_path / "Xvfb"
    fake_xvfb.write_text("#!/bin/sh\n")
    fake_xvfb.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert LaunchSettings().choose_display() == (None, False)
    assert RGB.choose_display() == (None, True)  # a private Xvfb
    assert dataclasses.replace(RGB, display=":5").choose_display() == (":5", False)
    with pytest.raises(DisplayUnavailable, match="xvfb-run"):
        LaunchSettings(render_mode="human").choose_display()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert LaunchSettings(render_mode="human").choose_display() == (None, False)
    fake_xvfb.unlink()
    with pytest.raises(DisplayUnavailable, match="apt-get install xvfb libgl1-mesa-dri"):
        RGB.choose_display()
    monkeypatch.setenv("DISPLAY", ":3")
    assert RGB.choose_display() == (":3", False)


def test_no_xvfb_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DisplayUnavailable, match="apt-get install xvfb libgl1-mesa-dri"):
        VirtualDisplay.start()


def test_an_xvfb_that_dies_at_once_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path):
    broken = tmp_path / "Xvfb"
    broken.write_text("#!/bin/sh\necho 'Fatal server error: no screens' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DisplayUnavailable, match="(?s)exit code 1.*no screens"):
        VirtualDisplay.start(timeout=5.0)


# ---------------------------------------------------------------------------- Xvfb


def _xvfb_pids() -> set[int]:
    """Live Xvfb processes started by this test session (they inherit its tag)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                program = (entry / "cmdline").read_bytes().split(b"\0")[0]
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if program.endswith(b"Xvfb") and state != "Z" and TAG in environ:
                pids.add(int(entry.name))
    return pids


def test_virtual_display_starts_on_a_free_number_and_stops(xvfb):
    with VirtualDisplay.start((320, 200)) as first, VirtualDisplay.start((320, 200)) as second:
        assert first.name != second.name and first.name.startswith(":")
        assert Path(f"/tmp/.X11-unix/X{first.name[1:]}").exists()
        assert {first.pid, second.pid} <= _xvfb_pids()
    assert first.popen.poll() is not None and second.popen.poll() is not None
    assert not {first.pid, second.pid} & _xvfb_pids()
    first.stop()  # idempotent


# ---------------------------------------------------------------------------- Godot + Xvfb


pytest_godot = pytest.mark.godot


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    things: list[Any] = []
    yield things
    for thing in things:
        thing.close()


def _differ(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two frames, in grey levels."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest_godot
def test_session_on_a_private_xvfb_over_two_processes(godot_binary, xvfb, closing):
    before = _xvfb_pids()
    batch = EnvBatch(
        get_registry().get("ball"), 2, "same_step", settings=dataclasses.replace(RGB, n_procs=2)
    )
    closing.append(batch)
    session = batch.session
    display = session.display
    assert display is not None and display.pid in _xvfb_pids()
    assert [p.args.count("--headless") for p in session.processes] == [0, 0]
    assert session.target.config.viewer == "offscreen"
    batch.reset(seeds=[1, 2])
    frames = batch.render()
    assert frames.shape == (2, SIZE[1], SIZE[0], 3) and frames.dtype == np.uint8
    assert _differ(frames[0], frames[1]) > 0.1, "two differently seeded instances look alike"
    assert frames.std() > 1.0, "a blank frame"
    swapped = session.render([1, 0])
    np.testing.assert_array_equal(swapped, frames[::-1])
    batch.caption(["episode 1/2  return 3.5", ""])
    captioned = batch.render()
    assert _differ(captioned[0], frames[0]) > 0.1, "the caption did not reach the frame"
    np.testing.assert_array_equal(captioned[1], frames[1])
    batch.caption(["", ""])
    np.testing.assert_array_equal(batch.render(), frames)
    batch.close()
    assert display.popen.poll() is not None
    assert _xvfb_pids() - before == set(), "Xvfb left running after the session closed"


@pytest_godot
def test_a_failed_launch_stops_its_private_xvfb(godot_binary, xvfb):
    before = _xvfb_pids()
    spec = get_registry().get("ball")
    command = GodotCommand(
        godot_binary, prepare_project(spec, godot_binary), spec.scene_res_path, headless=False
    )
    with pytest.raises(LayoutMismatch):
        GodotSession.launch(
            command,
            n_envs=1,
            config=SessionConfig(viewer="offscreen", view_size=SIZE),
            expect_action_size=spec.action_size + 1,
            private_display=True,
        )
    assert _xvfb_pids() - before == set(), "Xvfb left running after a failed launch"


@pytest_godot
def test_frames_follow_the_state(godot_binary, xvfb, closing):
    settings = dataclasses.replace(RGB, render_hud=False)  # the scene alone, no readout
    env = make_env("ball", render_mode="rgb_array", settings=settings)
    closing.append(env)
    assert env.metadata["render_fps"] == 15.0 and env.render_mode == "rgb_array"
    env.reset(seed=3)
    first = env.render()
    assert first.shape == (SIZE[1], SIZE[0], 3) and first.dtype == np.uint8
    env.reset(seed=4)
    other = env.render()
    assert _differ(first, other) > 0.1, "render() after reset still shows the previous episode"
    frames = [other]
    for _ in range(4):
        env.step(np.array([1.0, 1.0], np.float32))
        frames.append(env.render())
    moved = [_differ(a, b) for a, b in zip(frames, frames[1:], strict=False)]
    assert min(moved) > 0.0, f"a step under constant force left the frame unchanged: {moved}"
    env.reset(seed=3)
    assert _differ(env.render(), first) < 0.01, "the same seed's first state looks different"


@pytest_godot
def test_renders_without_a_step_do_not_age_the_hud(godot_binary, xvfb, closing):
    """The HUD's flash (how the last episode ended, 3 s of simulated time) ages with the
    simulation: rendering the same decision point 100 times leaves it on screen."""
    spec = dataclasses.replace(get_registry().get("ball"), max_episode_steps=2)
    still = np.zeros(2, np.float32)
    env = GodotEnv(spec, render_mode="rgb_array", settings=RGB)
    closing.append(env)
    env.reset(seed=3)
    for _ in range(2):
        env.step(still)  # truncated: the HUD flashes "time limit"
    env.reset(seed=3)
    env.step(still)
    flashed = env.render()
    for _ in range(100):
        again = env.render()
    assert _differ(flashed, again) < 0.01, "renders at one decision point aged the HUD's flash"
    fresh = GodotEnv(spec, render_mode="rgb_array", settings=RGB)
    closing.append(fresh)
    fresh.reset(seed=3)
    fresh.step(still)
    assert _differ(fresh.render(), flashed) > 0.01, "no flash after the time limit"


@pytest_godot
def test_motorcycle_look_draws_a_scene_and_leaves_the_simulation_alone(godot_binary, xvfb,
                                                                       closing):
    """The motorcycle's look (built only when watched) draws sky over ground, moves with the
    bike, is the same for the same seed, and the watched, rendered episode is the headless one
    bit for bit (the look reads the simulation, never writes it)."""
    actions = np.random.default_rng(0).uniform(-1, 1, (30, 2)).astype(np.float32)
    actions[:, 0] = np.clip(actions[:, 0] + 0.7, -1, 1)
    traces, frames = {}, []
    for mode in (None, "rgb_array", "rgb_array"):
        env = make_env("motorcycle", render_mode=mode, settings=RGB if mode else None)
        closing.append(env)
        obs, _ = env.reset(seed=5)
        trace = [obs]
        shots = [env.render()] if mode else []
        for action in actions:
            obs, *_ = env.step(action)
            trace.append(obs)
            if mode:
                shots.append(env.render())
        env.close()
        traces.setdefault(mode, []).append(np.array(trace))
        if mode:
            frames.append(shots)
    assert np.array_equal(traces[None][0], traces["rgb_array"][0]), "watching changed the ride"
    first, last = frames[0][0].astype(np.float32), frames[0][-1]
    sky, ground = first[: SIZE[1] // 5].mean(axis=(0, 1)), first[-SIZE[1] // 5:].mean(axis=(0, 1))
    assert sky[2] > sky[0] + 30, f"no blue sky at the top: {sky}"
    assert ground[0] > ground[2] + 20, f"no brown ground at the bottom: {ground}"
    assert _differ(frames[0][0], last) > 5.0, "the view did not follow the bike"
    assert all(np.array_equal(a, b) for a, b in zip(frames[0], frames[1], strict=True)), \
        "the same seed and actions drew different frames"


@pytest_godot
def test_gymnasium_check_env_with_render_checks(godot_binary, xvfb, closing, monkeypatch):
    from gymnasium.utils.env_checker import check_env

    with VirtualDisplay.start() as screen:  # check_env also makes the env in "human" mode
        monkeypatch.setenv("DISPLAY", screen.name)
        env = gym.make("rlgodot/ball-v0", render_mode="rgb_array", settings=RGB)
        closing.append(env)
        check_env(env.unwrapped, skip_render_check=False)  # with a spec: every render mode
        env.close()


@pytest_godot
def test_record_video_wrapper(godot_binary, xvfb, tmp_path, closing):
    env = gym.make("rlgodot/ball-v0", render_mode="rgb_array", settings=RGB)
    closing.append(env)
    env = gym.wrappers.RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda _: True)
    env.reset(seed=0)
    for _ in range(10):
        env.step(env.action_space.sample())
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 1000, videos


@pytest_godot
def test_sb3_vec_video_recorder_and_get_images(godot_binary, xvfb, tmp_path, closing):
    from stable_baselines3.common.vec_env import VecVideoRecorder

    venv = make_vec_env("ball", n_envs=2, seed=0, settings=RGB, render_mode="rgb_array")
    closing.append(venv)
    images = venv.get_images()
    assert len(images) == 2 and images[0].shape == (SIZE[1], SIZE[0], 3)
    assert venv.metadata["render_fps"] == 15.0
    recorder = VecVideoRecorder(
        venv, str(tmp_path), record_video_trigger=lambda step: step == 0, video_length=8
    )
    recorder.reset()
    for _ in range(10):
        recorder.step(np.ones((2, 2), np.float32))
    recorder.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 1000, videos


@pytest_godot
def test_vector_env_render_is_a_tuple_of_frames(godot_binary, xvfb, closing):
    env = gym.make_vec("rlgodot/ball-v0", num_envs=2, render_mode="rgb_array", settings=RGB)
    closing.append(env)
    env.reset(seed=0)
    frames = env.render()
    assert isinstance(frames, tuple) and len(frames) == 2
    assert all(f.shape == (SIZE[1], SIZE[0], 3) and f.dtype == np.uint8 for f in frames)
    assert env.metadata["render_fps"] == 15.0


@pytest_godot
def test_human_opens_a_window_in_real_time(godot_binary, xvfb, closing, monkeypatch):
    with VirtualDisplay.start() as screen:
        monkeypatch.setenv("DISPLAY", screen.name)
        venv = make_vec_env("ball", n_envs=2, render_mode="human", settings=RGB)
        closing.append(venv)
        assert venv.session.display is None  # the user's display, not a private one
        assert venv.session.target.config.viewer == "window"
        assert venv.session.target.config.realtime_factor == 1.0
        venv.reset()
        venv.step(np.zeros((2, 2), np.float32))
        assert venv.render() is None
        if shutil.which("xwininfo"):  # x11-utils, installed with Xvfb by 'make xvfb'
            tree = subprocess.run(
                ["xwininfo", "-root", "-tree", "-display", screen.name],
                capture_output=True, text=True, timeout=10, check=True,
            ).stdout  # fmt: skip
            assert "rlgodot" in tree.lower(), f"no Godot window on {screen.name}"
        venv.close()


@pytest_godot
def test_render_on_a_headless_session_says_to_pass_render_mode(godot_binary, closing):
    env = make_env("ball")
    closing.append(env)
    env.reset(seed=0)
    with pytest.raises(RLGodotError, match="pass render_mode='rgb_array'"):
        env.batch.render()
    with pytest.warns(UserWarning, match="render_mode='rgb_array'"):
        assert env.render() is None
