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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlgodot.core.runtime.client.async_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    AsyncGodotClient,
)
from rlgodot.core.runtime.client.pool import AsyncGodotPool, split_evenly
from rlgodot.core.runtime.client.sync_client import EventLoopRunner, GodotPool
from rlgodot.core.runtime.launcher.binary import GodotBinary
from rlgodot.core.runtime.launcher.process import GodotProcess, cpu_for
from rlgodot.core.runtime.protocol.messages import ServerInfo, SessionConfig, StepBatch


class GodotSession:
    """``n_envs`` instances of one scene spread over ``n_procs`` Godot processes.

    Global instance index order is process order. Use :meth:`launch`; the session is a
    context manager.

    Attributes:
        processes: The Godot processes, in instance order.
        counts: Instances per process.
        launch_seconds: Wall time from spawning to the completed handshake.
    """

    def __init__(
        self,
        processes: Sequence[GodotProcess],
        pool: GodotPool,
        counts: Sequence[int],
        launch_seconds: float,
    ) -> None:
        self.processes: tuple[GodotProcess, ...] = tuple(processes)
        self.counts: tuple[int, ...] = tuple(counts)
        self.launch_seconds = launch_seconds
        self._pool = pool
        self._closed = False

    @classmethod
    def launch(
        cls,
        godot: GodotBinary,
        project_dir: Path | str,
        scene_res_path: str,
        *,
        n_envs: int,
        n_procs: int = 1,
        config: SessionConfig | None = None,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        physics_hz: int = 60,
        headless: bool = True,
        pin_cpus: bool = False,
        godot_args: Sequence[str] = (),
        user_args: Sequence[str] = (),
        ready_timeout: float = 30.0,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> GodotSession:
        """Start ``n_procs`` Godot processes concurrently, connect, and say hello.

        Args:
            godot: The Godot binary.
            project_dir: An assembled, imported project.
            scene_res_path: The env instance scene (``res://envs/<name>/<scene>.tscn``).
            n_envs: Total instances, split over the processes as evenly as possible.
            n_procs: Godot processes (each simulates its share; they step concurrently).
            config: Session settings; its ``n_envs`` is replaced by each process's share.
            expect_state_names: The layout the caller decodes; a scene that declares another
                fails with ``LayoutMismatch``.
            expect_action_size: The action size the caller sends.
            physics_hz: Physics ticks per simulated second.
            headless: No window (set False to render; needs a display).
            pin_cpus: Pin process i to CPU ``i mod #cpus`` (faster on small machines; measure it).
            godot_args: Extra engine arguments (before ``--``).
            user_args: Extra scene arguments (after ``--``).
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
                    GodotProcess.spawn(
                        godot,
                        project_dir,
                        scene_res_path,
                        physics_hz=physics_hz,
                        headless=headless,
                        cpu=cpu_for(i) if pin_cpus else None,
                        user_args=user_args,
                        godot_args=godot_args,
                    )
                )
            deadline = start + ready_timeout
            for process in processes:
                process.wait_ready(max(deadline - time.monotonic(), 0.0))
            runner = EventLoopRunner()
            clients = runner.run(_connect_all(processes, connect_timeout, timeout))
            pool = GodotPool(AsyncGodotPool(clients), runner)
            pool.hello(
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
        return cls(processes, pool, counts, time.monotonic() - start)

    # ------------------------------------------------------------------ requests

    @property
    def info(self) -> ServerInfo:
        """The layout and settings (first process's hello, ``n_envs`` = total)."""
        info = self._pool.info
        assert info is not None  # launch() completes the hello
        return info

    @property
    def n_envs(self) -> int:
        """Total instances."""
        return self._pool.n_envs

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def reset(
        self,
        seeds: Sequence[int] | None = None,
        options: Mapping[str, Any] | None = None,
        indices: Sequence[int] | None = None,
        *,
        timeout: float | None = None,
    ) -> StepBatch:
        """Reset all instances or those in ``indices`` (global indices, result in that order).

        Seed every reset instance explicitly when there are several processes: unseeded
        instance i of each process would otherwise run the same seed stream.
        """
        return self._pool.reset(seeds, options, indices, timeout=timeout)

    def step(self, actions: np.ndarray, *, timeout: float | None = None) -> StepBatch:
        """Step all instances with ``(n_envs, A)`` actions."""
        return self._pool.step(actions, timeout=timeout)

    def ping(self, *, timeout: float | None = None) -> list[float]:
        """Round trip time of each process in seconds."""
        return self._pool.ping(timeout=timeout)

    def bench(self, steps: int, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """Each process steps its instances ``steps`` times alone, concurrently; no I/O."""
        return self._pool.bench(steps, timeout=timeout)

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
                self._pool.close(timeout=min(timeout, 2.0))
        finally:
            _terminate(self.processes, grace=1.0, timeout=timeout)

    def __enter__(self) -> GodotSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
