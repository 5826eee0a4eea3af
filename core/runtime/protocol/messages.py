"""Constants and typed values of wire protocol v1 (see docs/PROTOCOL.md).

These are plain data: no I/O, no numpy work beyond holding arrays. The codec turns them into
bytes, the client moves the bytes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import numpy as np

from rlgodot.core.errors import InvalidOption, ProtocolError

PROTOCOL_VERSION: Final = 1
"""The one integer both ends must agree on at hello."""

DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024 * 1024
"""Frame limit used until the server announces its own in its hello (64 MiB)."""

MAX_N_ENVS: Final = 4096
"""Largest ``n_envs`` one Godot process accepts."""

MAX_SPIN_USEC: Final = 10_000
"""Longest ``spin_usec`` (10 ms): a spin is meant to cover one step's round trip, not idle time."""

MAX_ACTION_REPEAT: Final = 1000
"""Largest ``action_repeat`` (physics ticks per step)."""

MIN_REALTIME_FACTOR: Final = 0.01
MAX_REALTIME_FACTOR: Final = 1000.0
"""``realtime_factor`` is 0 (flat out) or in ``MIN_REALTIME_FACTOR..MAX_REALTIME_FACTOR``."""

MAX_BENCH_STEPS: Final = 1_000_000
"""Largest ``steps`` of one ``bench`` request."""

HELLO_TIMEOUT_SEC: Final = 10
"""Seconds a new connection has to complete its hello before Godot drops it."""
FRAME_TIMEOUT_SEC: Final = 10
"""Seconds the rest of a frame may take once its first byte reached Godot."""

TOKEN_ENV: Final = "RLGODOT_TOKEN"
"""Environment variable with the per-launch secret that the hello's ``token`` must equal."""

DEFAULT_ATTACH_PORT: Final = 11010
"""Port an attached game (a scene with an ``RLServer``, ``allow_attach`` on) listens on."""
ATTACH_ARG: Final = "--rlgodot-attach"
"""Flag of a game build that lets its ``RLServer`` listen for trainers (``=PORT``: the port)."""
MAX_PHYSICS_HZ: Final = 100_000
"""Largest ``physics_hz`` (physics ticks per simulated second)."""

SCRIPT_ERRORS_MODES: Final = ("raise", "warn")
"""``script_errors``: a script error while Godot handles a request fails it, or warns."""

TERMINATED: Final = 1
"""Status bit 0: the scene ended the episode during this step."""
TRUNCATED: Final = 2
"""Status bit 1: the episode hit ``max_episode_steps``."""
RESET: Final = 4
"""Status bit 2 (``next_step`` autoreset): this row is the first state of a new episode."""

CODEC_BINARY: Final = "binary"
CODEC_JSON: Final = "json"
CODECS: Final = (CODEC_BINARY, CODEC_JSON)

AUTORESET_MODES: Final = ("same_step", "next_step")

TYPE_ACT: Final = "act"
"""Request type of a step whose actions the policy of ``SessionConfig.policy`` computes in Godot."""

VIEWER_MODES: Final = ("none", "window", "offscreen")
"""``viewer``: nothing renders (headless), a window with every instance, or one offscreen view
per instance that renders when a ``render`` request asks for its frame."""
DEFAULT_VIEW_SIZE: Final = (640, 360)
"""``view_size`` ``(width, height)`` of each instance's view, in pixels."""
MIN_VIEW_SIDE: Final = 16
MAX_VIEW_SIDE: Final = 4096
"""Each side of ``view_size`` is in ``MIN_VIEW_SIDE..MAX_VIEW_SIDE``."""

MAX_SEED: Final = 2**63 - 1
"""Largest episode seed (Godot's seeds are signed 64-bit integers)."""

# Error codes after which the server closes the connection.
CLOSING_ERROR_CODES: Final = frozenset(
    {"frame_too_large", "protocol_version", "layout_mismatch", "bad_config", "unauthorized"}
)

Autoreset = Literal["same_step", "next_step"]
ScriptErrors = Literal["raise", "warn"]
Viewer = Literal["none", "window", "offscreen"]


@dataclasses.dataclass(frozen=True)
class SessionConfig:
    """The ``config`` object of the client hello: how one Godot process runs its instances.

    Defaults are the protocol's defaults, so an empty config means the same on both ends.

    Attributes:
        n_envs: Instances of the scene in this process (1 to 4096). A multi-process session
            overrides it per process with that process's share.
        action_repeat: Physics ticks per step (1 to 1000); the action is held for all of them.
        max_episode_steps: Steps after which an episode is truncated (0 = no limit).
        autoreset: ``"same_step"`` (SB3 VecEnv semantics) or ``"next_step"`` (Gymnasium 1.x
            vector semantics).
        realtime_factor: 0 runs flat out; r in 0.01..1000 throttles to r x real time, for
            watching.
        time_scale: ``Engine.time_scale``. It scales ``delta`` and so changes the physics;
            leave it at 1 for training (speed comes from ``--fixed-fps``).
        options: Scene options applied to every instance until a reset replaces them.
        spin_usec: Microseconds each side busy-polls for the next frame before blocking in
            ``recv`` (0 = block at once). Saves two cross-core wake-ups per step (30-60 us
            each on a VM) when every Godot process and Python have a core of their own;
            ruinous when they share cores. ``LaunchSettings`` chooses it (see docs/PROTOCOL.md).
        script_errors: ``"raise"``: a GDScript error while Godot handles a reset or step fails
            that request with :class:`~rlgodot.core.errors.ScriptError`; ``"warn"``: the reply
            is kept and a :class:`~rlgodot.core.errors.ScriptErrorWarning` is issued.
        viewer: ``"none"``: nothing renders (Godot may run ``--headless``); ``"window"``: a
            window shows every instance in a grid, updated every frame; ``"offscreen"``: each
            instance has its own view of ``view_size`` that renders only for a ``render``
            request. Both viewers need a Godot started without ``--headless`` on a display
            (Xvfb is fine).
        view_size: ``(width, height)`` of each instance's view, each side in 16..4096; the
            exact size of offscreen frames (in a window the views fill the grid cells).
        view_hud: Draw the HUD (readout, caption, last episode's outcome) into the views.
        policy: Absolute path of a policy.json (``rlgodot export``) that Godot loads for ``act``
            requests (the policy runs in the engine); None: no policy, ``act`` is refused.
        physics_hz: Physics ticks per simulated second the client expects (the env's). A
            launched Godot refuses another rate than its own (``bad_config``); an attached one
            adopts it. None: not sent (the server keeps its rate).
    """

    n_envs: int = 1
    action_repeat: int = 4
    max_episode_steps: int = 1000
    autoreset: Autoreset = "same_step"
    realtime_factor: float = 0.0
    time_scale: float = 1.0
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    spin_usec: int = 0
    script_errors: ScriptErrors = "raise"
    viewer: Viewer = "none"
    view_size: tuple[int, int] = DEFAULT_VIEW_SIZE
    view_hud: bool = True
    policy: str | None = None
    physics_hz: int | None = None

    def __post_init__(self) -> None:
        """Reject out-of-range values here, where the traceback points at the caller."""
        if not _is_int(self.n_envs) or not 1 <= self.n_envs <= MAX_N_ENVS:
            raise InvalidOption(f"n_envs must be an int in 1..{MAX_N_ENVS}, got {self.n_envs!r}")
        if not _is_int(self.action_repeat) or not 1 <= self.action_repeat <= MAX_ACTION_REPEAT:
            raise InvalidOption(
                f"action_repeat must be an int in 1..{MAX_ACTION_REPEAT}, "
                f"got {self.action_repeat!r}"
            )
        if not _is_int(self.max_episode_steps) or self.max_episode_steps < 0:
            raise InvalidOption(
                f"max_episode_steps must be an int >= 0 (0 = no limit), "
                f"got {self.max_episode_steps!r}"
            )
        if self.autoreset not in AUTORESET_MODES:
            raise InvalidOption(
                f"autoreset must be one of {AUTORESET_MODES}, got {self.autoreset!r}"
            )
        if not _is_number(self.realtime_factor) or not (
            self.realtime_factor == 0
            or MIN_REALTIME_FACTOR <= self.realtime_factor <= MAX_REALTIME_FACTOR
        ):
            raise InvalidOption(
                f"realtime_factor must be 0 (flat out) or in {MIN_REALTIME_FACTOR:g}.."
                f"{MAX_REALTIME_FACTOR:g}, got {self.realtime_factor!r}"
            )
        if not _is_number(self.time_scale) or not self.time_scale > 0:
            raise InvalidOption(f"time_scale must be > 0, got {self.time_scale!r}")
        if not isinstance(self.options, Mapping):
            raise InvalidOption(f"options must be a mapping, got {type(self.options).__name__}")
        if not _is_int(self.spin_usec) or not 0 <= self.spin_usec <= MAX_SPIN_USEC:
            raise InvalidOption(
                f"spin_usec must be an int in 0..{MAX_SPIN_USEC}, got {self.spin_usec!r}"
            )
        if self.script_errors not in SCRIPT_ERRORS_MODES:
            raise InvalidOption(
                f"script_errors must be one of {SCRIPT_ERRORS_MODES}, got {self.script_errors!r}"
            )
        self._check_viewer()
        self._check_policy()
        self._check_physics_hz()

    def _check_physics_hz(self) -> None:
        """``physics_hz`` is None (not sent) or an int in 1..MAX_PHYSICS_HZ."""
        if self.physics_hz is not None and (
            not _is_int(self.physics_hz) or not 1 <= self.physics_hz <= MAX_PHYSICS_HZ
        ):
            raise InvalidOption(
                f"physics_hz must be an int in 1..{MAX_PHYSICS_HZ} or None, got {self.physics_hz!r}"
            )

    def _check_policy(self) -> None:
        """``policy`` is None or an absolute path (Godot's working directory is not ours)."""
        if self.policy is not None and (
            not isinstance(self.policy, str) or not os.path.isabs(self.policy)
        ):
            raise InvalidOption(
                f"policy must be the absolute path of a policy.json, got {self.policy!r}"
            )

    def _check_viewer(self) -> None:
        """Check ``viewer``, ``view_size`` (stored as a tuple) and ``view_hud``."""
        if self.viewer not in VIEWER_MODES:
            raise InvalidOption(f"viewer must be one of {VIEWER_MODES}, got {self.viewer!r}")
        object.__setattr__(self, "view_size", check_view_size(self.view_size, "view_size"))
        if not isinstance(self.view_hud, (bool, np.bool_)):
            raise InvalidOption(f"view_hud must be True or False, got {self.view_hud!r}")

    def to_json(self) -> dict[str, Any]:
        """Return the hello's ``config`` object."""
        return {
            "n_envs": int(self.n_envs),
            "action_repeat": int(self.action_repeat),
            "max_episode_steps": int(self.max_episode_steps),
            "autoreset": self.autoreset,
            "realtime_factor": float(self.realtime_factor),
            "time_scale": float(self.time_scale),
            "options": dict(self.options),
            "spin_usec": int(self.spin_usec),
            "script_errors": self.script_errors,
            "viewer": self.viewer,
            "view_size": list(self.view_size),
            "view_hud": bool(self.view_hud),
            **({} if self.policy is None else {"policy": self.policy}),
            **({} if self.physics_hz is None else {"physics_hz": int(self.physics_hz)}),
        }


@dataclasses.dataclass(frozen=True)
class ImageLayout:
    """How one instance's camera observation crosses the wire (hello image_shape, image_stack).

    On the wire each row is ``stack`` frames, oldest first, each ``height x width x c`` bytes
    (``c = channels / stack``: 1 grayscale, 3 RGB); :meth:`decode` turns a block of rows into
    ``(n, height, width, channels)``, the frames side by side on the last axis.

    Attributes:
        shape: ``(height, width, channels)`` of one observation, ``channels = c x stack``.
        stack: Frames per observation.
    """

    shape: tuple[int, int, int]
    stack: int = 1

    @property
    def nbytes(self) -> int:
        """Bytes of one instance's observation."""
        return self.shape[0] * self.shape[1] * self.shape[2]

    def decode(self, block: np.ndarray) -> np.ndarray:
        """``(n, H, W, C)`` uint8 observations from a flat uint8 block of ``n`` wire rows.

        One reshape (no copy) without a frame stack; with one, one transposed copy of the
        whole batch (frames move from the front of each row to its last axis).
        """
        height, width, channels = self.shape
        n = block.size // self.nbytes
        if self.stack == 1:
            return block.reshape(n, height, width, channels)
        frames = block.reshape(n, self.stack, height, width, channels // self.stack)
        return np.ascontiguousarray(frames.transpose(0, 2, 3, 1, 4)).reshape(
            n, height, width, channels
        )

    def encode(self, images: np.ndarray) -> bytes:
        """The wire rows of ``(n, H, W, C)`` observations: the inverse of :meth:`decode`."""
        height, width, channels = self.shape
        images = np.asarray(images, dtype=np.uint8).reshape(-1, height, width, channels)
        frames = images.reshape(len(images), height, width, self.stack, channels // self.stack)
        return np.ascontiguousarray(frames.transpose(0, 3, 1, 2, 4)).tobytes()

    @classmethod
    def from_hello(cls, message: Mapping[str, Any]) -> ImageLayout | None:
        """The layout a server hello announces, None when its ``image_shape`` is empty.

        Raises:
            ProtocolError: ``image_shape`` is not three positive ints, or ``image_stack`` does
                not divide its channels.
        """
        shape = message.get("image_shape") or []
        stack = message.get("image_stack", 1)
        if not shape:
            return None
        if not (
            isinstance(shape, list)
            and len(shape) == 3
            and all(_is_int(side) and side > 0 for side in shape)
            and _is_int(stack)
            and stack > 0
            and shape[2] % stack == 0
        ):
            raise ProtocolError(
                f"server hello has image_shape {shape!r} and image_stack {stack!r}: expected "
                "[height, width, channels] (positive ints) and a stack that divides channels"
            )
        return cls((int(shape[0]), int(shape[1]), int(shape[2])), int(stack))


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """What the server announced in its hello: the layout and settings of the session.

    Attributes:
        protocol: The server's protocol version (equal to ``PROTOCOL_VERSION``).
        server: Server name and version, e.g. ``"rlgodot-godot/0.1.0"``.
        godot_version: Godot's version string, e.g. ``"4.6.3-stable"``.
        codec: The codec the server chose for reset/step payloads.
        n_envs: Instances behind this connection (or behind a whole pool).
        state_names: One name per raw state float (``S = len(state_names)``).
        action_size: Floats per action (``A``).
        physics_hz: Physics ticks per simulated second.
        action_repeat: Physics ticks per step.
        max_episode_steps: Truncation limit in steps (0 = none).
        autoreset: ``"same_step"`` or ``"next_step"``.
        max_frame_bytes: Largest frame either side accepts.
        scene: ``res://`` path of the env instance scene.
        option_schema: The scene's options as the agent script declares them (its ``@export``
            properties): name -> ``{"type": ..., "min": ..., "max": ...}`` (range keys only
            for ranged options).
        attached: True when the server is a running game the client attached to (an
            ``RLServer`` with ``allow_attach``), False for a Godot launched for the session.
        image: The camera observation each reset/step row carries (the scene has a camera
            sensor), or None.
        raw: The complete hello message, including fields this client does not know.
    """

    protocol: int
    server: str
    godot_version: str
    codec: str
    n_envs: int
    state_names: tuple[str, ...]
    action_size: int
    physics_hz: int
    action_repeat: int
    max_episode_steps: int
    autoreset: str
    max_frame_bytes: int
    scene: str
    option_schema: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    attached: bool = False
    image: ImageLayout | None = None
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def state_size(self) -> int:
        """S, the raw state floats per instance."""
        return len(self.state_names)

    @classmethod
    def from_json(cls, message: Mapping[str, Any]) -> ServerInfo:
        """Build from a server ``hello`` message, checking every field's type.

        Raises:
            ProtocolError: A required field is missing or has the wrong type.
        """

        def field(name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
            value = message.get(name, default)
            if value is None or not isinstance(value, kind) or isinstance(value, bool):
                raise ProtocolError(
                    f"server hello field {name!r} is missing or not {_kind_name(kind)}: "
                    f"{value!r} (server {message.get('server')!r})"
                )
            return value

        names = message.get("state_names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ProtocolError(f"server hello field 'state_names' is not a list of str: {names!r}")
        return cls(
            protocol=field("protocol", int),
            server=field("server", str, ""),
            godot_version=field("godot_version", str, ""),
            codec=field("codec", str),
            n_envs=field("n_envs", int),
            state_names=tuple(names),
            action_size=field("action_size", int),
            physics_hz=int(field("physics_hz", (int, float), 60)),
            action_repeat=field("action_repeat", int, 1),
            max_episode_steps=field("max_episode_steps", int, 0),
            autoreset=field("autoreset", str, "same_step"),
            max_frame_bytes=field("max_frame_bytes", int, DEFAULT_MAX_FRAME_BYTES),
            scene=field("scene", str, ""),
            option_schema=field("option_schema", dict, {}),
            attached=message.get("attached") is True,
            image=ImageLayout.from_hello(message),
            raw=dict(message),
        )


@dataclasses.dataclass(frozen=True)
class StepBatch:
    """The result of one reset or step of n instances: arrays, never per-instance objects.

    Attributes:
        states: ``(n, S)`` float32 raw states. After a ``same_step`` autoreset, the row of an
            instance whose episode ended holds the first state of its new episode.
        status: ``(n,)`` uint8 status bits (``TERMINATED | TRUNCATED |
            RESET``).
        terminal_indices: ``(k,)`` int64 instance indices whose episode ended this step
            (``same_step`` only).
        terminal_states: ``(k, S)`` float32 final states of those episodes.
        images: ``(n, H, W, C)`` uint8 camera observations of the rows, None without cameras.
        terminal_images: ``(k, H, W, C)`` uint8 camera observations of the ended episodes'
            terminal states, None without cameras.
    """

    states: np.ndarray
    status: np.ndarray
    terminal_indices: np.ndarray
    terminal_states: np.ndarray
    images: np.ndarray | None = None
    terminal_images: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Rows in this batch."""
        return int(self.states.shape[0])

    @property
    def terminated(self) -> np.ndarray:
        """``(n,)`` bool: the scene ended the episode."""
        return (self.status & TERMINATED) != 0

    @property
    def truncated(self) -> np.ndarray:
        """``(n,)`` bool: the episode hit the step limit."""
        return (self.status & TRUNCATED) != 0

    @classmethod
    def empty_terminals(
        cls, states: np.ndarray, status: np.ndarray, images: np.ndarray | None = None
    ) -> StepBatch:
        """Build a batch without terminal rows (reset results, ``next_step`` results)."""
        return cls(
            states,
            status,
            np.zeros(0, dtype=np.int64),
            np.zeros((0, states.shape[1]), dtype=np.float32),
            images,
            None if images is None else images[:0],
        )


def concat_batches(batches: Sequence[StepBatch], offsets: Sequence[int]) -> StepBatch:
    """Stack per-process batches into one, shifting terminal indices to global indices.

    Args:
        batches: One batch per process, in process order.
        offsets: Global index of each process's instance 0.
    """
    if len(batches) == 1 and offsets[0] == 0:
        return batches[0]
    with_images = batches[0].images is not None
    return StepBatch(
        np.concatenate([b.states for b in batches]),
        np.concatenate([b.status for b in batches]),
        np.concatenate([b.terminal_indices + off for b, off in zip(batches, offsets, strict=True)]),
        np.concatenate([b.terminal_states for b in batches]),
        np.concatenate([b.images for b in batches]) if with_images else None,
        np.concatenate([b.terminal_images for b in batches]) if with_images else None,
    )


def check_view_size(size: object, name: str) -> tuple[int, int]:
    """Return ``size`` as a ``(width, height)`` tuple of ints in ``MIN_VIEW_SIDE..MAX_VIEW_SIDE``.

    Args:
        size: The value to check.
        name: The caller's name of the value, for the message (``render_size``, ``view_size``).

    Raises:
        InvalidOption: Not two ints, or a side out of range.
    """
    if (
        isinstance(size, (str, bytes))
        or not isinstance(size, Sequence)
        or len(size) != 2
        or not all(_is_int(side) and MIN_VIEW_SIDE <= side <= MAX_VIEW_SIDE for side in size)
    ):
        raise InvalidOption(
            f"{name} must be (width, height), two ints in {MIN_VIEW_SIDE}..{MAX_VIEW_SIDE} "
            f"pixels, e.g. {DEFAULT_VIEW_SIZE}; got {size!r}"
        )
    return int(size[0]), int(size[1])


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
