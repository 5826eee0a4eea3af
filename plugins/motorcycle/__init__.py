"""rlgodot plugin ``motorcycle``: a side-view motocross bike on seeded hilly courses.

It registers ``motorcycle-v1`` (continuous throttle/lean, PPO) and ``motorcycle-discrete-v1``
(7 discrete actions, DQN), on 300 m courses with taller, steeper hills, and their first versions
``motorcycle-v0`` and ``motorcycle-discrete-v0`` (150 m), through the ``rlgodot_env_specs`` hook
(see :mod:`.env`).
"""

from rlgodot_motorcycle.env import (
    MOTORCYCLE,
    MOTORCYCLE_DISCRETE,
    MOTORCYCLE_DISCRETE_V1,
    MOTORCYCLE_V1,
)

from rlgodot.core.plugin import EnvSpec, hookimpl


@hookimpl
def rlgodot_env_specs() -> list[EnvSpec]:
    """The envs of this plugin."""
    return [MOTORCYCLE, MOTORCYCLE_DISCRETE, MOTORCYCLE_V1, MOTORCYCLE_DISCRETE_V1]
