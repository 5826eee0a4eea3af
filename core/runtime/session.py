"""A running batch of instances: M Godot processes, connected and past the handshake.

:class:`AsyncGodotSession` is the real one, for asyncio code: the pool of connections that also
owns its processes. :class:`GodotSession` is its blocking facade, what the env layer holds. Both
guarantee the processes and connections go away together: ``close`` always terminates every
process (and the session's private X display, if it started one), also after a crash, a timeout
or a half-finished launch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from rlgodot.core.errors import RLGodotError
from rlgodot.core.runtime.client.async_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    AsyncGodotClient,
)
from rlgodot.core.runtime.client.pool import AsyncGodotPool, split_evenly
from rlgodot.core.runtime.client.sync_client import EventLoopRunner, GodotPool
from rlgodot.core.runtime.launcher.display import VirtualDisplay
from rlgodot.core.runtime.launcher.process import GodotCommand, GodotProcess, cpu_for
from rlgodot.core.runtime.protocol.messages import ServerInfo, SessionConfig


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
            await session.hello(total, expect_state_names, expect_action_size, counts=counts)
        except BaseException:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            _terminate(processes, display=display)
            raise
        session.launch_seconds = time.monotonic() - start
        return session

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    async def close(self, timeout: float = 3.0) -> None:
        """Say goodbye, then terminate every process and the private display; idempotent.

        Never raises.

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
        procs = ", ".join(p.describe() for p in self.processes)
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
        runner = EventLoopRunner()
        try:
            target = runner.run(AsyncGodotSession.launch(command, **kwargs))
        except BaseException:
            runner.close()
            raise
        session = cls(target, runner)
        session._use_spin(target.config)
        return session

    @property
    def processes(self) -> tuple[GodotProcess, ...]:
        """The Godot processes, in instance order."""
        return self.target.processes

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

        Never raises.
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
