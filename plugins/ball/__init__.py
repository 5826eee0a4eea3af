"""rlgodot example plugin ``ball``: the smallest complete env plugin, to copy from.

It registers three envs through the ``rlgodot_env_specs`` hook (see :mod:`.env`); the Godot
scenes live in ``godot/`` beside this file and ship as package data.
"""

from rlgodot_ball.env import BALL, BALL_DISCRETE, BALL_PIXELS

from rlgodot.core.plugin import EnvSpec, hookimpl


@hookimpl
def rlgodot_env_specs() -> list[EnvSpec]:
    """The envs of this plugin."""
    return [BALL, BALL_DISCRETE, BALL_PIXELS]
