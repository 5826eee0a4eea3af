"""rlgodot env plugin ``parking3d``: park a 3D hatchback in a target bay of a car park.

It registers ``parking3d-v1`` (start anywhere in the aisle, 35 throttle x steering levels),
``parking3d-continuous-v1`` (the same, continuous actions) and ``parking3d-discrete-v1`` (7
actions, for DQN), and keeps the ``-v0`` pair (start near the bay, facing it); see :mod:`.env`.
The Godot scene lives in ``godot/`` beside this file and ships as package data.
"""

from rlgodot_parking3d.env import (
    PARKING,
    PARKING_CONTINUOUS_V1,
    PARKING_DISCRETE,
    PARKING_DISCRETE_V1,
    PARKING_V1,
)

from rlgodot.core.plugin import EnvSpec, hookimpl


@hookimpl
def rlgodot_env_specs() -> list[EnvSpec]:
    """The envs of this plugin."""
    return [PARKING, PARKING_DISCRETE, PARKING_V1, PARKING_CONTINUOUS_V1, PARKING_DISCRETE_V1]
