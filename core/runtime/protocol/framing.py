"""Length-prefixed frames: a u32 little-endian body length, then the body.

``encode_frame`` and ``decode_length`` work on bytes; ``FrameProtocol`` is what the client
uses: an ``asyncio.Protocol`` that cuts frames in ``data_received`` and hands each to a waiting
future, so a reply costs one event-loop wake-up and no task. (Stream readers and writers for a
fake server are in :mod:`rlgodot.core.testing.wire`.)

Both ends cap the frame size: a corrupt or hostile length must fail fast instead of making us
allocate gigabytes, and once a length is wrong the stream cannot be resynchronised.
"""

from __future__ import annotations

import asyncio
import collections
import struct
from collections.abc import Callable
from typing import Final

from rlgodot.core.errors import ProtocolError
from rlgodot.core.runtime.protocol.messages import DEFAULT_MAX_FRAME_BYTES

HEADER: Final = struct.Struct("<I")
HEADER_SIZE: Final = HEADER.size
MAX_U32: Final = 0xFFFFFFFF
NOTICE_PREFIX: Final = b'{"type":"script_errors"'
"""How a ``script_errors`` notice body starts (Godot writes ``type`` first): it precedes a
reply and is handed to ``FrameProtocol.on_notice`` instead of answering the request."""


def encode_frame(
    body: bytes | bytearray | memoryview, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> bytes:
    """Prefix ``body`` with its length.

    Raises:
        ProtocolError: The body is longer than ``max_frame_bytes`` (the peer would reject it
            and close the connection, so refuse before sending).
    """
    size = len(body)
    if size > max_frame_bytes or size > MAX_U32:
        raise ProtocolError(
            f"frame of {size} bytes exceeds the limit of {max_frame_bytes} bytes; "
            "send fewer instances per process or raise max_frame_bytes on both ends"
        )
    return HEADER.pack(size) + bytes(body)


def decode_length(
    header: bytes | bytearray | memoryview, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> int:
    """Return the body length announced by a 4-byte frame header.

    Raises:
        ProtocolError: The header is not 4 bytes or announces more than ``max_frame_bytes``.
    """
    if len(header) != HEADER_SIZE:
        raise ProtocolError(f"frame header must be {HEADER_SIZE} bytes, got {len(header)}")
    (size,) = HEADER.unpack(header)
    if size > max_frame_bytes:
        raise ProtocolError(
            f"peer announced a frame of {size} bytes, over the limit of {max_frame_bytes} bytes; "
            "the stream is corrupt or the peer speaks another protocol"
        )
    return size


class ConnectionLost(ConnectionError):
    """The peer closed the connection (EOF) or it was reset; raised by ``FrameProtocol``."""


class FrameProtocol(asyncio.Protocol):
    """An ``asyncio.Protocol`` that turns the byte stream into frame bodies.

    Bodies are handed out as ``bytearray`` (one copy out of the receive buffer, writable, so
    decoders can wrap them in numpy arrays without copying again).

    Args:
        max_frame_bytes: Largest body accepted; a larger announced length fails every
            waiter with ``ProtocolError`` and aborts the connection.

    Attributes:
        on_notice: Called with the body of each ``script_errors`` notice (which is then not
            a reply); None queues notices like any frame.
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.transport: asyncio.Transport | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._buffer = bytearray()
        self._frames: collections.deque[bytearray] = collections.deque()
        self._waiter: asyncio.Future[bytearray] | None = None
        self.on_notice: Callable[[bytearray], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport (called by asyncio)."""
        self.transport = transport  # type: ignore[assignment]
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        """Cut complete frames out of the stream (called by asyncio)."""
        buf = self._buffer
        if not buf and len(data) >= HEADER_SIZE:
            # Fast path: exactly one whole frame, the usual reply. One copy, no buffer shuffle.
            size = int.from_bytes(data[:HEADER_SIZE], "little")
            if len(data) == HEADER_SIZE + size and size <= self.max_frame_bytes:
                self._push(bytearray(memoryview(data)[HEADER_SIZE:]))
                self._wake()
                return
        buf += data
        while len(buf) >= HEADER_SIZE:
            try:
                size = decode_length(buf[:HEADER_SIZE], self.max_frame_bytes)
            except ProtocolError as exc:
                self.error = exc
                buf.clear()
                if self.transport is not None:
                    self.transport.abort()
                break
            end = HEADER_SIZE + size
            if len(buf) < end:
                break
            self._push(buf[HEADER_SIZE:end])
            del buf[:end]
        self._wake()

    def _push(self, body: bytearray) -> None:
        if body.startswith(NOTICE_PREFIX) and self.on_notice is not None:
            self.on_notice(body)
        else:
            self._frames.append(body)

    def eof_received(self) -> bool:
        """The peer shut down its side: no reply can come any more (called by asyncio)."""
        self._lost(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the waiter with ``ConnectionLost`` (called by asyncio)."""
        self._lost(exc)

    def next_frame(self) -> asyncio.Future[bytearray]:
        """A future of the next frame body (already done if one is buffered).

        Only one waiter at a time: the protocol is strictly request/reply.
        """
        if self.loop is None:
            raise RuntimeError("next_frame() before the connection was made")
        future: asyncio.Future[bytearray] = self.loop.create_future()
        if self._frames:
            future.set_result(self._frames.popleft())
        elif self.error is not None:
            future.set_exception(self.error)
        else:
            self._waiter = future
        return future

    def forget_waiter(self) -> None:
        """Drop the pending waiter (after a deadline expired)."""
        self._waiter = None

    def cancel_waiter(self) -> None:
        """Cancel the pending waiter, if any (the connection is being abandoned)."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.cancel()

    def _lost(self, exc: Exception | None) -> None:
        if self.error is None:
            lost = ConnectionLost("connection closed by the peer" if exc is None else repr(exc))
            if exc is not None:
                lost.__cause__ = exc
            self.error = lost
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._frames:
            self._waiter = None
            waiter.set_result(self._frames.popleft())
        elif self.error is not None:
            self._waiter = None
            waiter.set_exception(self.error)
