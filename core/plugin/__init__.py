"""The plugin author's API, in one import line.

A plugin module implements the hooks of :mod:`rlgodot.core.plugin.hookspecs` with
:data:`hookimpl` and describes its envs with :class:`EnvSpec`::

    from rlgodot.core.plugin import Decoder, EnvSpec, Option, TrainDefaults, hookimpl, shipped_model

Nothing here knows about sockets or Godot processes: a plugin is data plus a decoder.
"""

from rlgodot.core.plugin.decoder import Decoder
from rlgodot.core.plugin.hookspecs import hookimpl
from rlgodot.core.plugin.spec import (
    EnvSpec,
    LinearSchedule,
    Option,
    TrainDefaults,
    shipped_model,
)

__all__ = [
    "Decoder",
    "EnvSpec",
    "LinearSchedule",
    "Option",
    "TrainDefaults",
    "hookimpl",
    "shipped_model",
]
