"""Fan one batch of instances out over several Godot processes.

M clients of n_i instances each look like one server of sum(n_i) instances; global instance
index order is process order. A step sends every process its slice first and only then waits
for the replies, so the processes simulate concurrently and the step costs the slowest of
them, without creating an asyncio task per process per step.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rlgodot.core.errors import InvalidOption, LayoutMismatch, RLGodotError
from rlgodot.core.runtime.client.arguments import (
    check_actions,
    check_captions,
    check_indices,
    reset_message,
)
from rlgodot.core.runtime.client.async_client import AsyncGodotClient
from rlgodot.core.runtime.protocol.messages import (
    TYPE_ACT,
    ServerInfo,
    SessionConfig,
    StepBatch,
    concat_batches,
)


def split_evenly(total: int, parts: int) -> list[int]:
    """Split ``total`` instances over ``parts`` processes as evenly as possible.

    The first ``total % parts`` processes get one more. Every process gets at least one.

    Raises:
        InvalidOption: ``parts < 1`` or ``total < parts``.
    """
    if parts < 1 or total < parts:
        raise InvalidOption(
            f"cannot split {total} instances over {parts} processes "
            "(each process needs at least one instance)"
        )
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class AsyncGodotPool:
    """Several :class:`AsyncGodotClient` presented as one batch of instances.

    Args:
        clients: Connected clients, in process order (hello not yet done).
    """

    def __init__(self, clients: Sequence[AsyncGodotClient]) -> None:
        if not clients:
            raise ValueError("AsyncGodotPool needs at least one client")
        self.clients: tuple[AsyncGodotClient, ...] = tuple(clients)
        self.counts: tuple[int, ...] = ()
        self.offsets: tuple[int, ...] = ()
        self.info: ServerInfo | None = None
        self._n = 0
        self._action_size = 0

    @property
    def n_envs(self) -> int:
        """Total instances over all processes (0 before hello)."""
        return self._n

    @property
    def infos(self) -> tuple[ServerInfo | None, ...]:
        """Each process's own hello reply."""
        return tuple(c.info for c in self.clients)

    async def hello(
        self,
        config: SessionConfig,
        expect_state_names: Sequence[str] | None = None,
        expect_action_size: int | None = None,
        *,
        counts: Sequence[int] | None = None,
        timeout: float | None = None,
        expect_image_shape: Sequence[int] | None = None,
    ) -> ServerInfo:
        """Handshake with every process concurrently.

        Args:
            config: The session config; its ``n_envs`` is the total, split over the processes
                unless ``counts`` gives the split.
            expect_state_names: The layout the caller will decode.
            expect_action_size: The action size the caller will send.
            counts: Instances per process (sum = total).
            timeout: Deadline of each handshake in seconds.
            expect_image_shape: The camera observation shape the caller will decode (``()``:
                none); None: not checked.

        Returns:
            The first process's hello with ``n_envs`` set to the total.

        Raises:
            LayoutMismatch: The processes disagree on the layout (different scenes).
        """
        split = (
            list(counts) if counts is not None else split_evenly(config.n_envs, len(self.clients))
        )
        if len(split) != len(self.clients):
            raise InvalidOption(f"counts has {len(split)} entries for {len(self.clients)} clients")
        infos = await _gather_all(
            [
                client.hello(
                    dataclasses.replace(config, n_envs=count),
                    expect_state_names,
                    expect_action_size,
                    timeout=timeout,
                    expect_image_shape=expect_image_shape,
                )
                for client, count in zip(self.clients, split, strict=True)
            ]
        )
        first = infos[0]
        for client, info in zip(self.clients[1:], infos[1:], strict=True):
            if (info.state_names, info.action_size) != (first.state_names, first.action_size):
                raise LayoutMismatch(
                    f"{client.describe()} declares layout {list(info.state_names)} / "
                    f"{info.action_size}, the first process {list(first.state_names)} / "
                    f"{first.action_size}"
                )
        self.counts = tuple(split)
        self.offsets = tuple(int(x) for x in np.cumsum([0, *split[:-1]]))
        self._n = sum(split)
        self._action_size = first.action_size
        self.info = dataclasses.replace(first, n_envs=self._n)
        return self.info

    async def reset(
        self,
        seeds: Sequence[int] | None = None,
        options: Mapping[str, Any] | None = None,
        indices: Sequence[int] | None = None,
        *,
        timeout: float | None = None,
    ) -> StepBatch:
        """Reset all instances or those in ``indices`` (global), routed to their processes.

        Returns:
            The first states of the reset instances, in ``indices`` order.

        Raises:
            InvalidOption: Bad indices or seeds (nothing was sent).
        """
        self._require_hello("reset")
        # Validate once against the global layout, before anything is sent anywhere.
        reset_message(seeds, options, indices, self._n)
        routes = self._route(None if indices is None else check_indices(indices, self._n))
        seed_list = None if seeds is None else [int(s) for s in seeds]
        batches = await _gather_all(
            [
                client.reset(
                    None if seed_list is None else [seed_list[k] for k in rows],
                    options,
                    local,
                    timeout=timeout,
                )
                for client, rows, local in routes
            ]
        )
        if len(batches) == 1:
            return batches[0]
        order = _request_order(routes)
        merged = concat_batches(batches, [0] * len(batches))
        images = None if merged.images is None else merged.images[order]
        return StepBatch.empty_terminals(merged.states[order], merged.status[order], images)

    async def render(
        self, indices: Sequence[int] | None = None, *, timeout: float | None = None
    ) -> np.ndarray:
        """Frames of all instances or those in ``indices`` (global), from their processes.

        Returns:
            ``(n, H, W, 3)`` uint8 RGB frames in ``indices`` order (see
            :meth:`AsyncGodotClient.render`).

        Raises:
            RLGodotError: The session has no viewer (nothing was sent).
            InvalidOption: Bad indices (nothing was sent).
        """
        self._require_hello("render")
        routes = self._route(
            None if indices is None else check_indices(indices, self._n, "render")
        )
        frames = await _gather_all(
            [client.render(local, timeout=timeout) for client, _, local in routes]
        )
        if len(frames) == 1:
            return frames[0]
        merged = np.concatenate(frames)
        return merged if indices is None else merged[_request_order(routes)]

    async def caption(self, captions: Sequence[str], *, timeout: float | None = None) -> None:
        """Show ``captions[i]`` in the HUD of global instance i (``""`` clears it).

        Raises:
            RLGodotError: The session has no viewer (nothing was sent).
            InvalidOption: Not one string per instance (nothing was sent).
        """
        self._require_hello("caption")
        listed = check_captions(captions, self._n)
        slices = zip(self.clients, self.offsets, self.counts, strict=True)
        await _gather_all(
            [client.caption(listed[at : at + n], timeout=timeout) for client, at, n in slices]
        )

    def _route(
        self, indices: list[int] | None
    ) -> list[tuple[AsyncGodotClient, list[int], list[int] | None]]:
        """Split checked global ``indices`` (None: all) by process.

        Returns:
            For each process with rows in the request: its client, the positions of its rows
            in the request, and its local indices (None: all its instances, in order).
        """
        global_indices = list(range(self._n)) if indices is None else indices
        process_of = np.searchsorted(self.offsets, global_indices, side="right") - 1
        routes = []
        for p, client in enumerate(self.clients):
            rows = [k for k, proc in enumerate(process_of) if proc == p]
            if not rows:
                continue
            local = [global_indices[k] - self.offsets[p] for k in rows]
            whole = indices is None or local == list(range(self.counts[p]))
            routes.append((client, rows, None if whole else local))
        return routes

    async def step(self, actions: np.ndarray, *, timeout: float | None = None) -> StepBatch:
        """Step every process with its slice of ``actions`` and stack the results.

        Args:
            actions: ``(sum n_i, A)`` array-like of finite floats.
            timeout: Deadline in seconds for the whole fan-out.

        Raises:
            InvalidAction: Wrong shape or values (nothing was sent).
            GodotCrashed, GodotTimeout: As for one client (the first failure); the other
                replies are still read so no connection is left out of step.
        """
        futures = self.send_step(actions, timeout=timeout)
        try:
            await asyncio.wait(futures)
        except asyncio.CancelledError:
            self.abort("cancelled while waiting for a step reply")
            raise
        return self.finish_step(futures)

    def send_step(
        self, actions: np.ndarray, *, timeout: float | None = None
    ) -> list[asyncio.Future[bytearray]]:
        """Phases 1 and 2 of a step: check, send every slice, return the reply futures."""
        self._require_hello("step")
        array = check_actions(actions, self._n, self._action_size)
        for client in self.clients:  # all or nothing: never step only some processes
            client.check_ready("step")
        futures = []
        try:
            for client, offset, count in zip(self.clients, self.offsets, self.counts, strict=True):
                client.write_step(array[offset : offset + count])
                futures.append(client.reply_future(timeout))
        except BaseException:
            self.abort("a step could not be sent to every process")
            raise
        return futures

    def finish_step(self, futures: Sequence[asyncio.Future[bytearray]]) -> StepBatch:
        """Phase 3 of a step: decode every reply and stack them, or raise the first failure."""
        batches = []
        error: BaseException | None = None
        for client, future in zip(self.clients, futures, strict=True):
            try:
                batches.append(client.finish_step(future))
            except RLGodotError as exc:
                error = error or exc
        if error is not None:
            raise error
        return concat_batches(batches, self.offsets)

    async def act(self, *, timeout: float | None = None) -> StepBatch:
        """Every process steps with its in-engine policy's actions (:meth:`AsyncGodotClient.act`).

        Raises:
            RemoteError: ``not_ready``: no policy, or an instance never reset.
            GodotCrashed, GodotTimeout: As for :meth:`step`.
        """
        self._require_hello(TYPE_ACT)
        for client in self.clients:  # all or nothing: never step only some processes
            client.check_ready(TYPE_ACT)
        batches = await _gather_all([client.act(timeout=timeout) for client in self.clients])
        return concat_batches(batches, self.offsets)

    def socket_filenos(self) -> tuple[int, ...]:
        """Every connection's socket descriptor."""
        return tuple(fd for client in self.clients for fd in client.socket_filenos())

    def receive_nowait(self) -> None:
        """:meth:`AsyncGodotClient.receive_nowait` on every connection."""
        for client in self.clients:
            client.receive_nowait()

    async def ping(self, *, timeout: float | None = None) -> list[float]:
        """Round trip time of every process, in seconds."""
        return await _gather_all([c.ping(timeout=timeout) for c in self.clients])

    async def bench(
        self, steps: int, *, capture: bool = True, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """In-engine bench of every process at once (they run concurrently, one per core)."""
        return await _gather_all(
            [c.bench(steps, capture=capture, timeout=timeout) for c in self.clients]
        )

    async def close(self, timeout: float = 2.0) -> None:
        """Close every connection concurrently; never raises."""
        await asyncio.gather(*(c.close(timeout) for c in self.clients), return_exceptions=True)

    def abort(self, reason: str) -> None:
        """Drop every connection at once (after an interruption left replies unread)."""
        for client in self.clients:
            client.abort(reason)

    def _require_hello(self, request: str) -> None:
        if self.info is None:
            raise RLGodotError(f"call hello() on the pool before {request}()")


def _request_order(routes: Sequence[tuple[Any, list[int], Any]]) -> np.ndarray:
    """The permutation that puts rows concatenated in process order back in request order."""
    return np.argsort(np.concatenate([np.asarray(rows) for _, rows, _ in routes]), kind="stable")


async def _gather_all(coros: Sequence[Any]) -> list[Any]:
    """Await all, even if some fail, then raise the first failure.

    Plain ``gather`` would return at the first error and leave the other requests running
    with their replies unread.
    """
    results = await asyncio.gather(*coros, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
