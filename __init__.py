"""rlgodot: reinforcement learning in Python driving Godot 4 simulations.

Importing ``rlgodot`` registers every installed env under Gymnasium's ``rlgodot/`` namespace, so
``gymnasium.make("rlgodot:rlgodot/ball-v0")`` works from a program that never imports it itself.
"""

from rlgodot.core import __version__
from rlgodot.core.envs.gym_registration import register_gymnasium_envs

register_gymnasium_envs()

__all__ = ["__version__"]
