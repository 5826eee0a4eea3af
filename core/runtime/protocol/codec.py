"""Encode and decode message bodies: JSON objects, binary (0xB1) step payloads and frames.

A body starting with ``{`` is JSON, one starting with ``0xB1`` is binary (docs/PROTOCOL.md).
Arrays cross the wire as whole buffers (``np.frombuffer`` / ``tobytes``): a per-float Python
loop would cost more than the simulation step it carries.

Both directions are implemented so tests (and debugging fakes) can play the server.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

import numpy as np

from rlgodot.core.errors import ProtocolError
from rlgodot.core.runtime.protocol.messages import ImageLayout, StepBatch

BINARY_MAGIC: Final = 0xB1
JSON_START: Final = 0x7B  # "{"

KIND_STEP: Final = 1
KIND_STEP_RESULT: Final = 2
KIND_RESET_RESULT: Final = 3
KIND_FRAMES: Final = 4
KIND_NAMES: Final = {
    KIND_STEP: "step",
    KIND_STEP_RESULT: "step_result",
    KIND_RESET_RESULT: "reset_result",
    KIND_FRAMES: "frames",
}
RESULT_KINDS: Final = {"step_result": KIND_STEP_RESULT, "reset_result": KIND_RESET_RESULT}

BINARY_HEADER: Final = struct.Struct("<BBHIII")  # magic, kind, reserved, n, width, n_terminal
# (frames: magic, kind, reserved, n, W, H)

_F32: Final = np.dtype("<f4")
_U32: Final = np.dtype("<u4")


class BinaryResult(NamedTuple):
    """A decoded binary ``step_result`` or ``reset_result``."""

    type: str
    """``"step_result"`` or ``"reset_result"``."""
    batch: StepBatch


Reply = dict[str, Any] | BinaryResult | np.ndarray
"""A decoded reply: a JSON message, a binary step/reset result, or ``(n, H, W, 3)`` frames."""


def reply_type(reply: Reply) -> str:
    """The message type of a decoded reply (``"frames"`` for frames)."""
    if isinstance(reply, BinaryResult):
        return reply.type
    if isinstance(reply, np.ndarray):
        return KIND_NAMES[KIND_FRAMES]
    return str(reply["type"])


# ---------------------------------------------------------------------------- JSON


def encode_json(message: Mapping[str, Any]) -> bytes:
    """Encode a JSON message (compact, UTF-8, no NaN/Infinity, which JSON does not have).

    Raises:
        ProtocolError: The message has no string ``type`` or is not JSON-serialisable.
    """
    if not isinstance(message.get("type"), str):
        raise ProtocolError(f"a JSON message needs a string 'type' field, got {message!r:.200}")
    try:
        text = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(
            f"cannot encode {message.get('type')!r} message as JSON: {exc}"
        ) from exc
    return text.encode("utf-8")


def decode_json(body: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Decode a JSON body into a dict with a string ``type``.

    Raises:
        ProtocolError: Not UTF-8, not JSON, not an object, or no string ``type``.
    """
    try:
        message = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"malformed JSON message ({exc}): {_preview(body)}") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(
            f"a JSON message must be an object with a string 'type': {_preview(body)}"
        )
    return message


def batch_from_json(message: Mapping[str, Any], width: int) -> StepBatch:
    """Build a ``StepBatch`` from a JSON ``step_result`` / ``reset_result``.

    Args:
        message: The decoded message.
        width: S, the state floats per row.

    Raises:
        ProtocolError: Missing fields or rows of the wrong width.
    """
    kind = message.get("type")
    try:
        states = np.asarray(message["states"], dtype=np.float32)
        status = np.asarray(message.get("status", []), dtype=np.uint8)
        terminal = message.get("terminal") or []
        indices = np.asarray([t[0] for t in terminal], dtype=np.int64)
        terminal_states = np.asarray([t[1] for t in terminal], dtype=np.float32)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ProtocolError(f"malformed JSON {kind}: {exc}") from exc
    if states.size == 0:
        states = states.reshape(0, width)
    if states.ndim != 2 or states.shape[1] != width:
        raise ProtocolError(f"{kind} states have shape {states.shape}, expected (n, {width})")
    n = states.shape[0]
    if status.shape != (n,):
        raise ProtocolError(f"{kind} has {status.size} status bytes for {n} states")
    if terminal_states.size == 0:
        terminal_states = terminal_states.reshape(0, width)
    if terminal_states.ndim != 2 or terminal_states.shape[1] != width:
        raise ProtocolError(
            f"{kind} terminal states have shape {terminal_states.shape}, expected (k, {width})"
        )
    _check_indices(indices, n, kind)
    return StepBatch(states, status, indices, terminal_states)


# ---------------------------------------------------------------------------- binary


def decode_binary_result(
    body: bytes | bytearray | memoryview, image: ImageLayout | None = None
) -> BinaryResult:
    """Decode a binary ``step_result`` / ``reset_result``.

    The arrays are writable views of the body (a ``bytearray`` is used as is, anything else
    is copied once; no per-row work), so callers may modify them in place; so are the images
    unless ``image`` has a frame stack (then one copy of the block puts the frames last).

    Args:
        body: The message body.
        image: The session's camera observation layout (hello), None without cameras: each
            row and each terminal row then carries one observation after the terminal states.

    Raises:
        ProtocolError: Wrong magic or kind, a size that does not match the header, or a
            terminal index outside ``0..n-1``.
    """
    kind, n, width, k = read_binary_header(body)
    if kind not in (KIND_STEP_RESULT, KIND_RESET_RESULT):
        raise ProtocolError(f"expected a binary step_result or reset_result, got kind {kind}")
    states_bytes = 4 * n * width
    status_bytes = n + (-n % 4)
    image_bytes = 0 if image is None else image.nbytes
    expected = (
        BINARY_HEADER.size + states_bytes + status_bytes + 4 * k + 4 * k * width
        + (n + k) * image_bytes
    )
    if len(body) != expected:
        camera = "" if image is None else f" and camera observations of {image_bytes} bytes"
        raise ProtocolError(
            f"binary {KIND_NAMES[kind]} with n={n}, width={width}, n_terminal={k}{camera} must "
            f"be {expected} bytes, got {len(body)}"
        )
    buf = body if isinstance(body, bytearray) else bytearray(body)
    pos = BINARY_HEADER.size
    states = np.frombuffer(buf, _F32, n * width, pos).reshape(n, width)
    pos += states_bytes
    status = np.frombuffer(buf, np.uint8, n, pos)
    pos += status_bytes
    if k == 0:  # the common case: skip two more array constructions
        indices = np.zeros(0, np.int64)
        terminal_states = np.zeros((0, width), np.float32)
    else:
        indices = np.frombuffer(buf, _U32, k, pos).astype(np.int64)
        pos += 4 * k
        terminal_states = np.frombuffer(buf, _F32, k * width, pos).reshape(k, width)
        pos += 4 * k * width
        _check_indices(indices, n, KIND_NAMES[kind])
    if image is None:
        return BinaryResult(KIND_NAMES[kind], StepBatch(states, status, indices, terminal_states))
    pixels = np.frombuffer(buf, np.uint8, (n + k) * image_bytes, pos)
    batch = StepBatch(
        states,
        status,
        indices,
        terminal_states,
        image.decode(pixels[: n * image_bytes]),
        image.decode(pixels[n * image_bytes :]),
    )
    return BinaryResult(KIND_NAMES[kind], batch)


def decode_frames(body: bytes | bytearray | memoryview) -> np.ndarray:
    """Decode a binary ``render`` reply into ``(n, H, W, 3)`` uint8 RGB frames.

    The array is a writable view of the body (copied once unless it is a ``bytearray``).

    Raises:
        ProtocolError: Wrong magic or kind, or a size that does not match the header.
    """
    kind, n, width, height = read_binary_header(body)
    if kind != KIND_FRAMES:
        raise ProtocolError(f"expected binary frames, got a binary {KIND_NAMES[kind]}")
    expected = BINARY_HEADER.size + 3 * n * width * height
    if len(body) != expected:
        raise ProtocolError(
            f"binary frames with n={n}, W={width}, H={height} must be {expected} bytes "
            f"(16-byte header + n*H*W*3), got {len(body)}"
        )
    buf = body if isinstance(body, bytearray) else bytearray(body)
    return np.frombuffer(buf, np.uint8, expected - BINARY_HEADER.size, BINARY_HEADER.size).reshape(
        n, height, width, 3
    )


# ---------------------------------------------------------------------------- dispatch


def decode_reply(body: bytes | bytearray | memoryview, image: ImageLayout | None = None) -> Reply:
    """Decode any body by its first byte: a JSON dict, a ``BinaryResult`` or frames.

    ``image``: the session's camera observation layout (see :func:`decode_binary_result`).

    Raises:
        ProtocolError: Empty, or neither JSON nor a binary result or frames.
    """
    if not body:
        raise ProtocolError("empty message body")
    first = body[0]
    if first == JSON_START:
        return decode_json(body)
    if first == BINARY_MAGIC:
        if len(body) > 1 and body[1] == KIND_FRAMES:
            return decode_frames(body)
        return decode_binary_result(body, image)
    raise ProtocolError(
        f"message body starts with byte 0x{first:02X}, neither '{{' nor 0xB1: {_preview(body)}"
    )


def read_binary_header(body: bytes | bytearray | memoryview) -> tuple[int, int, int, int]:
    """``(kind, n, width, n_terminal)`` of a binary body (frames: ``(kind, n, W, H)``).

    Its magic, kind and minimum size are checked.
    """
    if len(body) < BINARY_HEADER.size:
        raise ProtocolError(
            f"binary message of {len(body)} bytes is shorter than its 16-byte header"
        )
    magic, kind, _reserved, n, width, n_terminal = BINARY_HEADER.unpack_from(body)
    if magic != BINARY_MAGIC:
        raise ProtocolError(f"binary message starts with 0x{magic:02X}, expected 0xB1")
    if kind not in KIND_NAMES:
        raise ProtocolError(
            f"unknown binary message kind {kind} (known: "
            + ", ".join(f"{k} {name}" for k, name in KIND_NAMES.items())
            + ")"
        )
    return kind, n, width, n_terminal


def _check_indices(indices: np.ndarray, n: int, kind: object) -> None:
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ProtocolError(f"{kind} has terminal indices {indices.tolist()} outside 0..{n - 1}")


def _preview(body: bytes | bytearray | memoryview, limit: int = 120) -> str:
    data = bytes(body[:limit])
    return repr(data) + ("..." if len(body) > limit else "")
