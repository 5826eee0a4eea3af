"""Wire protocol v1: framing, messages and codecs (docs/PROTOCOL.md). No I/O policy, no envs."""

from rlgodot.core.runtime.protocol.codec import (
    BinaryResult,
    batch_from_json,
    decode_binary_result,
    decode_frames,
    decode_json,
    decode_reply,
    encode_json,
)
from rlgodot.core.runtime.protocol.framing import (
    decode_length,
    encode_frame,
)
from rlgodot.core.runtime.protocol.messages import (
    DEFAULT_MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    RESET,
    TERMINATED,
    TRUNCATED,
    ServerInfo,
    SessionConfig,
    StepBatch,
    concat_batches,
)

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "RESET",
    "TERMINATED",
    "TRUNCATED",
    "BinaryResult",
    "ServerInfo",
    "SessionConfig",
    "StepBatch",
    "batch_from_json",
    "concat_batches",
    "decode_binary_result",
    "decode_frames",
    "decode_json",
    "decode_length",
    "decode_reply",
    "encode_frame",
    "encode_json",
]
