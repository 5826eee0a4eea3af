"""rlgodot plugin ``motorcycle``: a side-view motocross bike on seeded hilly courses.

It registers ``motorcycle-v0`` (continuous throttle/lean, PPO) and ``motorcycle-discrete-v0``
(7 discrete actions, DQN) through the ``rlgodot_env_specs`` hook (see :mod:`.env`).
"""

from rlgodot_motorcycle.env import MOTORCYCLE, MOTORCYCLE_DISCRETE

from rlgodot.core.plugin import EnvSpec, hookimpl


@hookimpl
def rlgodot_env_specs() -> list[EnvSpec]:
    """The envs of this plugin."""
    return [MOTORCYCLE, MOTORCYCLE_DISCRETE]
