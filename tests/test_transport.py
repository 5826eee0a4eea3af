"""The transport against real headless Godot: handshake, reset/step, crashes, hangs, cleanup.

Uses the addon in godot/addons/rlgodot and the ball plugin's scene. Without Godot the tests skip
locally and fail under CI (the ``godot_binary`` fixture).
Every process is started behind a fixture that terminates it, and an autouse fixture checks
that no Godot child process survives a test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rlgodot.core.errors import (
    GodotCrashed,
    GodotTimeout,
    InvalidAction,
    InvalidOption,
    LayoutMismatch,
    RemoteError,
)
from rlgodot.core.runtime.client import AsyncGodotClient, AsyncGodotPool, GodotClient
from rlgodot.core.runtime.launcher import (
    GodotBinary,
    GodotCommand,
    GodotProcess,
    assemble_project,
)
from rlgodot.core.runtime.launcher.process import live_processes
from rlgodot.core.runtime.protocol import RESET, TERMINATED, TRUNCATED, SessionConfig
from rlgodot.core.runtime.session import GodotSession

pytestmark = pytest.mark.godot

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "godot" / "addons" / "rlgodot"
BALL = REPO / "plugins" / "ball" / "godot"
SCENE = "res://envs/ball/ball.tscn"
NAMES = ["ball_x", "ball_y", "ball_vx", "ball_vy", "target_x", "target_y", "reached"]
S, A = len(NAMES), 2


@pytest.fixture(scope="session")
def godot(godot_binary: GodotBinary) -> GodotBinary:
    return godot_binary


@pytest.fixture(scope="session")
def project(godot: GodotBinary) -> Path:
    return assemble_project(ADDON, {"ball": BALL}, {}, godot)


def child_pids() -> set[int]:
    """Live (non-zombie) child processes of this test process."""
    me = os.getpid()
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            children.add(int(entry))
    return children


@pytest.fixture(autouse=True)
def no_godot_left_behind() -> Iterator[None]:
    before = child_pids()
    yield
    leftover = [p for p in live_processes()]
    for process in leftover:
        process.terminate(1.0)
    assert not leftover, f"processes left running: {leftover}"
    assert child_pids() <= before, "a Godot child process survived the test"


@pytest.fixture
def process(godot: GodotBinary, project: Path) -> Iterator[GodotProcess]:
    with GodotProcess.launch(GodotCommand(godot, project, SCENE), ready_timeout=30) as proc:
        yield proc


@pytest.fixture
def client(process: GodotProcess) -> Iterator[GodotClient]:
    c = GodotClient.connect(process.port, process=process, request_timeout=10)
    try:
        yield c
    finally:
        c.close()


def launch(godot: GodotBinary, project: Path, **kwargs) -> GodotSession:
    kwargs.setdefault("n_envs", 1)
    kwargs.setdefault("config", SessionConfig(action_repeat=4, max_episode_steps=50))
    kwargs.setdefault("expect_state_names", NAMES)
    kwargs.setdefault("expect_action_size", A)
    kwargs.setdefault("timeout", 10.0)
    return GodotSession.launch(GodotCommand(godot, project, SCENE), **kwargs)


# ---------------------------------------------------------------------------- handshake


def test_handshake(client: GodotClient, process: GodotProcess):
    info = client.hello(SessionConfig(n_envs=3), NAMES, A)
    assert info.protocol == 1
    assert list(info.state_names) == NAMES and info.action_size == A
    assert info.codec == "binary" and info.n_envs == 3
    assert info.scene == SCENE and info.physics_hz == 60
    assert info.max_frame_bytes > 0
    assert client.ping() > 0
    client.close()
    assert process.wait(5) == 0, "Godot quits with 0 after close"


def test_layout_mismatch_is_refused(godot: GodotBinary, project: Path):
    with pytest.raises(LayoutMismatch, match="ball_x"):
        launch(godot, project, expect_state_names=["x", "y"])
    with pytest.raises(LayoutMismatch):
        launch(godot, project, expect_action_size=3)


def test_request_before_reset_is_a_remote_error_and_the_connection_survives(
    client: GodotClient,
):
    client.hello(SessionConfig(n_envs=1), NAMES, A)
    with pytest.raises(RemoteError) as info:
        client.step(np.zeros((1, A), np.float32))
    assert info.value.code == "not_ready"
    batch = client.reset(seeds=[1])
    assert batch.states.shape == (1, S)


def test_a_client_without_the_launch_token_is_refused_and_the_owner_still_connects(
    process: GodotProcess,
):
    intruder = GodotClient.connect(process.port, request_timeout=10)  # no process: no token
    try:
        with pytest.raises(RemoteError, match="RLGODOT_TOKEN") as info:
            intruder.hello(SessionConfig(n_envs=1), NAMES, A)
        assert info.value.code == "unauthorized"
    finally:
        intruder.close()
    owner = GodotClient.connect(process.port, request_timeout=10, token=process.token)
    try:
        owner.hello(SessionConfig(n_envs=2), NAMES, A)
        assert owner.reset(seeds=[1, 2]).states.shape == (2, S)
    finally:
        owner.close()


def test_bench_steps_are_bounded_before_sending(client: GodotClient):
    client.hello(SessionConfig(n_envs=1), NAMES, A)
    client.reset(seeds=[1])
    for steps in (0, 1_000_001, 2.5, True):
        with pytest.raises(InvalidOption, match="bench steps"):
            client.bench(steps)
    assert client.bench(10)["steps"] == 10


# ---------------------------------------------------------------------------- reset / step


@pytest.mark.parametrize("codec", ["binary", "json"])
def test_reset_and_step_one_instance(process: GodotProcess, codec: str):
    async def main() -> None:
        client = await AsyncGodotClient.connect(process.port, process=process)
        try:
            config = SessionConfig(n_envs=1, action_repeat=4, max_episode_steps=5)
            info = await client.hello(config, NAMES, A, codecs=[codec])
            assert info.codec == codec
            first = await client.reset(seeds=[7])
            assert first.states.shape == (1, S) and first.states.dtype == np.float32
            assert first.status.tolist() == [0]
            again = await client.reset(seeds=[7])
            np.testing.assert_array_equal(first.states, again.states)
            statuses = []
            for _ in range(5):
                batch = await client.step(np.zeros((1, A), np.float32))
                statuses.append(int(batch.status[0]))
            assert batch.states.shape == (1, S)
            # The ball does not move under zero force, so the 5th step truncates.
            assert statuses[:4] == [0, 0, 0, 0] and statuses[4] & TRUNCATED
            assert batch.terminal_indices.tolist() == [0]
            np.testing.assert_array_equal(batch.terminal_states[0, :2], first.states[0, :2])
        finally:
            await client.close()

    asyncio.run(main())


def test_session_n8_over_two_processes(godot: GodotBinary, project: Path):
    with launch(godot, project, n_envs=8, n_procs=2) as session:
        assert session.counts == (4, 4) and len(session.processes) == 2
        assert session.info.n_envs == 8 and list(session.info.state_names) == NAMES
        seeds = list(range(100, 108))
        states = session.reset(seeds=seeds).states
        assert states.shape == (8, S)
        # States are relative to each arena, so a seed gives the same start in any process.
        np.testing.assert_array_equal(session.reset(seeds=[103] * 8).states, states[[3] * 8])
        # Indices are global and routed to their process; rows come back in indices order.
        subset = session.reset(seeds=[106, 101, 105], indices=[6, 1, 5])
        np.testing.assert_array_equal(subset.states, states[[6, 1, 5]])

        # Push every ball toward its target: some episodes must terminate (same_step).
        session.reset(seeds=seeds)
        ended = np.zeros(8, bool)
        batch = session.reset(seeds=seeds)
        for _ in range(60):
            direction = batch.states[:, 4:6] - batch.states[:, 0:2]
            actions = direction / np.linalg.norm(direction, axis=1, keepdims=True)
            batch = session.step(actions)
            assert batch.states.shape == (8, S) and batch.status.shape == (8,)
            done = np.flatnonzero(batch.status & (TERMINATED | TRUNCATED))
            assert sorted(batch.terminal_indices.tolist()) == done.tolist()
            ended[done] = True
        assert ended.all(), "every ball reaches its target or times out within 60 steps"
        assert [t for t in session.ping()] and all(t > 0 for t in session.ping())


def test_next_step_autoreset(godot: GodotBinary, project: Path):
    config = SessionConfig(action_repeat=1, max_episode_steps=3, autoreset="next_step")
    with launch(godot, project, n_envs=2, config=config) as session:
        session.reset(seeds=[1, 2])
        statuses = [session.step(np.zeros((2, A))).status.tolist() for _ in range(4)]
        assert statuses[2] == [TRUNCATED, TRUNCATED]
        assert statuses[3] == [RESET, RESET]


def test_spinning_session_steps_exactly_like_a_blocking_one(godot: GodotBinary, project: Path):
    actions = np.random.default_rng(0).uniform(-1, 1, (40, 2, A)).astype(np.float32)
    runs = []
    for spin in (0, 300):
        config = SessionConfig(action_repeat=2, max_episode_steps=25, spin_usec=spin)
        with launch(godot, project, n_envs=2, config=config) as session:
            assert session.info.raw["spin_usec"] == spin, "Godot applies and echoes spin_usec"
            batches = [session.reset(seeds=[3, 4])]
            batches += [session.step(a) for a in actions]
        runs.append(np.stack([b.states for b in batches]))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_spinning_single_client_steps_exactly_like_a_blocking_one(
    godot: GodotBinary, project: Path
):
    actions = np.random.default_rng(1).uniform(-1, 1, (30, 1, A)).astype(np.float32)
    runs = []
    for spin in (0, 300):
        with GodotProcess.launch(GodotCommand(godot, project, SCENE), ready_timeout=30) as proc:
            client = GodotClient.connect(proc.port, process=proc, request_timeout=10)
            try:
                client.hello(SessionConfig(n_envs=1, spin_usec=spin), NAMES, A)
                states = [client.reset(seeds=[5]).states]
                states += [client.step(a).states for a in actions]
            finally:
                client.close()
        runs.append(np.stack(states))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_spin_is_chosen_only_when_python_keeps_a_core():
    from rlgodot.core.runtime.settings import AUTO_SPIN_USEC, LaunchSettings

    cpus = len(os.sched_getaffinity(0))
    assert LaunchSettings(n_procs=cpus).resolved_spin_usec() == 0
    assert LaunchSettings(n_procs=cpus - 1).resolved_spin_usec() == (
        AUTO_SPIN_USEC if cpus > 1 else 0)
    assert LaunchSettings(n_procs=1, spin_usec=0).resolved_spin_usec() == 0
    assert LaunchSettings(n_procs=8, spin_usec=50).resolved_spin_usec() == 50


def test_invalid_actions_are_refused_before_sending(godot: GodotBinary, project: Path):
    with launch(godot, project, n_envs=2, n_procs=2) as session:
        session.reset(seeds=[1, 2])
        for bad in (np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(4), [[0, "x"], [0, 0]]):
            with pytest.raises(InvalidAction):
                session.step(bad)
        with pytest.raises(InvalidAction, match="finite"):
            session.step(np.array([[0.0, np.nan], [0.0, 0.0]]))
        with pytest.raises(InvalidOption):
            session.reset(indices=[0, 2])
        with pytest.raises(InvalidOption):
            session.reset(seeds=[1])
        assert session.step(np.zeros((2, A))).states.shape == (2, S)  # still in sync


def test_async_pool_fans_out(godot: GodotBinary, project: Path):
    async def main() -> None:
        processes = [GodotProcess.launch(GodotCommand(godot, project, SCENE)) for _ in range(2)]
        clients = [await AsyncGodotClient.connect(p.port, process=p) for p in processes]
        pool = AsyncGodotPool(clients)
        try:
            info = await pool.hello(SessionConfig(n_envs=5, max_episode_steps=10), NAMES, A)
            assert info.n_envs == 5 and pool.counts == (3, 2) and pool.offsets == (0, 3)
            batch = await pool.reset(seeds=[1, 2, 3, 4, 5])
            assert batch.states.shape == (5, S)
            batch = await pool.step(np.zeros((5, A)))
            assert batch.states.shape == (5, S)
        finally:
            await pool.close()
            for p in processes:
                p.terminate()

    asyncio.run(main())


# ---------------------------------------------------------------------------- failures


@pytest.mark.parametrize("spin_usec", [0, 300])
def test_kill_9_mid_episode_is_godot_crashed(godot: GodotBinary, project: Path, spin_usec: int):
    config = SessionConfig(action_repeat=4, max_episode_steps=50, spin_usec=spin_usec)
    with launch(godot, project, n_envs=4, n_procs=2, config=config) as session:
        session.reset(seeds=[1, 2, 3, 4])
        session.step(np.zeros((4, A)))
        victim = session.processes[1]
        os.kill(victim.pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(GodotCrashed) as info:
            for _ in range(100):
                session.step(np.zeros((4, A)))
        assert time.monotonic() - start < 2.0
        message = str(info.value)
        assert f"pid {victim.pid}" in message and "SIGKILL" in message
        with pytest.raises(GodotCrashed):
            session.step(np.zeros((4, A)))
    assert all(p.poll() is not None for p in session.processes)


@pytest.mark.parametrize("spin_usec", [0, 300])
def test_sigstop_is_godot_timeout(godot: GodotBinary, project: Path, spin_usec: int):
    config = SessionConfig(action_repeat=4, max_episode_steps=50, spin_usec=spin_usec)
    with launch(godot, project, n_envs=2, config=config) as session:
        session.reset(seeds=[1, 2])
        victim = session.processes[0]
        os.kill(victim.pid, signal.SIGSTOP)
        start = time.monotonic()
        with pytest.raises(GodotTimeout) as info:
            session.step(np.zeros((2, A)), timeout=1.0)
        assert 0.9 < time.monotonic() - start < 2.5
        assert f"pid {victim.pid}" in str(info.value) and "within 1 s" in str(info.value)
    # Leaving the block closed the session: close() must end a stopped process too.
    assert victim.poll() is not None


def test_partial_launch_failure_terminates_everything(godot: GodotBinary, project: Path):
    with pytest.raises(LayoutMismatch):
        launch(godot, project, n_envs=4, n_procs=2, expect_action_size=5)
    # The autouse fixture asserts that no process survived.


def test_launch_is_concurrent_and_reports_time(godot: GodotBinary, project: Path):
    with launch(godot, project, n_envs=4, n_procs=4) as four:
        processes = four.processes
        assert four.launch_seconds > 0.0
    # Concurrent: every process was started before the first one was ready (serial launches
    # start each only after the previous one listens).
    assert max(p.spawned_at for p in processes) < min(p.ready_at for p in processes)
