"""Attach to a running game: a real windowed Godot under Xvfb running a scene with an RLServer.

The game is tests/attach_scene/train.tscn (a Node2D holding an RLServer, allow_attach on,
env_scene the ball plugin's scene), mounted with the ball plugin into an assembled project and
run as a user runs their game: the scene itself, in a window, no bootstrap, no launch token.
The trainers are the real CLI and the Python API. Also: the game without allow_attach, a game
killed or frozen mid-training, nothing listening, the launched mode's token and tick rate, the
settings attach rules out, and the editor loading the addon's plugin.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from raw_wire import RawClient

from rlgodot.core.envs.sb3_vec_env import GodotVecEnv
from rlgodot.core.errors import GodotNotListening, GodotTimeout, InvalidOption
from rlgodot.core.jobs.config import RunConfig, TrainConfig
from rlgodot.core.jobs.run import run_random
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.launcher import (
    GodotBinary,
    GodotCommand,
    GodotProcess,
    _spawn,
    assemble_project,
)
from rlgodot.core.runtime.launcher.display import VirtualDisplay
from rlgodot.core.runtime.protocol.messages import DEFAULT_ATTACH_PORT, SessionConfig
from rlgodot.core.runtime.session import GodotSession
from rlgodot.core.runtime.settings import LaunchSettings

pytestmark = pytest.mark.godot

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "godot" / "addons" / "rlgodot"
BALL = REPO / "plugins" / "ball" / "godot"
ATTACH = Path(__file__).resolve().parent / "attach_scene"
RLGODOT = Path(sys.executable).parent / "rlgodot"
ENV = "ball-v0"
OPTIONS = {"max_force": 8.0, "target_radius": 0.5, "min_start_distance": 2.0}
WAITING = "rlgodot: waiting for a trainer on 127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Game:
    """A Godot game running one scene of the project in a window, as a developer runs it."""

    def __init__(self, godot: GodotBinary, project: Path, display: str, scene: str) -> None:
        self.port = free_port()
        args = [*godot.command, "--path", str(project), "--display-driver", "x11",
                "--rendering-driver", "opengl3", f"res://envs/attach/{scene}.tscn", "--",
                f"--rlgodot-attach={self.port}"]
        env = {**os.environ, "DISPLAY": display}
        env.pop("WAYLAND_DISPLAY", None)
        popen = _spawn.popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env)
        self.process = GodotProcess(popen, args)  # drains the output, always ended at exit

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """Wait until the game printed ``text``; return its output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tail = self.process.output_tail(400)
            if text in tail:
                return tail
            assert self.process.poll() is None, f"the game exited:\n{tail}"
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the game's output:\n{self.process.output_tail(60)}")

    def count(self, text: str) -> int:
        return self.process.output_tail(400).count(text)

    def alive(self) -> bool:
        return self.process.poll() is None


@pytest.fixture(scope="module")
def project(godot_binary: GodotBinary) -> Path:
    return assemble_project(ADDON, {"ball": BALL, "attach": ATTACH}, {}, godot_binary)


@pytest.fixture(scope="module")
def display(xvfb: str) -> Iterator[str]:
    with VirtualDisplay.start() as virtual:
        yield virtual.name


@pytest.fixture(scope="module")
def game(godot_binary: GodotBinary, project: Path, display: str) -> Iterator[Game]:
    """The attachable game, shared by the tests that leave it running."""
    running = Game(godot_binary, project, display, "train")
    try:
        running.wait_for(WAITING.format(port=running.port))
        yield running
    finally:
        running.process.terminate()


@pytest.fixture
def doomed_game(godot_binary: GodotBinary, project: Path, display: str) -> Iterator[Game]:
    """A game of its own, for a test that kills or freezes it."""
    running = Game(godot_binary, project, display, "train")
    try:
        running.wait_for(WAITING.format(port=running.port))
        yield running
    finally:
        running.process.terminate(2.0)  # SIGTERM, SIGCONT (if frozen), then SIGKILL


def test_train_cli_attaches_and_the_game_waits_for_the_next_trainer(game: Game, tmp_path: Path):
    command = [str(RLGODOT), "train", "--env", ENV, "--attach", str(game.port), "--timesteps",
               "256", "--n-envs", "4", "--hp", "n_steps=64", "--hp", "batch_size=64", "--hp",
               "n_epochs=1", "--output-dir", str(tmp_path), "--no-progress", "--seed", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"trained ppo on {ENV}: 256 steps" in done.stdout, done.stdout
    assert list(tmp_path.glob("*/model.zip")), done.stdout
    tail = game.wait_for("rlgodot: the trainer left after 64 steps (the client closed the session)")
    assert f"trainer connected on 127.0.0.1:{game.port}: 4 instances" in tail
    time.sleep(0.3)
    assert game.alive(), "the game must never quit because a trainer left"
    assert game.count(WAITING.format(port=game.port)) >= 2, tail  # waiting again

    # The next trainer (the Python API this time, 3 instances) gets a fresh session.
    result = run_random(RunConfig(env=ENV, steps=300, n_envs=3, attach=game.port))
    assert (result.n_envs, result.steps) == (3, 300)
    game.wait_for("rlgodot: the trainer left after 100 steps")
    assert game.alive()


def test_the_speed_never_changes_the_physics(game: Game, godot_binary: GodotBinary,
                                             project: Path):
    """Same seeds and actions: x1, x64 and max in the attached game, and a launched Godot
    (offscreen views: watched instances, placed as in the window) all step bit for bit alike."""
    actions = np.random.default_rng(0).uniform(-1, 1, (30, 2, 2)).astype(np.float32)

    def trajectory(session: GodotSession) -> np.ndarray:
        with session:
            states = [session.reset(seeds=[3, 4]).states]
            states += [session.step(a).states for a in actions]
        return np.stack(states)

    def config(realtime_factor: float, viewer: str = "none") -> SessionConfig:
        return SessionConfig(options=OPTIONS, physics_hz=60, max_episode_steps=0,
                             realtime_factor=realtime_factor, viewer=viewer)  # type: ignore[arg-type]

    attached = {
        speed: trajectory(GodotSession.attach(game.port, n_envs=2, config=config(speed)))
        for speed in (0.0, 64.0, 1.0)
    }
    command = GodotCommand(godot_binary, project, "res://envs/ball/ball.tscn", headless=False)
    launched = trajectory(GodotSession.launch(command, n_envs=2, private_display=True,
                                              config=config(0.0, "offscreen")))
    assert np.abs(attached[0.0][-1] - attached[0.0][0]).max() > 0.5  # the balls moved
    for speed, states in attached.items():
        assert np.array_equal(states, launched), f"speed {speed} changed the physics"
    tail = game.process.output_tail(400)
    assert "speed x1" in tail and "speed x64" in tail and "speed max" in tail


def test_killing_the_game_mid_training_is_a_clear_error_within_the_step_timeout(
    doomed_game: Game, tmp_path: Path
):
    command = [str(RLGODOT), "train", "--env", ENV, "--attach", str(doomed_game.port),
               "--timesteps", "1000000", "--n-envs", "4", "--step-timeout", "10",
               "--output-dir", str(tmp_path), "--no-progress"]
    trainer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        doomed_game.wait_for("trainer connected", timeout=60)
        time.sleep(3.0)  # PPO builds its model first, then steps
        os.kill(doomed_game.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        output, _ = trainer.communicate(timeout=10)
        assert time.monotonic() - killed < 10
    finally:
        if trainer.poll() is None:
            trainer.kill()
    assert trainer.returncode == 1, output
    assert re.search(f"the attached Godot at 127.0.0.1:{doomed_game.port} closed the connection "
                     "during '(step|reset)': the game was stopped or crashed", output), output
    assert "model_interrupted.zip" in output and "Traceback" not in output, output


def test_a_frozen_game_times_out_and_training_never_hangs(doomed_game: Game):
    spec = get_registry().get(ENV)
    env = GodotVecEnv(spec, n_envs=2, settings=LaunchSettings(attach=doomed_game.port,
                                                               step_timeout=2.0))
    try:
        assert env.session.attached and env.session.processes == ()
        env.reset()
        env.step(np.zeros((2, 2), np.float32))
        os.kill(doomed_game.process.pid, signal.SIGSTOP)
        start = time.monotonic()
        where = f"the attached Godot at 127.0.0.1:{doomed_game.port}"
        with pytest.raises(GodotTimeout, match=where):
            env.step(np.zeros((2, 2), np.float32))
        assert time.monotonic() - start < 4.0
    finally:
        os.kill(doomed_game.process.pid, signal.SIGCONT)
        env.close()
    assert doomed_game.alive(), "closing an attached session must never end the game"


def test_nothing_listening_is_a_clear_error_at_once():
    port = free_port()
    start = time.monotonic()
    message = f"nothing listens on 127.0.0.1:{port}: start the game"
    with pytest.raises(GodotNotListening, match=message):
        GodotVecEnv(get_registry().get(ENV), n_envs=2, settings=LaunchSettings(attach=port))
    assert time.monotonic() - start < 3.0


def test_without_allow_attach_the_game_does_not_listen(godot_binary: GodotBinary,
                                                       project: Path, display: str):
    off = Game(godot_binary, project, display, "train_off")
    try:
        off.wait_for("does not listen for trainers: turn its allow_attach on")
        with pytest.raises(GodotNotListening):
            GodotSession.attach(off.port, n_envs=1)
        assert off.alive()
    finally:
        off.process.terminate()


def test_launched_godot_still_requires_its_token_and_its_tick_rate(
    godot_binary: GodotBinary, project: Path
):
    command = GodotCommand(godot_binary, project, "res://envs/ball/ball.tscn")
    with GodotProcess.launch(command, ready_timeout=30) as process:
        assert process.port is not None and process.token
        with RawClient(process.port) as client:
            reply = client.hello(None, n_envs=1)
            assert (reply["type"], reply["code"]) == ("error", "unauthorized"), reply
            assert client.is_closed()
        with RawClient(process.port) as client:
            reply = client.hello(process.token, n_envs=1, physics_hz=30)
            assert (reply["type"], reply["code"]) == ("error", "bad_config"), reply
            assert "physics_hz 30 differs" in reply["message"]
        with RawClient(process.port) as client:
            reply = client.hello(process.token, n_envs=1, physics_hz=60)
            assert reply["type"] == "hello" and reply["attached"] is False, reply


def test_settings_that_attach_rules_out():
    with pytest.raises(InvalidOption, match="n_procs must be 1"):
        LaunchSettings(attach=DEFAULT_ATTACH_PORT, n_procs=2)
    with pytest.raises(InvalidOption, match="rgb_array"):
        LaunchSettings(attach=DEFAULT_ATTACH_PORT, render_mode="rgb_array")
    with pytest.raises(InvalidOption, match="TCP port"):
        LaunchSettings(attach=70000)
    with pytest.raises(InvalidOption, match="never restarted"):
        GodotVecEnv(get_registry().get(ENV), settings=LaunchSettings(attach=1), max_restarts=3)
    with pytest.raises(InvalidOption, match="--max-restarts"):
        TrainConfig(env=ENV, attach=DEFAULT_ATTACH_PORT, max_restarts=2)
    with pytest.raises(InvalidOption, match="--n-procs must be 1"):
        TrainConfig(env=ENV, attach=DEFAULT_ATTACH_PORT, n_procs=2)
    assert TrainConfig(env=ENV, attach=DEFAULT_ATTACH_PORT).training_restarts() == 0
    assert TrainConfig(env=ENV).training_restarts() == 3


def test_attach_alone_is_the_default_port(monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from rlgodot.cli.main import main

    ports: list[int | None] = []

    def fake_run(config: RunConfig) -> None:
        ports.append(config.attach)
        raise SystemExit(0)

    monkeypatch.setattr("rlgodot.core.jobs.run.run_random", fake_run)
    for args in ([], ["--attach"], ["--attach", "11012"]):
        result = CliRunner().invoke(main, ["run", "--env", ENV, *args])
        assert result.exit_code == 0, result.output
    assert ports == [None, DEFAULT_ATTACH_PORT, 11012]


def test_the_editor_loads_the_plugin_without_script_errors(godot_binary: GodotBinary,
                                                           project: Path, tmp_path: Path):
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    done = subprocess.run(
        [*godot_binary.command, "--headless", "--editor", "--path", str(copy), "--quit-after",
         "120", "res://envs/attach/train.tscn"],
        capture_output=True, text=True, timeout=120,
    )
    output = done.stdout + done.stderr
    problems = [line for line in output.splitlines()
                if re.search(r"SCRIPT ERROR|Parse Error|Compile Error", line)
                or ("addons/rlgodot" in line and "ERROR" in line)]
    assert not problems, output[-3000:]
