"""The asyncio client of one Godot process: one TCP connection, one request at a time.

Every wait has a deadline. A peer that dies shows up as EOF or a reset connection and becomes
:class:`GodotCrashed` naming the process, its exit code and its last output; a peer that hangs
becomes :class:`GodotTimeout`, and the connection is dropped because a late reply would
desynchronise every later request. Error replies become :class:`RemoteError` (or its
specific kinds). Arguments are checked here, before anything is sent, so a bad action fails
in the caller's frame instead of as a remote error one round trip later.

A request has three phases, public so that a pool and the sync facade can drive many clients
or a private loop with the least event-loop work: send (``send_step``), wait for the reply
future (``reply_future``), then ``finish_step`` (decode, or turn a failure into the right
exception). ``step`` simply runs the three in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rlgodot.core import __version__
from rlgodot.core.errors import (
    AddonVersionMismatch,
    GodotCrashed,
    GodotTimeout,
    InvalidOption,
    LayoutMismatch,
    ProtocolError,
    RemoteError,
    RLGodotError,
    ScriptError,
    ScriptErrorWarning,
)
from rlgodot.core.runtime.client.arguments import (
    check_actions,
    check_captions,
    check_indices,
    check_layout,
    reset_message,
)
from rlgodot.core.runtime.protocol.codec import (
    BINARY_HEADER,
    BINARY_MAGIC,
    KIND_STEP,
    BinaryResult,
    Reply,
    batch_from_json,
    decode_json,
    decode_reply,
    encode_json,
    reply_type,
)
from rlgodot.core.runtime.protocol.framing import HEADER, FrameProtocol, encode_frame
from rlgodot.core.runtime.protocol.messages import (
    CLOSING_ERROR_CODES,
    CODECS,
    DEFAULT_MAX_FRAME_BYTES,
    MAX_BENCH_STEPS,
    PROTOCOL_VERSION,
    TYPE_ACT,
    ImageLayout,
    ServerInfo,
    SessionConfig,
    StepBatch,
)

if TYPE_CHECKING:
    from rlgodot.core.runtime.launcher.process import GodotProcess

CLIENT_NAME = f"rlgodot-python/{__version__}"
SERVER_NAME_PREFIX = "rlgodot-godot/"
SERVER_NAME = SERVER_NAME_PREFIX + __version__  # the hello's "server" of this version's addon
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_REQUEST_TIMEOUT = 30.0

_F32 = np.dtype("<f4")
_READ_SIZE = 256 * 1024  # as asyncio's socket transport reads


def frame_limit(announced: int) -> int:
    """The reply size limit to use: the server's ``max_frame_bytes``, capped.

    Capped at the client's own maximum so a hostile or broken server cannot make it buffer
    gigabytes.
    """
    return max(0, min(int(announced), DEFAULT_MAX_FRAME_BYTES))


def _hello_message(
    config: SessionConfig,
    expect_state_names: Sequence[str] | None,
    expect_action_size: int | None,
    codecs: Sequence[str],
    token: str | None = None,
    expect_image_shape: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The client hello of docs/PROTOCOL.md."""
    message: dict[str, Any] = {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "client": CLIENT_NAME,
        "codecs": list(codecs),
        "config": config.to_json(),
    }
    if token:
        message["token"] = token
    expect: dict[str, Any] = {}
    if expect_state_names is not None:
        expect["state_names"] = list(expect_state_names)
    if expect_action_size is not None:
        expect["action_size"] = int(expect_action_size)
    if expect_image_shape is not None:
        expect["image_shape"] = [int(side) for side in expect_image_shape]
    if expect:
        message["expect"] = expect
    return message


class _DeadlinePassed(Exception):
    """Set on a reply future whose deadline expired (turned into GodotTimeout)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class AsyncGodotClient:
    """Client of one Godot server connection (docs/PROTOCOL.md).

    Create it with :meth:`connect`, then call :meth:`hello` once, then :meth:`reset` and
    :meth:`step` (and, with a viewer, :meth:`render` and :meth:`caption`). One request at a
    time per client (the protocol has one in flight per connection); use one client per
    process and :class:`AsyncGodotPool` to fan out.

    Args:
        protocol: The connection's frame protocol (made by :meth:`connect`).
        process: The Godot process behind the connection, named in error messages.
        timeout: Default deadline in seconds of every request.
        peer: ``host:port``, for messages when there is no process.
        token: The secret the hello carries; default: the process's launch token (a Godot
            started by hand without ``RLGODOT_TOKEN`` needs none).
        attached: The peer is a running game this client attached to (an ``RLServer`` with
            ``allow_attach``): messages name it so and say what to do when it goes away.
    """

    def __init__(
        self,
        protocol: FrameProtocol,
        *,
        process: GodotProcess | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        peer: str = "?",
        token: str | None = None,
        attached: bool = False,
    ) -> None:
        if protocol.transport is None or protocol.loop is None:
            raise ValueError("the protocol is not connected")
        self.process = process
        self.timeout = timeout
        self.peer = peer
        self.attached = attached
        self.token = token if token is not None else getattr(process, "token", None)
        self.info: ServerInfo | None = None
        self._protocol = protocol
        protocol.on_notice = self._on_notice
        self._transport = protocol.transport
        sock = self._transport.get_extra_info("socket")
        self._fileno: int | None = None if sock is None else sock.fileno()
        self._loop = protocol.loop
        self._max_frame_bytes = DEFAULT_MAX_FRAME_BYTES
        self._pending: str | None = None  # the request in flight
        self._deadline: tuple[asyncio.Future[bytearray], float, float] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._closed = False
        self._broken: str | None = None  # why the connection was dropped
        self._n = 0
        self._width = 0
        self._action_size = 0
        self._binary = False
        self._step_header = b""
        self._viewer = "none"
        self._view_size = (0, 0)
        self._image: ImageLayout | None = None

    # ------------------------------------------------------------------ setup

    @classmethod
    async def connect(
        cls,
        port: int,
        host: str = "127.0.0.1",
        *,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        process: GodotProcess | None = None,
        token: str | None = None,
        attached: bool = False,
    ) -> AsyncGodotClient:
        """Open the TCP connection (TCP_NODELAY), retrying refusals until ``timeout``.

        Args:
            port: The port Godot announced (``RLGODOT_LISTENING <port>``).
            host: Godot binds 127.0.0.1 only.
            timeout: Seconds to keep trying to connect.
            request_timeout: Default deadline of every later request.
            process: The Godot process behind the port, for error messages and crash checks.
            token: The hello's secret (default: ``process.token``).
            attached: The peer is a running game (see the class).

        Raises:
            GodotCrashed: The process exited before accepting.
            GodotTimeout: No connection within ``timeout``.
        """
        loop = asyncio.get_running_loop()
        peer = f"{host}:{port}"
        name = process.describe() if process is not None else _peer_name(peer, attached)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                transport, protocol = await asyncio.wait_for(
                    loop.create_connection(FrameProtocol, host, port), max(remaining, 0.001)
                )
                break
            except (OSError, asyncio.TimeoutError) as exc:
                exit_code = process.poll() if process is not None else None
                if process is not None and exit_code is not None:
                    raise GodotCrashed(
                        f"{name} exited ({process.exit_description()}) before accepting a "
                        f"connection; output tail:\n{process.output_tail()}"
                    ) from exc
                if time.monotonic() >= deadline:
                    raise GodotTimeout(
                        f"could not connect to {name} within {timeout:g} s ({exc!r}); "
                        "is another client already connected? Godot serves one connection"
                    ) from exc
                await asyncio.sleep(0.02)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(
            protocol, process=process, timeout=request_timeout, peer=peer, token=token,
            attached=attached,
        )

    def socket_filenos(self) -> tuple[int, ...]:
        """The connection's socket descriptor (to poll for a reply without reading it)."""
        return () if self._fileno is None else (self._fileno,)

    def receive_nowait(self) -> None:
        """Hand bytes already waiting in the socket to the frame reader, without the loop.

        This is what the loop's reader callback would do, minus one loop iteration (~10 us,
        as much as a small scene's step costs). Only for a synchronous caller in the loop's
        thread while the loop is not running (the sync facade's step). Nothing waiting, end of
        stream or an error: nothing is consumed, and running the loop handles it as usual.
        """
        if self._fileno is None or self._transport.is_closing():
            return
        try:
            data = os.read(self._fileno, _READ_SIZE)
        except OSError:
            return
        if data:
            self._protocol.data_received(data)

    async def hello(
        self,
        config: SessionConfig,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        *,
        codecs: Sequence[str] = CODECS,
        timeout: float | None = None,
        expect_image_shape: Sequence[int] | None = None,
    ) -> ServerInfo:
        """Perform the handshake: create ``config.n_envs`` instances and learn the layout.

        Args:
            config: How the server runs its instances.
            expect_state_names: The state layout the caller will decode; the server refuses
                a scene that declares another.
            expect_action_size: The action size the caller will send.
            codecs: Codecs this client accepts, preferred first.
            timeout: Deadline in seconds (default: the client's).
            expect_image_shape: The camera observation shape ``(H, W, C)`` the caller will
                decode, ``()`` for none; the server refuses a scene whose cameras differ.
                None: not checked.

        Raises:
            AddonVersionMismatch: The server's addon is another rlgodot version than this
                package (the connection is closed).
            LayoutMismatch: The scene's layout differs from the expected one.
            ProtocolError: Another protocol version, or a malformed hello.
            RemoteError: The server rejected the config.
        """
        if self.info is not None:
            raise RLGodotError(f"hello was already done on {self.describe()}")
        message = _hello_message(
            config, expect_state_names, expect_action_size, codecs, self.token, expect_image_shape
        )
        reply = await self._request(encode_json(message), "hello", timeout)
        info = self._server_info(reply, config, codecs)
        try:
            check_layout(
                info, expect_state_names, expect_action_size, self.describe(), expect_image_shape
            )
        except LayoutMismatch:
            self._drop("layout mismatch")
            raise
        self.info = info
        self._n = info.n_envs
        self._width = info.state_size
        self._action_size = info.action_size
        self._binary = info.codec == "binary"
        self._viewer = config.viewer
        self._view_size = config.view_size
        self._image = info.image
        self._max_frame_bytes = frame_limit(info.max_frame_bytes)
        self._protocol.max_frame_bytes = self._max_frame_bytes
        body_size = BINARY_HEADER.size + 4 * self._n * self._action_size
        self._step_header = HEADER.pack(body_size) + BINARY_HEADER.pack(
            BINARY_MAGIC, KIND_STEP, 0, self._n, self._action_size, 0
        )
        return info

    def _server_info(
        self, reply: Reply, config: SessionConfig, codecs: Sequence[str]
    ) -> ServerInfo:
        """Check a hello reply against what was asked and parse it."""
        self._expect(reply, "hello", "hello")
        assert isinstance(reply, dict)  # _expect checked its type
        self._check_server_version(reply.get("server"))
        if reply.get("protocol") != PROTOCOL_VERSION:
            raise self._protocol_error(
                f"server speaks protocol {reply.get('protocol')!r}, this client "
                f"{PROTOCOL_VERSION}; install matching versions of rlgodot and its Godot addon",
                "hello",
            )
        try:
            info = ServerInfo.from_json(reply)
        except ProtocolError as exc:
            raise self._protocol_error(str(exc), "hello") from exc
        if info.codec not in codecs:
            raise self._protocol_error(f"server chose codec {info.codec!r}, not in {codecs}")
        if info.n_envs != config.n_envs:
            raise self._protocol_error(
                f"asked for {config.n_envs} instances, server created {info.n_envs}", "hello"
            )
        return info

    def _check_server_version(self, server: object) -> None:
        """Refuse an addon of another rlgodot version, even one that speaks the same protocol.

        Raises:
            AddonVersionMismatch: The hello's ``server`` is ``rlgodot-godot/<another version>``.
            ProtocolError: The hello's ``server`` is no rlgodot addon's name.
        """
        if server == SERVER_NAME:
            return
        if not isinstance(server, str) or not server.startswith(SERVER_NAME_PREFIX):
            raise self._protocol_error(
                f"the server calls itself {server!r}, not {SERVER_NAME_PREFIX}<version>: it is "
                "not the rlgodot addon",
                "hello",
            )
        version = server.removeprefix(SERVER_NAME_PREFIX)
        self._drop("addon version mismatch")
        project = self._project_dir() or "<project>"
        raise AddonVersionMismatch(
            f"the Godot addon at {self.peer} is rlgodot {version}, this Python package is "
            f"{__version__}: update the addon with 'rlgodot addon install {project}' (or "
            f"install rlgodot=={version})"
        )

    def _project_dir(self) -> str | None:
        """The ``--path`` of the Godot process behind this connection, if it was launched."""
        args = self.process.args if self.process is not None else ()
        for flag, value in zip(args, args[1:], strict=False):
            if flag == "--path":
                return value
        return None

    # ------------------------------------------------------------------ requests

    async def reset(
        self,
        seeds: Sequence[int] | None = None,
        options: Mapping[str, Any] | None = None,
        indices: Sequence[int] | None = None,
        *,
        timeout: float | None = None,
    ) -> StepBatch:
        """Reset all instances, or those in ``indices`` (in that order).

        Args:
            seeds: One seed (0 <= seed < 2**63) per reset instance, or None to continue each
                instance's seed stream.
            options: Scene options for these instances, replacing earlier ones.
            indices: Instances to reset; default all, in order.
            timeout: Deadline in seconds (default: the client's).

        Returns:
            The first states of the reset instances, in ``indices`` order.

        Raises:
            InvalidOption: Bad indices or seeds (nothing was sent).
        """
        self._require_hello("reset")
        message = reset_message(seeds, options, indices, self._n)
        count = len(message["indices"]) if "indices" in message else self._n
        reply = await self._request(encode_json(message), "reset", timeout)
        return self._batch(reply, "reset_result", count)

    async def step(self, actions: np.ndarray, *, timeout: float | None = None) -> StepBatch:
        """Apply one action per instance, run ``action_repeat`` ticks, return the results.

        Args:
            actions: ``(n, A)`` array-like of finite floats, cast to float32.
            timeout: Deadline in seconds (default: the client's).

        Raises:
            InvalidAction: Wrong shape, non-numeric or non-finite values (nothing was sent).
            GodotCrashed: Godot died or closed the connection.
            GodotTimeout: No reply within the deadline.
        """
        self.send_step(check_actions(actions, self._n, self._action_size))
        future = self.reply_future(timeout)
        await self.wait(future)
        return self.finish_step(future)

    async def act(self, *, timeout: float | None = None) -> StepBatch:
        """A step whose actions Godot's policy (``SessionConfig.policy``) computes in the engine.

        Each instance acts on its current state (the last one reported for it); the reply is
        the step's, as for :meth:`step`.

        Raises:
            RemoteError: ``not_ready``: the session has no policy, or an instance was never
                reset.
            GodotCrashed: Godot died or closed the connection.
            GodotTimeout: No reply within the deadline.
        """
        self._require_hello(TYPE_ACT)
        reply = await self._request(encode_json({"type": TYPE_ACT}), TYPE_ACT, timeout)
        return self._batch(reply, "step_result", self._n)

    def send_step(self, actions: np.ndarray) -> None:
        """Phase 1 of a step: send actions checked by :func:`check_actions`, don't wait."""
        self._require_hello("step")
        self.check_ready("step")
        self.write_step(actions)

    def write_step(self, actions: np.ndarray) -> None:
        """Send a step whose actions and readiness the caller checked.

        The pool checks every process before it sends to any, so no process steps alone.
        """
        if self._binary:
            frame = self._step_header + actions.astype(_F32, copy=False).tobytes()
        else:
            frame = encode_frame(
                encode_json({"type": "step", "actions": actions.tolist()}), self._max_frame_bytes
            )
        self._transport.write(frame)
        self._pending = "step"

    def reply_future(self, timeout: float | None = None) -> asyncio.Future[bytearray]:
        """Phase 2: a future of the reply body that fails when the deadline passes.

        Must be created right after sending, from the loop's thread while the loop is not
        running elsewhere. Await it (or run the loop until it is done), then call
        :meth:`finish_step` or :meth:`finish`.
        """
        seconds = self.timeout if timeout is None else timeout
        future = self._protocol.next_frame()
        if not future.done():
            # One watchdog timer re-armed lazily instead of a timer per request: a step is
            # only tens of microseconds, a timer costs a few of them.
            deadline = self._loop.time() + seconds
            self._deadline = (future, deadline, seconds)
            if self._watchdog is None or self._watchdog.when() > deadline:
                if self._watchdog is not None:
                    self._watchdog.cancel()
                self._watchdog = self._loop.call_at(deadline, self._on_watchdog)
        return future

    async def wait(self, future: asyncio.Future[bytearray]) -> None:
        """Wait until a reply future is done; its failure is left for :meth:`finish`.

        If the waiting task is cancelled, the connection is dropped: the reply would
        otherwise arrive later and be taken as the answer to the next request.
        """
        try:
            await future
        except asyncio.CancelledError:
            self._drop("a request was cancelled while in flight")
            raise
        except Exception:  # noqa: BLE001 - finish() raises the right exception
            pass

    def finish_step(self, future: asyncio.Future[bytearray]) -> StepBatch:
        """Phase 3 of a step: decode the reply, or raise what went wrong."""
        return self._batch(self.finish(future), "step_result", self._n)

    def finish(self, future: asyncio.Future[bytearray]) -> Reply:
        """Phase 3 of any request: the decoded reply of a done future.

        Raises:
            GodotCrashed: The connection was lost.
            GodotTimeout: The deadline passed (the connection is dropped).
            RemoteError: Godot answered with an error.
            ProtocolError: The reply was malformed.
        """
        request = self._pending or "request"
        self._pending = None
        if future.cancelled():
            self._drop(f"{request!r} was cancelled")
            raise asyncio.CancelledError()
        error = future.exception()
        if error is not None:
            if isinstance(error, _DeadlinePassed):
                raise self._timeout_error(request, error.seconds)
            if isinstance(error, ProtocolError):  # oversized frame: cannot resynchronise
                self._drop(str(error))
                raise ProtocolError(f"{self.describe()} after {request!r}: {error}")
            raise self._crashed(request, error) from error
        try:
            reply = decode_reply(future.result(), self._image)
        except ProtocolError as exc:
            raise self._protocol_error(str(exc), request) from exc
        if isinstance(reply, dict) and reply["type"] == "error":
            raise self._remote_error(reply, request)
        return reply

    async def render(
        self, indices: Sequence[int] | None = None, *, timeout: float | None = None
    ) -> np.ndarray:
        """Frames of the current state (after the latest reset or step) of the instances.

        Args:
            indices: Instances to render; default all, in order.
            timeout: Deadline in seconds (default: the client's).

        Returns:
            ``(n, H, W, 3)`` uint8 RGB frames in ``indices`` order, top row first; offscreen
            frames are ``view_size`` large.

        Raises:
            RLGodotError: The session has no viewer (nothing was sent).
            InvalidOption: Bad indices, or offscreen frames that would not fit in one frame
                of the protocol (nothing was sent).
        """
        self._require_viewer("render")
        message: dict[str, Any] = {"type": "render"}
        count = self._n
        if indices is not None:
            message["indices"] = check_indices(indices, self._n, "render")
            count = len(message["indices"])
        width, height = self._view_size
        size = BINARY_HEADER.size + 3 * count * width * height
        if self._viewer == "offscreen" and size > self._max_frame_bytes:
            raise InvalidOption(
                f"{count} frames of {width}x{height} are {size} bytes, more than the "
                f"{self._max_frame_bytes} of one protocol frame; render fewer instances at "
                "once (indices=...) or use a smaller view_size"
            )
        reply = await self._request(encode_json(message), "render", timeout)
        self._expect(reply, "frames", "render")
        assert isinstance(reply, np.ndarray)  # _expect checked its type
        if reply.shape[0] != count:
            raise self._protocol_error(f"asked for {count} frames, got {reply.shape[0]}", "render")
        return reply

    async def caption(self, captions: Sequence[str], *, timeout: float | None = None) -> None:
        """Show one line of text in each instance's HUD, under its readout.

        Args:
            captions: Exactly one string per instance (``""`` clears it).
            timeout: Deadline in seconds (default: the client's).

        Raises:
            RLGodotError: The session has no viewer (nothing was sent).
            InvalidOption: Not one string per instance (nothing was sent).
        """
        self._require_viewer("caption")
        message = {"type": "caption", "captions": check_captions(captions, self._n)}
        reply = await self._request(encode_json(message), "caption", timeout)
        self._expect(reply, "captioned", "caption")

    async def ping(self, *, timeout: float | None = None) -> float:
        """Check that Godot answers; return the round trip time in seconds."""
        start = time.perf_counter()
        reply = await self._request(encode_json({"type": "ping"}), "ping", timeout)
        self._expect(reply, "pong", "ping")
        return time.perf_counter() - start

    async def bench(
        self, steps: int, *, capture: bool = True, timeout: float | None = None
    ) -> dict[str, Any]:
        """Let Godot step its instances ``steps`` times alone (random actions, no I/O).

        A scene with camera sensors captures them every step, as a ``step`` does, unless
        ``capture`` is False (then it measures the simulation alone).

        Returns the ``bench_result`` message: ``steps``, ``n_envs``, ``action_repeat``,
        ``seconds`` (Godot's own clock), ``episodes`` ended and ``captured`` (the cameras were
        captured). The instances' episodes move on; reset them before measured work that needs
        a fresh start.
        """
        if (
            isinstance(steps, bool)
            or not isinstance(steps, (int, np.integer))
            or not 1 <= steps <= MAX_BENCH_STEPS
        ):
            raise InvalidOption(
                f"bench steps must be an int in 1..{MAX_BENCH_STEPS}, got {steps!r}"
            )
        reply = await self._request(
            encode_json({"type": "bench", "steps": int(steps), "capture": bool(capture)}),
            "bench",
            timeout,
        )
        self._expect(reply, "bench_result", "bench")
        return dict(reply)  # type: ignore[arg-type]

    async def close(self, timeout: float = 2.0) -> None:
        """Say goodbye (Godot then quits with exit code 0) and close the connection.

        Idempotent and never raises: it runs on error paths, where the peer may be gone.
        """
        if self._closed:
            return
        if self._pending is None and self.info is not None:
            with contextlib.suppress(RLGodotError, OSError):
                await self._request(encode_json({"type": "close"}), "close", timeout)
        self._drop("closed by the client")

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """True once the connection is closed or was dropped after an error."""
        return self._closed

    @property
    def n_envs(self) -> int:
        """Instances behind this connection (0 before hello)."""
        return self._n

    @property
    def action_size(self) -> int:
        """Floats per action (0 before hello)."""
        return self._action_size

    def describe(self) -> str:
        """Name the peer for messages: ``Godot (pid N, port P)``, ``the attached Godot at ...``."""
        if self.process is not None:
            return self.process.describe()
        return _peer_name(self.peer, self.attached)

    def abort(self, reason: str) -> None:
        """Drop the connection now, without goodbye (Godot quits when it sees it close)."""
        self._drop(reason)

    # ------------------------------------------------------------------ internals

    async def _request(self, body: bytes, request: str, timeout: float | None) -> Reply:
        self._send(encode_frame(body, self._max_frame_bytes), request)
        future = self.reply_future(timeout)
        await self.wait(future)
        return self.finish(future)

    def check_ready(self, request: str) -> None:
        """Raise unless a request can be sent now (open, nothing in flight).

        Raises:
            GodotCrashed: The connection was closed or dropped after an error.
            RLGodotError: Another request is in flight.
        """
        if self._closed:
            raise GodotCrashed(
                f"the connection to {self.describe()} is closed ({self._broken}); "
                f"cannot send {request!r}. Start a new session"
            )
        if self._pending is not None:
            raise RLGodotError(
                f"{request}() while {self._pending!r} is in flight on {self.describe()}; one "
                "client serves one request at a time (use AsyncGodotPool for many processes)"
            )

    def _send(self, frame: bytes, request: str) -> None:
        self.check_ready(request)
        self._transport.write(frame)
        self._pending = request

    def _on_watchdog(self) -> None:
        self._watchdog = None
        if self._deadline is None:
            return
        future, deadline, seconds = self._deadline
        if future.done():
            self._deadline = None
        elif self._loop.time() >= deadline - 1e-4:
            self._deadline = None
            self._protocol.forget_waiter()
            future.set_exception(_DeadlinePassed(seconds))
        else:  # a later request is pending: wait for its own deadline
            self._watchdog = self._loop.call_at(deadline, self._on_watchdog)

    def _require_hello(self, request: str) -> None:
        if self.info is None:
            raise RLGodotError(f"call hello() before {request}() on {self.describe()}")

    def _require_viewer(self, request: str) -> None:
        self._require_hello(request)
        if self._viewer == "none":
            raise RLGodotError(
                f"{request}() needs a viewer, but {self.describe()} runs without one "
                "(viewer 'none'); pass render_mode='rgb_array' (frames) or 'human' (a window) "
                "to the env or to LaunchSettings, or SessionConfig(viewer='offscreen') to a "
                "bare session"
            )

    def _batch(self, reply: Reply, expected: str, rows: int) -> StepBatch:
        if isinstance(reply, BinaryResult):
            if reply.type != expected:
                raise self._protocol_error(f"expected {expected}, got a binary {reply.type}")
            batch = reply.batch
        else:
            self._expect(reply, expected, expected)
            try:
                batch = batch_from_json(reply, self._width)
            except ProtocolError as exc:
                raise self._protocol_error(str(exc), expected) from exc
        if batch.states.shape != (rows, self._width):
            raise self._protocol_error(
                f"{expected} has states of shape {batch.states.shape}, "
                f"expected ({rows}, {self._width})"
            )
        return batch

    def _expect(self, reply: Reply, expected: str, request: str) -> None:
        kind = reply_type(reply)
        if kind != expected:
            raise self._protocol_error(f"expected {expected!r} in reply, got {kind!r}", request)

    def _remote_error(self, reply: Mapping[str, Any], request: str) -> RLGodotError:
        code = str(reply.get("code", "unknown"))
        text = str(reply.get("message", ""))
        if code in CLOSING_ERROR_CODES:
            self._drop(f"server error {code}")
        where = f"{self.describe()} after {request!r}"
        if code == "layout_mismatch":
            return LayoutMismatch(
                f"{where}: the scene's layout differs from the env's: {text}. "
                "Update the plugin's state_names/action_size or the scene so they agree"
            )
        if code == "script_error":
            return ScriptError(
                code,
                f"{text} ({where}). Fix the scene script at the file:line named; "
                "SessionConfig(script_errors='warn') only warns instead",
            )
        if code == "protocol_version":
            return ProtocolError(
                f"{where}: {text}. Install matching versions of rlgodot and its Godot addon"
            )
        return RemoteError(code, f"{text} ({where})")

    def _on_notice(self, body: bytearray) -> None:
        """A ``script_errors`` notice (script_errors = warn) precedes a reply: warn."""
        try:
            notice = decode_json(body)
        except ProtocolError:
            notice = {}
        errors = notice.get("errors")
        listed = "; ".join(str(e) for e in errors) if isinstance(errors, list) else body.decode(
            "utf-8", "replace"
        )
        warnings.warn(
            ScriptErrorWarning(
                f"{self.describe()} raised script error(s) during "
                f"{notice.get('request', 'a request')!r}: {listed}"
            ),
            stacklevel=2,
        )

    def _protocol_error(self, text: str, request: str = "") -> ProtocolError:
        self._drop(f"protocol error: {text}")
        after = f" after {request!r}" if request else ""
        return ProtocolError(f"{self.describe()}{after}: {text}")

    def _timeout_error(self, request: str, seconds: float) -> GodotTimeout:
        self._drop(f"no reply to {request!r} within {seconds:g} s")
        tail = self.process.output_tail(20) if self.process is not None else ""
        return GodotTimeout(
            f"no reply from {self.describe()} within {seconds:g} s after {request!r}; it is hung "
            "or far too slow, so the connection was dropped. Raise the timeout for large "
            "batches, or check the scene for endless loops; 'rlgodot doctor' checks the setup."
            + (f" Output tail:\n{tail}" if tail else "")
        )

    def _crashed(self, request: str, error: BaseException) -> GodotCrashed:
        self._drop(f"connection lost during {request!r}")
        process = self.process
        if process is None:
            advice = (
                ": the game was stopped or crashed. Start it again and rerun to go on"
                if self.attached else f" ({error})"
            )
            return GodotCrashed(
                f"{self.describe()} closed the connection during {request!r}{advice}"
            )
        # EOF arrives a moment before the process can be reaped; wait briefly (it is normally
        # immediate) so the message can carry the exit code.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(0.5)
        return GodotCrashed(
            f"{process.describe()} closed the connection during {request!r} "
            f"({process.exit_description()}). Its output tail:\n{process.output_tail()}\n"
            "Look for a script error or crash above; run the scene in play mode or try "
            "'rlgodot doctor'."
        )

    def _drop(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._broken = reason
        self._pending = None
        self._protocol.cancel_waiter()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._transport.is_closing():
            return
        if reason == "closed by the client":
            self._transport.close()  # flushes what is queued
        else:
            self._transport.abort()  # a late reply must never answer a later request


def _peer_name(peer: str, attached: bool) -> str:
    """``the attached Godot at 127.0.0.1:P`` or ``Godot at 127.0.0.1:P``, for messages."""
    return f"the attached Godot at {peer}" if attached else f"Godot at {peer}"


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "AsyncGodotClient",
]
