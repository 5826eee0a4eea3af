"""The server's half of the wire protocol, for tests that play Godot's part.

Production code only ever encodes requests and decodes replies (:mod:`rlgodot.core.runtime`);
a fake server or a protocol test also needs the other direction. It lives here so the runtime
carries no code that only tests run.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import numpy as np

from rlgodot.core.errors import ProtocolError
from rlgodot.core.runtime.protocol.codec import (
    BINARY_HEADER,
    BINARY_MAGIC,
    KIND_FRAMES,
    KIND_STEP,
    RESULT_KINDS,
    encode_json,
    read_binary_header,
)
from rlgodot.core.runtime.protocol.framing import HEADER_SIZE, decode_length, encode_frame
from rlgodot.core.runtime.protocol.messages import DEFAULT_MAX_FRAME_BYTES, ImageLayout, StepBatch

F32: Final = np.dtype("<f4")
U32: Final = np.dtype("<u4")


def batch_to_json(message_type: str, batch: StepBatch) -> dict[str, Any]:
    """Build the JSON form of a ``step_result`` / ``reset_result`` (the server's side)."""
    message: dict[str, Any] = {
        "type": message_type,
        "states": batch.states.tolist(),
        "status": batch.status.tolist(),
    }
    if message_type == "step_result":
        message["terminal"] = [
            [int(i), s]
            for i, s in zip(batch.terminal_indices, batch.terminal_states.tolist(), strict=True)
        ]
    return message

def encode_binary_step(actions: np.ndarray) -> bytes:
    """Encode an ``(n, A)`` action batch as a binary ``step`` body.

    The caller validates values; this only fixes the dtype and memory order.
    """
    actions = np.ascontiguousarray(actions, dtype=F32)
    if actions.ndim != 2:
        raise ProtocolError(f"actions must be 2-D (n, A), got shape {actions.shape}")
    n, width = actions.shape
    return BINARY_HEADER.pack(BINARY_MAGIC, KIND_STEP, 0, n, width, 0) + actions.tobytes()


def decode_binary_step(body: bytes | bytearray | memoryview) -> np.ndarray:
    """Decode a binary ``step`` body into an ``(n, A)`` float32 array (the server's side).

    Raises:
        ProtocolError: Not a well-formed binary step.
    """
    kind, n, width, n_terminal = read_binary_header(body)
    if kind != KIND_STEP or n_terminal != 0:
        raise ProtocolError(f"expected a binary step, got kind {kind} with {n_terminal} terminals")
    expected = BINARY_HEADER.size + 4 * n * width
    if len(body) != expected:
        raise ProtocolError(f"binary step of {n}x{width} must be {expected} bytes, got {len(body)}")
    return np.frombuffer(bytearray(body), F32, n * width, BINARY_HEADER.size).reshape(n, width)


def encode_binary_result(
    message_type: str, batch: StepBatch, image: ImageLayout | None = None
) -> bytes:
    """Encode a ``step_result`` / ``reset_result`` in the binary codec (the server's side).

    With ``image`` (the session's camera layout) the batch's images and terminal images follow.
    """
    kind = RESULT_KINDS[message_type]
    states = np.ascontiguousarray(batch.states, dtype=F32)
    n, width = states.shape
    k = len(batch.terminal_indices)
    pad = -n % 4
    pixels = b""
    if image is not None:
        assert batch.images is not None and batch.terminal_images is not None
        pixels = image.encode(batch.images) + image.encode(batch.terminal_images)
    return b"".join(
        (
            BINARY_HEADER.pack(BINARY_MAGIC, kind, 0, n, width, k),
            states.tobytes(),
            np.ascontiguousarray(batch.status, dtype=np.uint8).tobytes(),
            bytes(pad),
            np.ascontiguousarray(batch.terminal_indices, dtype=U32).tobytes(),
            np.ascontiguousarray(batch.terminal_states, dtype=F32).reshape(k, width).tobytes(),
            pixels,
        )
    )

def encode_frames(frames: np.ndarray) -> bytes:
    """Encode ``(n, H, W, 3)`` uint8 RGB frames as a binary ``render`` reply (the server's side)."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[3] != 3:
        raise ProtocolError(f"frames must have shape (n, H, W, 3), got {frames.shape}")
    n, height, width, _ = frames.shape
    return BINARY_HEADER.pack(BINARY_MAGIC, KIND_FRAMES, 0, n, width, height) + frames.tobytes()


def encode_step(actions: np.ndarray, codec: str) -> bytes:
    """Encode a ``step`` request in the session's codec."""
    if codec == "binary":
        return encode_binary_step(actions)
    return encode_json({"type": "step", "actions": np.asarray(actions, dtype=np.float32).tolist()})


def encode_result(message_type: str, batch: StepBatch, codec: str) -> bytes:
    """Encode a ``step_result`` / ``reset_result`` in the given codec (the server's side)."""
    if codec == "binary":
        return encode_binary_result(message_type, batch)
    return encode_json(batch_to_json(message_type, batch))


def split_frames(
    data: bytes | bytearray, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> tuple[list[bytes], bytes]:
    """Cut a byte buffer into complete frame bodies.

    Returns:
        The complete bodies in order, and the unconsumed rest (an incomplete frame, or b"").

    Raises:
        ProtocolError: A header announces more than ``max_frame_bytes``.
    """
    bodies: list[bytes] = []
    view = memoryview(data)
    pos = 0
    while len(view) - pos >= HEADER_SIZE:
        size = decode_length(view[pos : pos + HEADER_SIZE], max_frame_bytes)
        end = pos + HEADER_SIZE + size
        if end > len(view):
            break
        bodies.append(bytes(view[pos + HEADER_SIZE : end]))
        pos = end
    return bodies, bytes(view[pos:])


class FrameReader:
    """Reads whole frame bodies from an ``asyncio.StreamReader``.

    Args:
        reader: The stream to read from.
        max_frame_bytes: Largest body accepted; can be lowered after the server's hello.
    """

    def __init__(
        self, reader: asyncio.StreamReader, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    ) -> None:
        self.reader = reader
        self.max_frame_bytes = max_frame_bytes

    async def read(self) -> bytes:
        """Return the next frame body.

        Raises:
            asyncio.IncompleteReadError: The peer closed the stream (``partial`` is empty if it
                closed cleanly between frames).
            ProtocolError: The frame is larger than ``max_frame_bytes``.
        """
        header = await self.reader.readexactly(HEADER_SIZE)
        size = decode_length(header, self.max_frame_bytes)
        if size == 0:
            return b""
        return await self.reader.readexactly(size)


class FrameWriter:
    """Writes length-prefixed frames to an ``asyncio.StreamWriter``.

    ``write`` only buffers (the kernel socket buffer normally takes a frame at once); call
    ``drain`` when a large frame may have filled it.
    """

    def __init__(
        self, writer: asyncio.StreamWriter, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    ) -> None:
        self.writer = writer
        self.max_frame_bytes = max_frame_bytes

    def write(self, body: bytes | bytearray | memoryview) -> None:
        """Queue one frame for sending.

        Raises:
            ProtocolError: The body is larger than ``max_frame_bytes``.
        """
        self.writer.write(encode_frame(body, self.max_frame_bytes))

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        await self.writer.drain()

    def buffered(self) -> int:
        """Bytes queued in the transport but not yet handed to the kernel."""
        return self.writer.transport.get_write_buffer_size()
