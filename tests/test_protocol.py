"""Wire protocol v1 without Godot: framing, codecs, byte layout, malformed input."""

from __future__ import annotations

import asyncio
import json
import struct

import numpy as np
import pytest

from rlgodot.core.errors import InvalidOption, ProtocolError
from rlgodot.core.runtime.protocol import (
    DEFAULT_MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    RESET,
    TERMINATED,
    TRUNCATED,
    ServerInfo,
    SessionConfig,
    StepBatch,
    batch_from_json,
    concat_batches,
    decode_binary_result,
    decode_frames,
    decode_json,
    decode_length,
    decode_reply,
    encode_frame,
    encode_json,
)
from rlgodot.core.runtime.protocol.framing import FrameProtocol
from rlgodot.core.testing.wire import (
    FrameReader,
    FrameWriter,
    decode_binary_step,
    encode_binary_result,
    encode_binary_step,
    encode_frames,
    encode_result,
    encode_step,
    split_frames,
)


def make_batch(n: int = 3, width: int = 4, terminal: tuple[int, ...] = (1,)) -> StepBatch:
    rng = np.random.default_rng(0)
    status = np.zeros(n, np.uint8)
    status[list(terminal)] = TERMINATED
    return StepBatch(
        rng.standard_normal((n, width)).astype(np.float32),
        status,
        np.asarray(terminal, np.int64),
        rng.standard_normal((len(terminal), width)).astype(np.float32),
    )


def assert_batches_equal(a: StepBatch, b: StepBatch) -> None:
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.terminal_indices, b.terminal_indices)
    np.testing.assert_array_equal(a.terminal_states, b.terminal_states)
    assert a.states.dtype == np.float32 and a.status.dtype == np.uint8
    assert a.terminal_indices.dtype == np.int64 and a.terminal_states.dtype == np.float32


# ---------------------------------------------------------------------------- constants


def test_constants_match_the_doc():
    assert PROTOCOL_VERSION == 1
    assert (TERMINATED, TRUNCATED, RESET) == (1, 2, 4)
    assert DEFAULT_MAX_FRAME_BYTES == 64 * 1024 * 1024


# ---------------------------------------------------------------------------- framing


def test_frame_round_trip_and_layout():
    body = b'{"type":"ping"}'
    frame = encode_frame(body)
    assert frame[:4] == struct.pack("<I", len(body))
    assert decode_length(frame[:4]) == len(body)
    bodies, rest = split_frames(frame + frame + frame[:6])
    assert bodies == [body, body]
    assert rest == frame[:6]


def test_split_frames_handles_empty_body_and_partial_header():
    bodies, rest = split_frames(encode_frame(b"") + b"\x01\x00")
    assert bodies == [b""]
    assert rest == b"\x01\x00"


def test_frame_limit_both_ways():
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        encode_frame(b"x" * 11, max_frame_bytes=10)
    with pytest.raises(ProtocolError, match="over the limit"):
        decode_length(struct.pack("<I", 11), max_frame_bytes=10)
    with pytest.raises(ProtocolError, match="over the limit"):
        split_frames(struct.pack("<I", DEFAULT_MAX_FRAME_BYTES + 1))
    with pytest.raises(ProtocolError, match="4 bytes"):
        decode_length(b"\x00\x00")


def test_stream_reader_writer_round_trip():
    async def main() -> list[bytes]:
        received: list[bytes] = []
        done = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            frames = FrameReader(reader)
            for _ in range(3):
                received.append(await frames.read())
            with pytest.raises(asyncio.IncompleteReadError):
                await frames.read()
            writer.close()
            done.set()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        frames = FrameWriter(writer)
        for body in (b"{}", b"", b"\xb1" * 100_000):
            frames.write(body)
        await frames.drain()
        writer.close()
        await done.wait()
        server.close()
        return received

    assert asyncio.run(main()) == [b"{}", b"", b"\xb1" * 100_000]


def test_frame_protocol_cuts_frames_across_chunks_and_rejects_oversize():
    class FakeTransport(asyncio.Transport):
        aborted = False

        def abort(self) -> None:
            self.aborted = True

    async def main() -> None:
        proto = FrameProtocol(max_frame_bytes=1000)
        transport = FakeTransport()
        proto.connection_made(transport)
        stream = encode_frame(b"{1}") + encode_frame(b"\xb1" * 500) + encode_frame(b"{3}")
        for i in range(0, len(stream), 7):  # arbitrary chunking
            proto.data_received(stream[i : i + 7])
        assert (await proto.next_frame()) == b"{1}"
        assert (await proto.next_frame()) == b"\xb1" * 500
        future = proto.next_frame()
        assert isinstance(future.result(), bytearray) and future.result() == b"{3}"
        pending = proto.next_frame()
        proto.data_received(struct.pack("<I", 1001))
        with pytest.raises(ProtocolError, match="over the limit"):
            await pending
        assert transport.aborted

    asyncio.run(main())


def test_frame_protocol_eof_fails_the_waiter():
    async def main() -> None:
        proto = FrameProtocol()
        proto.connection_made(asyncio.Transport())
        waiter = proto.next_frame()
        proto.connection_lost(None)
        with pytest.raises(ConnectionError):
            await waiter
        with pytest.raises(ConnectionError):
            await proto.next_frame()

    asyncio.run(main())


# ---------------------------------------------------------------------------- JSON


def test_json_round_trip():
    message = {"type": "reset", "seeds": [1, 2], "options": {"wind": 0.5, "name": "é"}}
    body = encode_json(message)
    assert body.startswith(b"{")
    assert decode_json(body) == message
    assert decode_reply(body) == message


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"no_type": 1}', b'{"type": 3}', b"{\xff}", b"\x00abc", b""],
)
def test_malformed_json_or_first_byte_raises(body: bytes):
    with pytest.raises(ProtocolError):
        decode_reply(body)


def test_encode_json_refuses_nan_and_missing_type():
    with pytest.raises(ProtocolError):
        encode_json({"type": "step", "actions": [[float("nan")]]})
    with pytest.raises(ProtocolError):
        encode_json({"actions": []})


def test_json_result_round_trip():
    batch = make_batch()
    body = encode_result("step_result", batch, "json")
    message = decode_json(body)
    assert message["terminal"][0][0] == 1
    assert_batches_equal(batch_from_json(message, 4), batch)


def test_json_result_with_no_rows_and_no_terminals():
    message = {"type": "reset_result", "states": [], "status": []}
    batch = batch_from_json(message, 7)
    assert batch.states.shape == (0, 7)
    assert batch.terminal_states.shape == (0, 7)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "step_result", "status": [0]},
        {"type": "step_result", "states": [[1.0, 2.0]], "status": [0]},
        {"type": "step_result", "states": [[1.0, 2.0, 3.0]], "status": [0, 0]},
        {"type": "step_result", "states": [[1, 2, 3]], "status": [1], "terminal": [[5, [1, 2, 3]]]},
        {"type": "step_result", "states": [[1, 2, 3]], "status": [1], "terminal": [[0, [1]]]},
        {"type": "step_result", "states": [["a", 2, 3]], "status": [0]},
    ],
)
def test_malformed_json_results_raise(message: dict):
    with pytest.raises(ProtocolError):
        batch_from_json(message, 3)


# ---------------------------------------------------------------------------- binary


def test_binary_step_layout_is_byte_exact():
    actions = np.array([[0.5, -1.0], [2.0, 0.25]], np.float64)
    body = encode_binary_step(actions)
    expected = struct.pack("<BBHIII", 0xB1, 1, 0, 2, 2, 0) + struct.pack(
        "<4f", 0.5, -1.0, 2.0, 0.25
    )
    assert body == expected
    np.testing.assert_array_equal(decode_binary_step(body), actions.astype(np.float32))
    assert encode_step(actions, "binary") == body
    assert decode_json(encode_step(actions, "json")) == {
        "type": "step",
        "actions": [[0.5, -1.0], [2.0, 0.25]],
    }


def test_binary_result_layout_is_byte_exact():
    states = np.arange(15, dtype=np.float32).reshape(5, 3)
    status = np.array([0, TERMINATED, 0, TRUNCATED, 0], np.uint8)
    terminal = np.array([1, 3], np.int64)
    terminal_states = np.array([[9, 9, 9], [8, 8, 8]], np.float32)
    batch = StepBatch(states, status, terminal, terminal_states)
    body = encode_binary_result("step_result", batch)
    expected = (
        struct.pack("<BBHIII", 0xB1, 2, 0, 5, 3, 2)
        + struct.pack("<15f", *range(15))
        + bytes([0, 1, 0, 2, 0])
        + b"\x00\x00\x00"  # status padded to a multiple of 4 bytes
        + struct.pack("<2I", 1, 3)
        + struct.pack("<6f", 9, 9, 9, 8, 8, 8)
    )
    assert body == expected
    decoded = decode_binary_result(body)
    assert decoded.type == "step_result"
    assert_batches_equal(decoded.batch, batch)


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 8])
def test_binary_round_trip_all_paddings(n: int):
    batch = make_batch(n=max(n, 1), width=7, terminal=())
    if n == 0:
        batch = StepBatch.empty_terminals(np.zeros((0, 7), np.float32), np.zeros(0, np.uint8))
    for kind in ("step_result", "reset_result"):
        decoded = decode_reply(encode_result(kind, batch, "binary"))
        assert decoded.type == kind
        assert_batches_equal(decoded.batch, batch)


def test_decoded_binary_arrays_are_writable():
    decoded = decode_binary_result(bytes(encode_binary_result("step_result", make_batch())))
    decoded.batch.states[0, 0] = 42.0
    decoded.batch.status[0] = 7


def _result_body(**overrides: int) -> bytes:
    fields = {"magic": 0xB1, "kind": 2, "n": 2, "width": 2, "k": 0}
    fields.update(overrides)
    header = struct.pack(
        "<BBHIII", fields["magic"], fields["kind"], 0, fields["n"], fields["width"], fields["k"]
    )
    return header + bytes(4 * 2 * 2) + bytes(4)


@pytest.mark.parametrize(
    "body",
    [
        b"\xb1\x02\x00",  # shorter than the header
        _result_body(magic=0xB2),
        _result_body(kind=9),
        _result_body(kind=1),  # a step is not a result
        _result_body(n=3),  # size disagrees with the header
        _result_body(k=1),  # terminal rows announced but missing
        _result_body() + b"\x00",  # trailing garbage
    ],
)
def test_malformed_binary_raises(body: bytes):
    with pytest.raises(ProtocolError):
        decode_binary_result(body)


def test_binary_terminal_index_out_of_range_raises():
    batch = make_batch(n=2, width=2, terminal=(1,))
    body = bytearray(encode_binary_result("step_result", batch))
    index_offset = 16 + 4 * 2 * 2 + 4
    body[index_offset : index_offset + 4] = struct.pack("<I", 2)
    with pytest.raises(ProtocolError, match="outside"):
        decode_binary_result(bytes(body))


def test_malformed_binary_step_raises():
    body = encode_binary_step(np.zeros((2, 2), np.float32))
    with pytest.raises(ProtocolError):
        decode_binary_step(body[:-1])
    with pytest.raises(ProtocolError):
        decode_binary_step(encode_binary_result("step_result", make_batch()))


def test_frames_layout_is_byte_exact():
    frames = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3)  # n=2, H=2, W=3
    body = encode_frames(frames)
    assert body == struct.pack("<BBHIII", 0xB1, 4, 0, 2, 3, 2) + bytes(range(36))
    for decoded in (decode_frames(body), decode_reply(body)):
        assert isinstance(decoded, np.ndarray) and decoded.dtype == np.uint8
        np.testing.assert_array_equal(decoded, frames)
    decode_frames(body)[0, 0, 0, 0] = 255  # writable, like the step arrays
    assert decode_frames(encode_frames(np.zeros((0, 4, 4, 3), np.uint8))).shape == (0, 4, 4, 3)


def _frames_body(n: int = 2, width: int = 3, height: int = 2, pixels: int | None = None) -> bytes:
    size = n * width * height * 3 if pixels is None else pixels
    return struct.pack("<BBHIII", 0xB1, 4, 0, n, width, height) + bytes(size)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_frames_body(pixels=35), "must be 52 bytes.*got 51"),
        (_frames_body(pixels=37), "must be 52 bytes.*got 53"),
        (_frames_body(n=3, pixels=36), "n=3, W=3, H=2 must be 70 bytes"),
        (_frames_body()[:10], "shorter than its 16-byte header"),
    ],
    ids=["short", "long", "n_disagrees", "no_header"],
)
def test_malformed_frames_raise_naming_the_sizes(body: bytes, message: str):
    with pytest.raises(ProtocolError, match=message):
        decode_frames(body)
    with pytest.raises(ProtocolError, match=message):
        decode_reply(body)


def test_frames_and_results_are_not_mistaken_for_each_other():
    with pytest.raises(ProtocolError, match="expected binary frames"):
        decode_frames(encode_binary_result("step_result", make_batch()))
    with pytest.raises(ProtocolError, match="expected a binary step_result"):
        decode_binary_result(_frames_body())


# ---------------------------------------------------------------------------- messages


def test_session_config_defaults_and_json():
    config = SessionConfig()
    assert config.to_json() == {
        "n_envs": 1,
        "action_repeat": 4,
        "max_episode_steps": 1000,
        "autoreset": "same_step",
        "realtime_factor": 0.0,
        "time_scale": 1.0,
        "options": {},
        "spin_usec": 0,
        "script_errors": "raise",
        "viewer": "none",
        "view_size": [640, 360],
        "view_hud": True,
    }
    json.dumps(SessionConfig(n_envs=np.int64(3), options={"a": 1}).to_json())
    offscreen = SessionConfig(viewer="offscreen", view_size=[np.int64(84), 84], view_hud=False)
    assert offscreen.view_size == (84, 84)
    sent = json.loads(json.dumps(offscreen.to_json()))
    assert (sent["viewer"], sent["view_size"], sent["view_hud"]) == ("offscreen", [84, 84], False)
    assert SessionConfig(policy="/models/policy.json").to_json()["policy"] == "/models/policy.json"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_envs": 0},
        {"n_envs": 4097},
        {"n_envs": 2.0},
        {"action_repeat": 0},
        {"action_repeat": 1001},
        {"realtime_factor": 0.001},
        {"realtime_factor": 1e6},
        {"realtime_factor": float("inf")},
        {"script_errors": "ignore"},
        {"max_episode_steps": -1},
        {"autoreset": "never"},
        {"realtime_factor": -1.0},
        {"realtime_factor": float("nan")},
        {"time_scale": 0.0},
        {"options": [1]},
        {"spin_usec": -1},
        {"spin_usec": 10_001},
        {"spin_usec": 1.5},
        {"viewer": "headless"},
        {"viewer": None},
        {"view_size": (15, 360)},
        {"view_size": (640, 4097)},
        {"view_size": (640.0, 360)},
        {"view_size": (640,)},
        {"view_size": "640x360"},
        {"view_size": (True, 360)},
        {"view_hud": 1},
        {"policy": "policy.json"},
        {"policy": 3},
    ],
)
def test_session_config_rejects_bad_values(kwargs: dict):
    with pytest.raises(InvalidOption):
        SessionConfig(**kwargs)


def test_view_size_error_says_what_is_allowed():
    with pytest.raises(InvalidOption, match=r"two ints in 16\.\.4096 pixels, e\.g\. \(640, 360\)"):
        SessionConfig(viewer="offscreen", view_size=(8, 8))


def test_client_caps_the_announced_frame_limit():
    from rlgodot.core.runtime.client.async_client import frame_limit

    assert frame_limit(2**40) == DEFAULT_MAX_FRAME_BYTES
    assert frame_limit(1024) == 1024
    assert frame_limit(-5) == 0


def test_script_error_notices_go_to_the_hook_not_to_the_waiter():
    async def main() -> None:
        protocol = FrameProtocol()
        protocol.connection_made(_NullTransport())
        notices: list[bytes] = []
        protocol.on_notice = lambda body: notices.append(bytes(body))
        notice = b'{"type":"script_errors","request":"step","errors":["a.gd:3 in f(): boom"]}'
        reply = encode_json({"type": "pong"})
        protocol.data_received(encode_frame(notice) + encode_frame(reply))
        assert bytes(await protocol.next_frame()) == reply
        assert notices == [notice]
        protocol.data_received(encode_frame(notice))  # alone in a chunk: the fast path
        assert notices == [notice, notice]

    asyncio.run(main())


class _NullTransport(asyncio.Transport):
    def abort(self) -> None:
        pass


def test_server_info_from_hello():
    hello = {
        "type": "hello",
        "protocol": 1,
        "server": "rlgodot-godot/0.1.0",
        "godot_version": "4.6.3-stable",
        "codec": "binary",
        "n_envs": 16,
        "state_names": ["x", "y", "vx"],
        "action_size": 2,
        "physics_hz": 60,
        "action_repeat": 4,
        "max_episode_steps": 1000,
        "autoreset": "same_step",
        "max_frame_bytes": 67108864,
        "scene": "res://envs/ball/ball.tscn",
    }
    info = ServerInfo.from_json(hello)
    assert info.state_size == 3 and info.n_envs == 16 and info.codec == "binary"
    for broken in ({"state_names": "xy"}, {"n_envs": "16"}, {"action_size": True}):
        with pytest.raises(ProtocolError):
            ServerInfo.from_json({**hello, **broken})


def test_concat_batches_shifts_terminal_indices():
    a = make_batch(n=3, width=2, terminal=(2,))
    b = make_batch(n=2, width=2, terminal=(0, 1))
    merged = concat_batches([a, b], [0, 3])
    assert merged.states.shape == (5, 2)
    assert merged.terminal_indices.tolist() == [2, 3, 4]
    assert merged.terminated.tolist() == [False, False, True, True, True]
