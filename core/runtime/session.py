"""A running batch of instances: M Godot processes, connected and past the handshake.

:class:`AsyncGodotSession` is the real one, for asyncio code: the pool of connections that also
owns its processes. :class:`GodotSession` is its blocking facade, what the env layer holds. Both
guarantee the processes and connections go away together: ``close`` always terminates every
process (and the session's private X display, if it started one), also after a crash, a timeout
or a half-finished launch.

An attached session (:meth:`AsyncGodotSession.attach`) connects to a game that is already
running (a scene with an ``RLServer``, ``allow_attach`` on) instead: it owns no process, and
``close`` only says goodbye, so the game goes on and waits for the next trainer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from rlgodot.core.errors import GodotNotListening, GodotTimeout, RLGodotError
from rlgodot.core.runtime.client.async_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    AsyncGodotClient,
)
from rlgodot.core.runtime.client.pool import AsyncGodotPool, split_evenly
from rlgodot.core.runtime.client.sync_client import EventLoopRunner, GodotPool
from rlgodot.core.runtime.launcher.display import VirtualDisplay
from rlgodot.core.runtime.launcher.process import GodotCommand, GodotProcess, cpu_for
from rlgodot.core.runtime.protocol.messages import ATTACH_ARG, ServerInfo, SessionConfig

ATTACH_CONNECT_TIMEOUT = 1.0
"""Seconds :meth:`AsyncGodotSession.attach` keeps trying to connect before it says that nothing
listens: a running game accepts at once."""


class AsyncGodotSession(AsyncGodotPool):
    """``n_envs`` instances of one scene over ``n_procs`` Godot processes, for asyncio code.

    The :class:`AsyncGodotPool` (``await reset``, ``step``, ``render``, ``caption``, ``ping``,
    ``bench``) that also owns the processes behind it. Global instance index order is process
    order. Create it with :meth:`launch`; it is an async context manager::

        async with await AsyncGodotSession.launch(command, n_envs=8) as session:
            first = await session.reset(seeds=list(range(8)))
            batch = await session.step(actions)

    Attributes:
        processes: The Godot processes, in instance order.
        config: The session config sent at hello (``n_envs`` = the total).
        display: The private Xvfb the processes draw on (``private_display``), else None.
        launch_seconds: Wall time from spawning to the completed handshake.
    """

    def __init__(
        self,
        clients: Sequence[AsyncGodotClient],
        processes: Sequence[GodotProcess],
        config: SessionConfig,
        display: VirtualDisplay | None = None,
    ) -> None:
        super().__init__(clients)
        self.processes: tuple[GodotProcess, ...] = tuple(processes)
        self.config = config
        self.display = display
        self.launch_seconds = 0.0
        self._closed = False

    @classmethod
    async def launch(
        cls,
        command: GodotCommand,
        *,
        n_envs: int,
        n_procs: int = 1,
        config: SessionConfig | None = None,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        expect_image_shape: Sequence[int] | None = None,
        pin_cpus: bool = False,
        private_display: bool = False,
        ready_timeout: float = 30.0,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> AsyncGodotSession:
        """Start ``n_procs`` Godot processes concurrently, connect, and say hello.

        Args:
            command: What each process runs (binary, project, scene, window or not).
            n_envs: Total instances, split over the processes as evenly as possible.
            n_procs: Godot processes (each simulates its share; they step concurrently).
            config: Session settings; its ``n_envs`` is replaced by each process's share.
            expect_state_names: The layout the caller decodes; a scene that declares another
                fails with ``LayoutMismatch``.
            expect_action_size: The action size the caller sends.
            expect_image_shape: The camera observation shape ``(H, W, C)`` the caller decodes
                (``()``: none); a scene with other cameras fails with ``LayoutMismatch``.
            pin_cpus: Pin process i to CPU ``i mod #cpus`` (faster on small machines; measure it).
            private_display: Start a private Xvfb and run the processes on it (it replaces
                ``command.display``); it is stopped when the session closes.
            ready_timeout: Seconds for all processes to start listening.
            connect_timeout: Seconds to connect to each.
            timeout: Default deadline of every request (hello, reset, step) in seconds.

        Raises:
            GodotLaunchError: A process did not start; all others are terminated.
            DisplayUnavailable: The private display could not be started.
            LayoutMismatch, ProtocolError, RemoteError: The handshake failed.
        """
        counts = split_evenly(n_envs, n_procs)
        total = dataclasses.replace(config or SessionConfig(), n_envs=n_envs)
        start = time.monotonic()
        processes: list[GodotProcess] = []
        clients: list[AsyncGodotClient] = []
        display: VirtualDisplay | None = None
        try:
            if private_display:
                display = await asyncio.to_thread(VirtualDisplay.start)
                command = dataclasses.replace(command, display=display.name)
            # Spawning is quick; loading is slow. Spawn all, then wait for all: they load in
            # parallel.
            for i in range(n_procs):
                processes.append(GodotProcess.spawn(command, cpu=cpu_for(i) if pin_cpus else None))
            await asyncio.gather(
                *(asyncio.to_thread(p.wait_ready, ready_timeout) for p in processes)
            )
            clients = await _connect_all(processes, connect_timeout, timeout)
            session = cls(clients, processes, total, display)
            await session.hello(
                total,
                expect_state_names,
                expect_action_size,
                counts=counts,
                expect_image_shape=expect_image_shape,
            )
        except BaseException:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            _terminate(processes, display=display)
            raise
        session.launch_seconds = time.monotonic() - start
        return session

    @classmethod
    async def attach(
        cls,
        port: int,
        *,
        n_envs: int,
        config: SessionConfig | None = None,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        expect_image_shape: Sequence[int] | None = None,
        connect_timeout: float = ATTACH_CONNECT_TIMEOUT,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> AsyncGodotSession:
        """Connect to a running game on 127.0.0.1:``port`` and say hello: no process is started.

        The game is a scene with an ``RLServer`` whose ``allow_attach`` is on, run from the Godot
        editor or from a build started with ``--rlgodot-attach[=PORT]`` (docs/GODOT_ADDON.md,
        "Attach: train in a running game"). It creates the ``n_envs`` instances, shows them in
        its window and adopts ``config.physics_hz``. :meth:`close` says goodbye and never ends
        the game, which then waits for the next trainer.

        Args:
            port: The port the game listens on (``DEFAULT_ATTACH_PORT`` unless it was changed).
            n_envs: Instances the game creates for this session.
            config: Session settings; its ``n_envs`` is replaced by ``n_envs``.
            expect_state_names: The layout the caller decodes (see :meth:`launch`).
            expect_action_size: The action size the caller sends.
            expect_image_shape: The camera observation shape (see :meth:`launch`).
            connect_timeout: Seconds to keep trying to connect.
            timeout: Default deadline of every request (hello, reset, step) in seconds: a game
                that stops answering fails with ``GodotTimeout`` after it, one that is closed
                with ``GodotCrashed`` at once.

        Raises:
            GodotNotListening: Nothing listens on the port (the message says how to start the
                game).
            LayoutMismatch, ProtocolError, RemoteError: The handshake failed (the game serves
                another scene, another protocol version, refused the config).
        """
        total = dataclasses.replace(config or SessionConfig(), n_envs=n_envs)
        start = time.monotonic()
        try:
            client = await AsyncGodotClient.connect(
                port, timeout=connect_timeout, request_timeout=timeout, attached=True
            )
        except GodotTimeout as exc:
            raise GodotNotListening(
                f"nothing listens on 127.0.0.1:{port}: start the game first (run the scene that "
                f"holds an RLServer with allow_attach on from the Godot editor, or a build with "
                f"{ATTACH_ARG}={port}) and check the port it shows; a game that is already "
                "training with another trainer refuses a second one"
            ) from exc
        session = cls([client], (), total)
        try:
            await session.hello(
                total,
                expect_state_names,
                expect_action_size,
                expect_image_shape=expect_image_shape,
            )
        except BaseException:
            await client.close()
            raise
        session.launch_seconds = time.monotonic() - start
        return session

    @property
    def attached(self) -> bool:
        """True for a session attached to a running game (it owns no process)."""
        return not self.processes and any(c.attached for c in self.clients)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    async def close(self, timeout: float = 3.0) -> None:
        """Say goodbye, then terminate every process and the private display; idempotent.

        An attached session has neither: the game goes on. Never raises.

        Args:
            timeout: Seconds each process gets to exit after ``close``/SIGTERM.
        """
        if self._closed:
            return
        self._closed = True
        try:
            await super().close(timeout=min(timeout, 2.0))
        finally:
            await asyncio.to_thread(_terminate, self.processes, 1.0, timeout, self.display)

    async def __aenter__(self) -> AsyncGodotSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        procs = ", ".join(p.describe() for p in self.processes) or ", ".join(
            c.describe() for c in self.clients
        )
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.n_envs} envs over [{procs}], {state}>"


class GodotSession(GodotPool):
    """The blocking facade of an :class:`AsyncGodotSession`: what the env layer holds.

    ``reset``, ``step``, ``render``, ``caption``, ``ping`` and ``bench`` block (see
    :class:`GodotPool`); the session is a context manager. Use :meth:`launch`.
    """

    target: AsyncGodotSession

    @classmethod
    def launch(cls, command: GodotCommand, **kwargs: Any) -> GodotSession:
        """Blocking :meth:`AsyncGodotSession.launch`; the same arguments."""
        return cls._blocking(lambda: AsyncGodotSession.launch(command, **kwargs))

    @classmethod
    def attach(cls, port: int, **kwargs: Any) -> GodotSession:
        """Blocking :meth:`AsyncGodotSession.attach`; the same arguments."""
        return cls._blocking(lambda: AsyncGodotSession.attach(port, **kwargs))

    @classmethod
    def _blocking(
        cls, start: Callable[[], Coroutine[Any, Any, AsyncGodotSession]]
    ) -> GodotSession:
        """Run ``start()`` on a new event loop thread and wrap the session it returns."""
        runner = EventLoopRunner()
        try:
            target = runner.run(start())
        except BaseException:
            runner.close()
            raise
        session = cls(target, runner)
        session._use_spin(target.config)
        return session

    @property
    def processes(self) -> tuple[GodotProcess, ...]:
        """The Godot processes, in instance order (none when attached)."""
        return self.target.processes

    @property
    def attached(self) -> bool:
        """True for a session attached to a running game (it owns no process)."""
        return self.target.attached

    @property
    def launch_seconds(self) -> float:
        """Wall time from spawning to the completed handshake."""
        return self.target.launch_seconds

    @property
    def info(self) -> ServerInfo:
        """The layout and settings (first process's hello, ``n_envs`` = total)."""
        info = self.target.info
        if info is None:  # launch() completes the hello; only a hand-built session lacks it
            raise RLGodotError("the session has not completed its hello; use GodotSession.launch")
        return info

    @property
    def counts(self) -> tuple[int, ...]:
        """Instances per process."""
        return self.target.counts

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self.target.closed

    @property
    def display(self) -> VirtualDisplay | None:
        """The private Xvfb the processes draw on, if the session started one."""
        return self.target.display

    def close(self, timeout: float = 3.0) -> None:
        """Say goodbye, then terminate every process and the private display; idempotent.

        An attached session has neither: the game goes on. Never raises.
        """
        if self.target.closed:
            return
        try:
            with contextlib.suppress(Exception):  # closing must always reach the terminate
                super().close(timeout=timeout)
        finally:
            _terminate(self.target.processes, 0.0, timeout, self.target.display)

    def __enter__(self) -> GodotSession:
        return self

    def __repr__(self) -> str:
        return repr(self.target).replace("AsyncGodotSession", "GodotSession")


async def _connect_all(
    processes: Sequence[GodotProcess], connect_timeout: float, request_timeout: float
) -> list[AsyncGodotClient]:
    results = await asyncio.gather(
        *(
            AsyncGodotClient.connect(
                p.port or 0, timeout=connect_timeout, request_timeout=request_timeout, process=p
            )
            for p in processes
        ),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        for result in results:
            if isinstance(result, AsyncGodotClient):
                await result.close()
        raise errors[0]
    return list(results)  # type: ignore[arg-type]


def _terminate(
    processes: Sequence[GodotProcess],
    grace: float = 0.0,
    timeout: float = 3.0,
    display: VirtualDisplay | None = None,
) -> None:
    """Stop all processes in parallel: wait for voluntary exits, then SIGTERM all, then reap.

    Then stop the display they drew on, if given.
    """
    end = time.monotonic() + grace
    for process in processes:
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        with contextlib.suppress(Exception):  # still running: handled below
            process.wait(remaining)
    for process in processes:
        if process.poll() is None:
            process.signal_terminate()
    for process in processes:
        with contextlib.suppress(Exception):  # best effort, keep going for the others
            process.terminate(timeout)
    if display is not None:
        display.stop()
