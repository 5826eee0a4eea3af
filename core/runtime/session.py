"""A running batch of env instances: M Godot processes, connected and past the handshake.

``GodotSession`` is what the env layer holds. It owns the processes and the connections and
guarantees they go away together: :meth:`GodotSession.close` always terminates every process,
also after a crash, a timeout or a half-finished launch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Sequence

from rlgodot.core.errors import RLGodotError
from rlgodot.core.runtime.client.async_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    AsyncGodotClient,
)
from rlgodot.core.runtime.client.pool import AsyncGodotPool, split_evenly
from rlgodot.core.runtime.client.sync_client import EventLoopRunner, GodotPool
from rlgodot.core.runtime.launcher.process import GodotCommand, GodotProcess, cpu_for
from rlgodot.core.runtime.protocol.messages import ServerInfo, SessionConfig


class GodotSession(GodotPool):
    """``n_envs`` instances of one scene spread over ``n_procs`` Godot processes.

    A session is the blocking pool (``reset``, ``step``, ``ping``, ``bench``; see
    :class:`GodotPool`) that also owns the processes behind it. Global instance index order is
    process order. Use :meth:`launch`; the session is a context manager.

    Attributes:
        processes: The Godot processes, in instance order.
        launch_seconds: Wall time from spawning to the completed handshake.
    """

    def __init__(
        self,
        target: AsyncGodotPool,
        runner: EventLoopRunner,
        processes: Sequence[GodotProcess],
    ) -> None:
        super().__init__(target, runner)
        self.processes: tuple[GodotProcess, ...] = tuple(processes)
        self.launch_seconds = 0.0
        self._closed = False

    @classmethod
    def launch(
        cls,
        command: GodotCommand,
        *,
        n_envs: int,
        n_procs: int = 1,
        config: SessionConfig | None = None,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        pin_cpus: bool = False,
        ready_timeout: float = 30.0,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> GodotSession:
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
            ready_timeout: Seconds for all processes to start listening.
            connect_timeout: Seconds to connect to each.
            timeout: Default deadline of every request (hello, reset, step) in seconds.

        Raises:
            GodotLaunchError: A process did not start; all others are terminated.
            LayoutMismatch, ProtocolError, RemoteError: The handshake failed.
        """
        counts = split_evenly(n_envs, n_procs)
        base = config if config is not None else SessionConfig()
        start = time.monotonic()
        processes: list[GodotProcess] = []
        runner: EventLoopRunner | None = None
        try:
            # Spawning is quick; loading is slow. Spawn all, then wait for all: they load in
            # parallel. (Spawning from worker threads would break the parent-death signal.)
            for i in range(n_procs):
                processes.append(
                    GodotProcess.spawn(command, cpu=cpu_for(i) if pin_cpus else None)
                )
            deadline = start + ready_timeout
            for process in processes:
                process.wait_ready(max(deadline - time.monotonic(), 0.0))
            runner = EventLoopRunner()
            clients = runner.run(_connect_all(processes, connect_timeout, timeout))
            session = cls(AsyncGodotPool(clients), runner, processes)
            session.hello(
                dataclasses.replace(base, n_envs=n_envs),
                expect_state_names,
                expect_action_size,
                counts=counts,
            )
        except BaseException:
            if runner is not None:
                runner.close()
            _terminate(processes)
            raise
        session.launch_seconds = time.monotonic() - start
        return session

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
        return self._closed

    def close(self, timeout: float = 3.0) -> None:
        """Say goodbye, then terminate every process; idempotent, never raises.

        Args:
            timeout: Seconds each process gets to exit after ``close``/SIGTERM.
        """
        if self._closed:
            return
        self._closed = True
        try:
            with contextlib.suppress(Exception):  # closing must always reach the terminate
                super().close(timeout=min(timeout, 2.0))
        finally:
            _terminate(self.processes, grace=1.0, timeout=timeout)

    def __enter__(self) -> GodotSession:
        return self

    def __repr__(self) -> str:
        procs = ", ".join(p.describe() for p in self.processes)
        state = "closed" if self._closed else "open"
        return f"<GodotSession {self.n_envs} envs over [{procs}], {state}>"


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


def _terminate(processes: Sequence[GodotProcess], grace: float = 0.0, timeout: float = 3.0) -> None:
    """Stop all processes in parallel: wait for voluntary exits, then SIGTERM all, then reap."""
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
