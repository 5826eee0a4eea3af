"""Step two envs at once from asyncio code, with rlgodot's asyncio API.

rlgodot's transport is asyncio underneath; the Gymnasium and SB3 envs are a blocking facade
over it. Code that already runs an event loop (a game server, a web app, a tool driving several
envs) awaits the batch directly: while one Godot process simulates, the loop serves the others.

This runs random actions in ``ball`` and ``motorcycle`` concurrently, 8 instances each, and
prints what each saw::

    python examples/asyncio_envs.py --steps 300
"""

from __future__ import annotations

import argparse
import asyncio

import numpy as np

from rlgodot.core import AsyncEnvBatch, get_registry
from rlgodot.core.jobs.random_actions import random_actions


async def random_rollout(env: str, n_envs: int, steps: int, seed: int) -> str:
    """Random actions for ``steps`` steps of ``n_envs`` instances; a one-line summary."""
    spec = get_registry().get(env)
    rng = np.random.default_rng(seed)
    async with await AsyncEnvBatch.launch(spec, n_envs) as batch:
        await batch.reset(seeds=[seed + i for i in range(n_envs)])
        returns = np.zeros(n_envs)
        finished: list[float] = []
        for _ in range(steps):
            outcome = await batch.step(random_actions(spec.action_space, n_envs, rng))
            returns += outcome.rewards
            finished += returns[outcome.ended].tolist()
            returns[outcome.ended] = 0.0  # next-step autoreset: the next row starts anew
    mean = f"{np.mean(finished):.2f}" if finished else "n/a"
    return f"{spec.id}: {steps * n_envs} steps, {len(finished)} episodes, mean return {mean}"


async def main(steps: int) -> list[str]:
    """Both rollouts in one event loop, concurrently."""
    return list(
        await asyncio.gather(
            random_rollout("ball", 8, steps, seed=0),
            random_rollout("motorcycle", 8, steps, seed=100),
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per env (default 300)")
    for line in asyncio.run(main(parser.parse_args().steps)):
        print(line)
