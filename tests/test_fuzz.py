"""Fuzzing one real headless Godot with thousands of random and mutated frames.

Two phases, each on one Godot process, bounded in count and time:

* before hello: many connections, each sending a few fuzzed frames (mutated hellos with the
  right token, random bytes, oversized lengths, frames cut short and the socket closed). Godot
  answers or closes each and keeps accepting the next client; then a real client (hello, reset,
  step) is served correctly.
* after hello: one session receives thousands of complete fuzzed frames (random bytes, valid
  frames with flipped bytes, truncated bodies, wrong JSON types, huge numbers, NaN, deep
  nesting, binary steps with random headers and NaN floats). Each gets exactly one reply within
  a deadline and the connection stays open (as documented); at the end a seeded reset + step
  equals a fresh process's.

Godot must never crash (alive at the end) or hang (every exchange has a deadline).
"""

from __future__ import annotations

import json
import random
import socket
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from raw_wire import RawClient

from rlgodot.core.runtime.client import GodotClient
from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, GodotProcess, assemble_project
from rlgodot.core.runtime.protocol import SessionConfig

pytestmark = pytest.mark.godot

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "godot" / "addons" / "rlgodot"
BALL = REPO / "plugins" / "ball" / "godot"
SCENE = "res://envs/ball/ball.tscn"
N, A = 4, 2
SEEDS = [11, 12, 13, 14]
EXCHANGE_DEADLINE = 5.0
PRE_HELLO_CONNECTIONS = 1000
POST_HELLO_FRAMES = 10000
PHASE_SECONDS = 25.0

WEIRD: list[Any] = [
    None, True, False, "", "x" * 1000, [], {}, [[]], -1, 0, 1, 2**31, 2**63, 2**64, -(2**63),
    10**30, 1e308, -1e308, 1e-320, 0.5, float("nan"), float("inf"), -float("inf"),
    [float("nan")] * 2, [[float("nan")] * A] * N, [[1e30] * A] * N, {"type": "step"},
    list(range(5000)), "\u0000\uffff",
]


@pytest.fixture(scope="module")
def project(godot_binary: GodotBinary) -> Path:
    return assemble_project(ADDON, {"ball": BALL}, {}, godot_binary)


def launch(godot: GodotBinary, project: Path) -> GodotProcess:
    return GodotProcess.launch(GodotCommand(godot, project, SCENE), ready_timeout=30)


def reference_states(godot: GodotBinary, project: Path) -> tuple[np.ndarray, np.ndarray]:
    """What a fresh Godot answers to the seeded reset + step the fuzzed ones must match."""
    with launch(godot, project) as proc:
        return real_client_run(proc)


def real_client_run(proc: GodotProcess) -> tuple[np.ndarray, np.ndarray]:
    client = GodotClient.connect(proc.port, process=proc, request_timeout=10)
    try:
        client.hello(SessionConfig(n_envs=N), expect_action_size=A)
        first = client.reset(seeds=SEEDS)
        after = client.step(np.full((N, A), 0.5, np.float32))
        return first.states, after.states
    finally:
        client.close()


# ---------------------------------------------------------------------------- generators


def json_body(message: Any) -> bytes:
    return json.dumps(message, allow_nan=True).encode()


def valid_messages(rng: random.Random) -> list[dict[str, Any]]:
    actions = [[rng.uniform(-1, 1) for _ in range(A)] for _ in range(N)]
    return [
        {"type": "step", "actions": actions},
        {"type": "reset"},
        {"type": "reset", "seeds": [rng.randrange(2**63) for _ in range(N)]},
        {"type": "reset", "indices": [1, 3], "seeds": [5, 6], "options": {"target_radius": 0.5}},
        {"type": "ping"},
    ]


BAD_EXPECT = {"action_size": 99}  # checked after every config field: no fuzzed hello succeeds


def hello_message(token: str | None, rng: random.Random) -> dict[str, Any]:
    return {
        "type": "hello", "protocol": 1, "token": token, "codecs": ["binary", "json"],
        "config": {"n_envs": rng.randint(1, 8), "action_repeat": 4, "max_episode_steps": 100,
                   "autoreset": "same_step", "realtime_factor": 0.0, "time_scale": 1.0,
                   "options": {}, "spin_usec": 0, "script_errors": "raise"},
        "expect": BAD_EXPECT,
    }


def replace_random_field(message: Any, rng: random.Random) -> Any:
    """Replace one value somewhere in a JSON structure with a weird one."""
    if isinstance(message, dict) and message:
        key = rng.choice(list(message))
        if rng.random() < 0.5 and isinstance(message[key], (dict, list)) and message[key]:
            return {**message, key: replace_random_field(message[key], rng)}
        return {**message, key: rng.choice(WEIRD)}
    if isinstance(message, list) and message:
        i = rng.randrange(len(message))
        copy = list(message)
        copy[i] = replace_random_field(copy[i], rng) if rng.random() < 0.5 else rng.choice(WEIRD)
        return copy
    return rng.choice(WEIRD)


def flip_bytes(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def binary_step(rng: random.Random) -> bytes:
    rows = rng.choice([N, N, N, 0, 1, N + 1, 2**32 - 1])
    width = rng.choice([A, A, A, 0, 1, 3, 2**32 - 1])
    payload_floats = rng.choice([N * A, N * A, 0, 1, N * A + 1, rng.randrange(64)])
    floats = rng.choice([
        [rng.uniform(-1, 1) for _ in range(payload_floats)],
        [float("nan")] * payload_floats,
        [float("inf")] * payload_floats,
        [3.0e38] * payload_floats,
    ])
    kind = rng.choice([1, 1, 1, 2, 3, 0, 255])
    return struct.pack("<BBHIII", 0xB1, kind, 0, rows, width, 0) + struct.pack(
        f"<{len(floats)}f", *floats
    )


def deep(depth: int) -> bytes:
    return b'{"type":"reset","options":' + b"[" * depth + b"]" * depth + b"}"


def fuzz_body(rng: random.Random, base: list[dict[str, Any]]) -> bytes:
    """One complete fuzzed frame body (never announcing more than the limit)."""
    choice = rng.randrange(8)
    if choice == 0:
        first = rng.choice([b"{", b"\xb1", bytes([rng.randrange(256)])])
        return first + rng.randbytes(rng.randrange(0, 200))
    if choice == 1:
        return flip_bytes(json_body(rng.choice(base)), rng)
    if choice == 2:
        body = json_body(rng.choice(base))
        return body[: rng.randrange(len(body))]
    if choice in (3, 4):
        return json_body(replace_random_field(rng.choice(base), rng))
    if choice == 5:
        return binary_step(rng)
    if choice == 6:
        return flip_bytes(binary_step(rng), rng)
    return rng.choice(
        [deep(rng.choice([10, 600, 5000])), b"{}" * rng.randrange(1, 50), b"{" * 4000]
    )


# ---------------------------------------------------------------------------- phases


def reply_or_close(c: RawClient) -> bytes | None:
    """The next reply body, or None when Godot closed; fails when neither comes in time."""
    try:
        return c.recv_body()
    except (ConnectionError, OSError) as exc:
        if isinstance(exc, TimeoutError | socket.timeout):
            raise AssertionError(f"no reply or close within {EXCHANGE_DEADLINE} s") from exc
        return None


def check_reply(body: bytes | None, sent: bytes) -> None:
    assert body is not None, f"Godot closed the session after {sent[:120]!r}"
    if body[:1] == b"{":
        reply = json.loads(body)
        assert reply["type"] in ("error", "reset_result", "step_result", "pong", "hello"), reply
    else:
        assert body[:1] == b"\xb1" and body[1] in (2, 3), body[:16]


def test_fuzz_before_hello_then_a_real_client(godot_binary: GodotBinary, project: Path):
    expected = reference_states(godot_binary, project)
    rng = random.Random(1)
    with launch(godot_binary, project) as proc:
        assert proc.port is not None
        start = time.monotonic()
        exchanges = 0
        for _ in range(PRE_HELLO_CONNECTIONS):
            if time.monotonic() - start > PHASE_SECONDS:
                break
            c = RawClient(proc.port, timeout=EXCHANGE_DEADLINE)
            try:
                for _ in range(rng.randint(1, 6)):
                    mode = rng.randrange(10)
                    if mode == 0:  # a frame cut short, then the client leaves
                        c.send_raw(struct.pack("<I", 100) + rng.randbytes(rng.randrange(100)))
                        break
                    if mode == 1:  # an oversized length
                        c.send_raw(struct.pack("<I", rng.randrange(64 * 2**20 + 1, 2**32)))
                    else:
                        hello = hello_message(proc.token, rng)
                        mutated = replace_random_field(hello, rng)
                        # A hello that succeeded would make this connection the session: the
                        # layout mismatch (checked last) or a wrong token keeps it failing.
                        if (
                            isinstance(mutated, dict)
                            and mutated.get("expect") != BAD_EXPECT
                            and mutated.get("token") == proc.token
                        ):
                            mutated = {**mutated, "token": rng.choice([None, 1, "x", []])}
                        body = rng.choice([json_body(mutated), fuzz_body(rng, [mutated])])
                        c.send_body(body)
                    exchanges += 1
                    if reply_or_close(c) is None:
                        break
            finally:
                c.close()
        assert exchanges >= 1000, exchanges
        print(f"before hello: {exchanges} exchanges in {time.monotonic() - start:.1f} s")
        assert proc.poll() is None, proc.output_tail()
        states = real_client_run(proc)
        np.testing.assert_array_equal(states[0], expected[0])
        np.testing.assert_array_equal(states[1], expected[1])


def test_fuzz_after_hello_then_a_real_session(godot_binary: GodotBinary, project: Path):
    expected = reference_states(godot_binary, project)
    rng = random.Random(2)
    with launch(godot_binary, project) as proc:
        assert proc.port is not None
        with RawClient(proc.port, timeout=EXCHANGE_DEADLINE) as c:
            hello = c.hello(proc.token, n_envs=N)
            assert hello["type"] == "hello", hello
            assert c.request({"type": "reset"})["type"] == "reset_result"
            start = time.monotonic()
            sent = 0
            while sent < POST_HELLO_FRAMES and time.monotonic() - start < PHASE_SECONDS:
                body = fuzz_body(rng, valid_messages(rng))
                c.send_body(body)
                check_reply(reply_or_close(c), body)
                sent += 1
            assert sent >= 1000, sent
            print(f"after hello: {sent} frames in {time.monotonic() - start:.1f} s")
            assert proc.poll() is None, proc.output_tail()
            first = c.request({"type": "reset", "seeds": SEEDS, "options": {}})
            # The reset options merge over the session's: put any fuzzed option back to default.
            assert first["type"] == "reset_result", first
            after = c.request({"type": "step", "actions": [[0.5] * A] * N})
            assert after["type"] == "step_result", after
            np.testing.assert_array_equal(np.float32(first["states"]), expected[0])
            np.testing.assert_array_equal(np.float32(after["states"]), expected[1])
            assert c.request({"type": "close"}) == {"type": "bye"}
        assert proc.wait(10) == 0

