"""The asyncio API: AsyncEnvBatch / AsyncGodotSession against real Godot, and the example."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlgodot.core import get_registry
from rlgodot.core.envs.batch import AsyncEnvBatch, EnvBatch
from rlgodot.core.jobs.random_actions import random_actions

pytestmark = pytest.mark.godot

# A large target: random pushes reach it often, so episodes end and terminal rows are compared.
EASY = {"target_radius": 2.5}
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "asyncio_envs.py"


def _actions(env: str, n: int, steps: int) -> list[np.ndarray]:
    space = get_registry().get(env).action_space
    rng = np.random.default_rng(7)
    return [random_actions(space, n, rng) for _ in range(steps)]


async def _async_rollout(env: str, actions: list[np.ndarray]) -> list[np.ndarray]:
    spec = get_registry().get(env)
    n = len(actions[0])
    async with await AsyncEnvBatch.launch(spec, n, "same_step", EASY) as batch:
        seen = [await batch.reset(seeds=list(range(10, 10 + n)))]
        for row in actions:
            outcome = await batch.step(row)
            seen += [outcome.observations, outcome.rewards, outcome.final_observations]
        processes = batch.session.processes
    assert all(p.poll() is not None for p in processes), "close() left a Godot running"
    return seen


def _sync_rollout(env: str, actions: list[np.ndarray]) -> list[np.ndarray]:
    spec = get_registry().get(env)
    n = len(actions[0])
    batch = EnvBatch(spec, n, "same_step", EASY)
    try:
        seen = [batch.reset(seeds=list(range(10, 10 + n)))]
        for row in actions:
            outcome = batch.step(row)
            seen += [outcome.observations, outcome.rewards, outcome.final_observations]
    finally:
        batch.close()
    return seen


def test_async_batch_decodes_exactly_like_the_blocking_one(godot_binary):
    actions = _actions("ball", 4, 300)
    asynchronous = asyncio.run(_async_rollout("ball", actions))
    blocking = _sync_rollout("ball", actions)
    assert len(asynchronous) == len(blocking)
    ended = sum(len(a) for a in asynchronous[3::3])
    assert ended > 0, "no episode ended: the terminal path was not compared"
    for a, b in zip(asynchronous, blocking, strict=True):
        np.testing.assert_array_equal(a, b)


def test_two_envs_step_concurrently_in_one_loop(godot_binary):
    async def both() -> list[tuple[float, float]]:
        ready: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]
        return list(
            await asyncio.gather(
                _stepping_span("ball", ready[0], ready[1]),
                _stepping_span("motorcycle", ready[1], ready[0]),
            )
        )

    (start_a, end_a), (start_b, end_b) = asyncio.run(both())
    # Both started stepping together (after both launched); interleaved in the loop, each one's
    # stepping ends after the other's began. Run one after the other, they would not overlap.
    assert max(start_a, start_b) < min(end_a, end_b)


async def _stepping_span(
    env: str, mine: asyncio.Event, other: asyncio.Event, steps: int = 200
) -> tuple[float, float]:
    """When this env's stepping started and ended (loop time), starting once both launched."""
    spec = get_registry().get(env)
    rng = np.random.default_rng(0)
    async with await AsyncEnvBatch.launch(spec, 8) as batch:
        await batch.reset(seeds=list(range(8)))
        mine.set()
        await other.wait()
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(steps):
            await batch.step(random_actions(spec.action_space, 8, rng))
        return start, loop.time()


def test_the_asyncio_example_runs(godot_binary):
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--steps", "100"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["ball-v0", "motorcycle-v1"]
    assert all("800 steps" in line for line in lines)
