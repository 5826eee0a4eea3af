"""Per-instance seeds, the way SB3 and Gymnasium hand them out (``seed + i``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlgodot.core.errors import InvalidOption
from rlgodot.core.runtime.protocol.messages import MAX_SEED


def derive_seeds(seed: int | None, n: int, rng: np.random.Generator | None = None) -> list[int]:
    """Per-instance seeds: ``seed + i`` when seeded (as SB3 and Gymnasium do), else random."""
    if seed is not None:
        if not 0 <= seed <= MAX_SEED - n:
            raise InvalidOption(f"seed must be an integer in [0, 2**63 - {n}], got {seed}")
        return [int(seed) + i for i in range(n)]
    rng = rng or np.random.default_rng()
    return [int(s) for s in rng.integers(0, 2**62, size=n)]


def normalise_seeds(seeds: Sequence[int | None], rng: np.random.Generator) -> list[int]:
    """Replace ``None`` entries by random seeds."""
    return [int(s) if s is not None else int(rng.integers(0, 2**62)) for s in seeds]
