"""Every Godot-side error of docs/PROTOCOL.md from a raw socket, against a real headless Godot.

For each error code: the reply's code, whether the connection stays open as documented, and that
the next request (connection kept) or the next client (connection closed before a successful
hello) still works. Also the deadlines (a silent or stalled client is dropped with a logged
reason), the launch token, the bounds, a client leaving during a long bench, the 127.0.0.1
bind, and script errors raised by a scene (tests/script_error_scene/).
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from raw_wire import RawClient

from rlgodot.core.errors import ScriptError, ScriptErrorWarning
from rlgodot.core.runtime.client import GodotClient
from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, GodotProcess, assemble_project
from rlgodot.core.runtime.protocol import SessionConfig
from rlgodot.core.runtime.protocol.messages import TOKEN_ENV

pytestmark = pytest.mark.godot

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "godot" / "addons" / "rlgodot"
BALL = REPO / "plugins" / "ball" / "godot"
FAULTY = Path(__file__).resolve().parent / "script_error_scene"
SCENE = "res://envs/ball/ball.tscn"
FAULTY_SCENE = "res://envs/faulty/faulty.tscn"
NAMES = ["ball_x", "ball_y", "ball_vx", "ball_vy", "target_x", "target_y", "reached"]


@pytest.fixture(scope="module")
def project(godot_binary: GodotBinary) -> Path:
    return assemble_project(ADDON, {"ball": BALL, "faulty": FAULTY}, {}, godot_binary)


@pytest.fixture
def process(godot_binary: GodotBinary, project: Path) -> Iterator[GodotProcess]:
    with GodotProcess.launch(GodotCommand(godot_binary, project, SCENE), ready_timeout=30) as proc:
        yield proc


@pytest.fixture
def faulty(godot_binary: GodotBinary, project: Path) -> Iterator[GodotProcess]:
    command = GodotCommand(godot_binary, project, FAULTY_SCENE)
    with GodotProcess.launch(command, ready_timeout=30) as proc:
        yield proc


def connect(process: GodotProcess) -> RawClient:
    assert process.port is not None
    return RawClient(process.port)


def works(process: GodotProcess, n: int = 2) -> None:
    """A new client gets a full session: hello, reset, step, ping."""
    with connect(process) as c:
        hello = c.hello(process.token, n_envs=n)
        assert hello["type"] == "hello", hello
        assert_serves(c, n)


def assert_serves(c: RawClient, n: int = 2) -> None:
    reset = c.request({"type": "reset", "seeds": list(range(n))})
    assert reset["type"] == "reset_result" and len(reset["states"]) == n, reset
    step = c.request({"type": "step", "actions": [[0.5, -0.5]] * n})
    assert step["type"] == "step_result" and len(step["states"]) == n, step
    assert c.request({"type": "ping"}) == {"type": "pong"}


def expect_error(reply: dict, code: str) -> str:
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert isinstance(reply["message"], str) and reply["message"], reply
    return reply["message"]


def wait_for_output(process: GodotProcess, text: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tail = process.output_tail(200)
        if text in tail:
            return tail
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in Godot's output:\n{process.output_tail(200)}")


# ---------------------------------------------------------------------------- connection kept

KEPT = [
    ("bad_frame", b"\x00\x01\x02"),
    ("bad_frame", b""),
    ("bad_frame", b"{not json"),
    ("bad_frame", b"[1, 2]"),
    ("bad_frame", b"\xb1\x01"),  # binary magic, header cut short
    ("bad_message", b'{"no_type": 1}'),
    ("bad_message", b'{"type": 7}'),
    ("bad_message", b'{"type": "reset", "indices": "all"}'),
    ("bad_message", b'{"type": "reset", "indices": [0, 0]}'),
    ("bad_message", b'{"type": "reset", "seeds": [-1, 2]}'),
    ("bad_message", b'{"type": "step"}'),
    ("bad_message", b'{"type": "step", "actions": [[0, "x"], [0, 0]]}'),
    ("bad_message", b'{"type": "bench", "steps": 0}'),
    ("bad_message", b'{"type": "bench", "steps": 1000001}'),
    ("bad_message", b'{"type": "bench", "steps": "many"}'),
    ("bad_message", b'{"type": "bench", "steps": 2.5}'),
    ("bad_message", b'{"type": "hello", "protocol": 1}'),  # a second hello
    ("unknown_type", b'{"type": "dance"}'),
    ("bad_action", b'{"type": "step", "actions": [[0, 0]]}'),
    ("bad_action", b'{"type": "step", "actions": [[0, 0, 0], [0, 0, 0]]}'),
    ("bad_action", struct.pack("<BBHIII", 0xB1, 1, 0, 3, 2, 0) + bytes(24)),  # binary, n=3
]


@pytest.fixture(scope="module")
def served(godot_binary: GodotBinary, project: Path) -> Iterator[RawClient]:
    """One session past hello and reset, shared by the connection-kept cases."""
    command = GodotCommand(godot_binary, project, SCENE)
    with GodotProcess.launch(command, ready_timeout=30) as proc, connect(proc) as c:
        assert c.hello(proc.token, n_envs=2)["type"] == "hello"
        assert c.request({"type": "reset"})["type"] == "reset_result"
        yield c


@pytest.mark.parametrize(("code", "body"), KEPT, ids=[f"{c}-{i}" for i, (c, _) in enumerate(KEPT)])
def test_error_keeps_the_connection(served: RawClient, code: str, body: bytes):
    served.send_body(body)
    expect_error(served.recv(), code)
    assert_serves(served)


def test_not_ready_before_hello_and_before_reset(process: GodotProcess):
    with connect(process) as c:
        for request in ({"type": "step", "actions": [[0, 0]]}, {"type": "reset"},
                        {"type": "ping"}, {"type": "bench", "steps": 1}):
            expect_error(c.request(request), "not_ready")
        c.send_body(struct.pack("<BBHIII", 0xB1, 1, 0, 1, 2, 0) + bytes(8))
        expect_error(c.recv(), "not_ready")
        assert c.hello(process.token, n_envs=2)["type"] == "hello"
        expect_error(c.request({"type": "step", "actions": [[0, 0]] * 2}), "not_ready")
        expect_error(c.request({"type": "bench", "steps": 1}), "not_ready")
        assert c.request({"type": "reset", "indices": [0]})["type"] == "reset_result"
        expect_error(c.request({"type": "step", "actions": [[0, 0]] * 2}), "not_ready")
        assert_serves(c)


# ---------------------------------------------------------------------------- connection closed

def _hello(token: str | None, **overrides: object) -> dict:
    message: dict = {"type": "hello", "protocol": 1, "codecs": ["json"], "config": {"n_envs": 2}}
    if token is not None:
        message["token"] = token
    message.update(overrides)
    return message


CLOSING = {
    "protocol_version": lambda t: _hello(t, protocol=99),
    "layout_mismatch": lambda t: _hello(t, expect={"state_names": ["x"], "action_size": 2}),
    "bad_config-n_envs": lambda t: _hello(t, config={"n_envs": 0}),
    "bad_config-action_repeat": lambda t: _hello(t, config={"action_repeat": 1001}),
    "bad_config-realtime_factor": lambda t: _hello(t, config={"realtime_factor": 0.001}),
    "bad_config-script_errors": lambda t: _hello(t, config={"script_errors": "ignore"}),
    "bad_config-options": lambda t: _hello(t, config={"options": {"no_such_option": 1}}),
    "unauthorized-missing": lambda t: _hello(None),
    "unauthorized-wrong": lambda t: _hello("0" * 32),
}


@pytest.mark.parametrize("case", sorted(CLOSING))
def test_fatal_hello_error_closes_and_the_next_client_works(process: GodotProcess, case: str):
    with connect(process) as c:
        c.send(CLOSING[case](process.token))
        expect_error(c.recv(), case.split("-")[0])
        assert c.is_closed()
    wait_for_output(process, "dropped a client before its hello")
    assert process.poll() is None
    works(process)


def test_frame_too_large_before_hello_closes_and_the_next_client_works(process: GodotProcess):
    with connect(process) as c:
        c.send_raw(struct.pack("<I", 0xFFFFFFFF))
        expect_error(c.recv(), "frame_too_large")
        assert c.is_closed()
    works(process)


def test_frame_too_large_after_hello_ends_the_session(process: GodotProcess):
    with connect(process) as c:
        assert c.hello(process.token)["type"] == "hello"
        c.send_raw(struct.pack("<I", 64 * 1024 * 1024 + 1))
        expect_error(c.recv(), "frame_too_large")
        assert c.is_closed()
    assert process.wait(10) == 0


def test_unauthorized_message_names_the_variable_and_the_token_stays_out_of_argv(
    process: GodotProcess,
):
    assert process.token and len(process.token) >= 32
    assert not any(process.token in arg for arg in process.args)
    with open(f"/proc/{process.pid}/environ", "rb") as f:
        assert f"{TOKEN_ENV}={process.token}".encode() in f.read().split(b"\0")
    with connect(process) as c:
        assert TOKEN_ENV in expect_error(c.request(_hello("nope")), "unauthorized")


def test_server_binds_loopback_only(process: GodotProcess):
    port_hex = f"{process.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and local.endswith(":" + port_hex):
                    listening.append(local)
    assert listening == ["0100007F:" + port_hex], listening


# ---------------------------------------------------------------------------- deadlines


def test_silent_and_stalled_clients_are_dropped_and_the_next_is_served(process: GodotProcess):
    start = time.monotonic()
    silent = connect(process)  # accepted first, says nothing
    stalled = connect(process)  # waits in the backlog, then sends half a header
    stalled.send_raw(b"\x10\x00")
    try:
        assert silent.is_closed(timeout=15)
        waited = time.monotonic() - start
        assert 9 <= waited <= 14, waited
        wait_for_output(process, "no hello within 10 s")
        assert stalled.is_closed(timeout=15)
        assert time.monotonic() - start >= 18
    finally:
        silent.close()
        stalled.close()
    works(process)


def test_idle_after_hello_is_allowed_but_a_stalled_frame_ends_the_session(
    process: GodotProcess,
):
    with connect(process) as c:
        assert c.hello(process.token, n_envs=2)["type"] == "hello"
        time.sleep(11)  # longer than every deadline: a pausing trainer is fine
        assert_serves(c)
        c.send_raw(struct.pack("<I", 100) + b"{" * 10)
        start = time.monotonic()
        assert c.is_closed(timeout=15)
        assert 9 <= time.monotonic() - start <= 14
    assert process.wait(10) == 5
    assert "dropped the client" in process.output_tail(50)


def test_a_client_leaving_during_a_long_bench_stops_it(process: GodotProcess):
    with connect(process) as c:
        assert c.hello(process.token, n_envs=64, action_repeat=8)["type"] == "hello"
        assert c.request({"type": "reset"})["type"] == "reset_result"
        c.send({"type": "bench", "steps": 1_000_000})
        time.sleep(0.3)
    start = time.monotonic()
    assert process.wait(5) == 0
    assert time.monotonic() - start < 3
    assert "client left during a bench" in process.output_tail(50)


# ---------------------------------------------------------------------------- script errors


def test_script_error_in_step_and_reset_is_an_error_reply(faulty: GodotProcess):
    with connect(faulty) as c:
        assert c.hello(faulty.token, n_envs=2)["type"] == "hello"
        assert c.request({"type": "reset"})["type"] == "reset_result"
        message = expect_error(c.request({"type": "step", "actions": [[1.0], [0.0]]}),
                               "script_error")
        assert "faulty_agent.gd:36" in message and "apply_action" in message, message
        assert "null" in message, message
        step = c.request({"type": "step", "actions": [[0.25], [0.25]]})  # the connection is kept
        assert step["type"] == "step_result"
        message = expect_error(
            c.request({"type": "reset", "options": {"fail_reset": True}}), "script_error")
        assert "faulty_agent.gd:30" in message and "reset_episode" in message, message
        reset = c.request({"type": "reset", "options": {"fail_reset": False}})
        assert reset["type"] == "reset_result" and reset["states"] == [[0.0], [0.0]]


def test_client_raises_script_error_or_warns(faulty: GodotProcess, godot_binary, project):
    client = GodotClient.connect(faulty.port, process=faulty, request_timeout=10)
    try:
        client.hello(SessionConfig(n_envs=2), ["x"], 1)
        client.reset()
        with pytest.raises(ScriptError, match=r"faulty_agent\.gd:36.*apply_action") as info:
            client.step(np.array([[1.0], [0.0]], np.float32))
        assert info.value.code == "script_error"
        batch = client.step(np.array([[0.5], [0.5]], np.float32))
        assert batch.states.shape == (2, 1)
    finally:
        client.close()
    command = GodotCommand(godot_binary, project, FAULTY_SCENE)
    with GodotProcess.launch(command, ready_timeout=30) as proc:
        client = GodotClient.connect(proc.port, process=proc, request_timeout=10)
        try:
            client.hello(SessionConfig(n_envs=2, script_errors="warn"), ["x"], 1)
            client.reset()
            with pytest.warns(ScriptErrorWarning, match=r"faulty_agent\.gd:36.*apply_action"):
                batch = client.step(np.array([[1.0], [0.0]], np.float32))
            np.testing.assert_allclose(batch.states[:, 0], [1.0, 0.0])
        finally:
            client.close()


def test_script_error_while_hello_creates_the_instances_is_reported_by_the_first_reset(
    faulty: GodotProcess,
):
    with connect(faulty) as c:
        hello = c.hello(faulty.token, n_envs=2, options={"fail_ready": True})
        assert hello["type"] == "hello", hello
        message = expect_error(c.request({"type": "reset"}), "script_error")
        assert "faulty_agent.gd:16" in message and "_ready" in message, message
        assert "... and" not in message  # two instances: two errors, both kept
        assert c.request({"type": "reset"})["type"] == "reset_result"
