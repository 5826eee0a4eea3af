"""A blocking facade over the asyncio client, for Gymnasium/SB3 code that is synchronous.

Each facade owns a private event loop and runs one ``run_until_complete`` per call. That is
cheap when the caller's thread has no running loop (scripts, SB3, RLlib workers). In a thread
that already runs a loop (Jupyter), a nested ``run_until_complete`` is forbidden, so calls are
handed to one helper thread that owns the private loop instead: slower, but it works.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import select
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from rlgodot.core.runtime.client.arguments import check_actions
from rlgodot.core.runtime.client.async_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    AsyncGodotClient,
)
from rlgodot.core.runtime.client.pool import AsyncGodotPool
from rlgodot.core.runtime.protocol.messages import ServerInfo, SessionConfig, StepBatch

if TYPE_CHECKING:
    from rlgodot.core.runtime.launcher.process import GodotProcess

T = TypeVar("T")
Target = TypeVar("Target", AsyncGodotClient, AsyncGodotPool)


class EventLoopRunner:
    """Runs coroutines to completion on a private event loop, from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._helper: concurrent.futures.ThreadPoolExecutor | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the private loop and return its result (or raise its error)."""
        if asyncio._get_running_loop() is None:
            return self.loop.run_until_complete(coro)
        if self._helper is None:
            self._helper = concurrent.futures.ThreadPoolExecutor(1, "rlgodot-loop")
        return self._helper.submit(self.loop.run_until_complete, coro).result()

    @property
    def owns_thread(self) -> bool:
        """True when the private loop runs in the caller's thread (no other loop running)."""
        return asyncio._get_running_loop() is None

    def wait(self, future: asyncio.Future[Any]) -> None:
        """Run the loop until ``future`` is done; its result or error is left in it."""
        if future.done():
            return
        if asyncio._get_running_loop() is None:
            try:
                self.loop.run_until_complete(future)
            except BaseException:
                if not future.done():  # KeyboardInterrupt and the like: not the future's own
                    raise
            return
        self.run(_wait_quietly(future))

    def close(self) -> None:
        """Close the loop (idempotent). Pending callbacks are dropped."""
        if self._helper is not None:
            self._helper.shutdown(wait=True)
            self._helper = None
        if not self.loop.is_closed():
            self.loop.close()


async def _wait_quietly(future: asyncio.Future[Any]) -> None:
    with contextlib.suppress(Exception):
        await future


class ReplySpinner:
    """Busy-polls sockets for a bounded time before the event loop blocks in ``epoll``.

    Only polls (``poll(0)``, nothing is read): asyncio still reads the replies. Waking a
    blocked thread on another core costs 30-60 us on a VM, more than a small scene's step; see
    ``SessionConfig.spin_usec`` for when spinning pays.
    """

    def __init__(self, filenos: Sequence[int], seconds: float) -> None:
        self.seconds = seconds
        self._count = len(filenos)
        self._poll = select.poll()
        for fd in filenos:
            self._poll.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)

    def spin(self) -> bool:
        """Return True as soon as every socket is readable, False after ``seconds``."""
        poll, count = self._poll.poll, self._count
        until = time.perf_counter() + self.seconds
        while len(poll(0)) < count:
            if time.perf_counter() >= until:
                return False
        return True


class _SyncFacade(Generic[Target]):
    """Blocking versions of the methods shared by a client and a pool."""

    def __init__(self, target: Target, runner: EventLoopRunner) -> None:
        self.target = target
        self._runner = runner
        self._spinner: ReplySpinner | None = None

    def _await_replies(self) -> None:
        """Spin until the step replies are readable, then read them without the loop."""
        if self._spinner is not None and self._spinner.spin() and self._runner.owns_thread:
            self.target.receive_nowait()

    def _use_spin(self, config: SessionConfig) -> None:
        """Spin for replies to steps as the hello asked both ends to."""
        self._spinner = (
            ReplySpinner(self.target.socket_filenos(), config.spin_usec / 1e6)
            if config.spin_usec > 0 else None
        )

    @property
    def info(self) -> ServerInfo | None:
        """The server hello (layout), None before hello."""
        return self.target.info

    @property
    def n_envs(self) -> int:
        """Instances behind this facade (0 before hello)."""
        return self.target.n_envs

    def hello(
        self,
        config: SessionConfig,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        *,
        timeout: float | None = None,
    ) -> ServerInfo:
        """Blocking :meth:`AsyncGodotClient.hello`."""
        info = self._runner.run(
            self.target.hello(config, expect_state_names, expect_action_size, timeout=timeout)
        )
        self._use_spin(config)
        return info

    def reset(
        self,
        seeds: Sequence[int] | None = None,
        options: Mapping[str, Any] | None = None,
        indices: Sequence[int] | None = None,
        *,
        timeout: float | None = None,
    ) -> StepBatch:
        """Blocking :meth:`AsyncGodotClient.reset`."""
        return self._runner.run(self.target.reset(seeds, options, indices, timeout=timeout))

    def step(self, actions: np.ndarray, *, timeout: float | None = None) -> StepBatch:
        """Blocking :meth:`AsyncGodotClient.step`.

        The hot path: send, then run the loop only until the reply future is done (no task,
        one loop wake-up), then decode outside the loop.
        """
        target = self.target
        try:
            if isinstance(target, AsyncGodotClient):
                target.send_step(check_actions(actions, target.n_envs, target.action_size))
                future = target.reply_future(timeout)
                self._await_replies()
                self._runner.wait(future)
                return target.finish_step(future)
            futures = target.send_step(actions, timeout=timeout)
            self._await_replies()
            if len(futures) == 1:
                self._runner.wait(futures[0])
            else:
                self._runner.wait(asyncio.gather(*futures, return_exceptions=True))
            return target.finish_step(futures)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            target.abort("interrupted while waiting for a step reply")
            raise

    def act(self, *, timeout: float | None = None) -> StepBatch:
        """Blocking :meth:`AsyncGodotClient.act`: a step with Godot's policy's actions."""
        return self._runner.run(self.target.act(timeout=timeout))

    def render(
        self, indices: Sequence[int] | None = None, *, timeout: float | None = None
    ) -> np.ndarray:
        """Blocking :meth:`AsyncGodotClient.render`: ``(n, H, W, 3)`` uint8 frames."""
        return self._runner.run(self.target.render(indices, timeout=timeout))

    def caption(self, captions: Sequence[str], *, timeout: float | None = None) -> None:
        """Blocking :meth:`AsyncGodotClient.caption`: one HUD line per instance."""
        self._runner.run(self.target.caption(captions, timeout=timeout))

    def ping(self, *, timeout: float | None = None) -> Any:
        """Blocking ping: the round trip time(s) in seconds."""
        return self._runner.run(self.target.ping(timeout=timeout))

    def bench(self, steps: int, *, capture: bool = True, timeout: float | None = None) -> Any:
        """Blocking in-engine bench: the ``bench_result`` message(s)."""
        return self._runner.run(self.target.bench(steps, capture=capture, timeout=timeout))

    def close(self, timeout: float = 2.0) -> None:
        """Close the connection(s) and the private loop; idempotent, never raises."""
        if self._runner.loop.is_closed():
            return
        try:
            self._runner.run(self.target.close(timeout))
        finally:
            self._runner.close()

    def __enter__(self) -> _SyncFacade[Target]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class GodotClient(_SyncFacade[AsyncGodotClient]):
    """Blocking client of one Godot process; see :class:`AsyncGodotClient`."""

    @classmethod
    def connect(
        cls,
        port: int,
        host: str = "127.0.0.1",
        *,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        process: GodotProcess | None = None,
        token: str | None = None,
    ) -> GodotClient:
        """Connect to a Godot server; see :meth:`AsyncGodotClient.connect`."""
        runner = EventLoopRunner()
        try:
            client = runner.run(
                AsyncGodotClient.connect(
                    port,
                    host,
                    timeout=timeout,
                    request_timeout=request_timeout,
                    process=process,
                    token=token,
                )
            )
        except BaseException:
            runner.close()
            raise
        return cls(client, runner)


class GodotPool(_SyncFacade[AsyncGodotPool]):
    """Blocking facade of an :class:`AsyncGodotPool`; built by :class:`GodotSession`."""

    def hello(
        self,
        config: SessionConfig,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        *,
        counts: Sequence[int] | None = None,
        timeout: float | None = None,
    ) -> ServerInfo:
        """Blocking :meth:`AsyncGodotPool.hello`."""
        info = self._runner.run(
            self.target.hello(
                config, expect_state_names, expect_action_size, counts=counts, timeout=timeout
            )
        )
        self._use_spin(config)
        return info
