"""The plugin author's API, in one import line.

A plugin module implements the hooks of :mod:`rlgodot.core.plugin.hookspecs` with
:data:`hookimpl` and describes its envs with :class:`EnvSpec`::

    from rlgodot.core.plugin import (Decoder, EnvSpec, ObservationTerms, Option, TrainDefaults,
                                     hookimpl, shipped_model)

Nothing here knows about sockets or Godot processes: a plugin is data plus a decoder, and its
observation is data too (:class:`ObservationTerms`), so Godot can compute it as well.
"""

from rlgodot.core.plugin.decoder import Decoder
from rlgodot.core.plugin.hookspecs import hookimpl
from rlgodot.core.plugin.observation import ObservationTerms
from rlgodot.core.plugin.spec import (
    IMAGE_KEY,
    VECTOR_KEY,
    EnvSpec,
    LinearSchedule,
    Option,
    TrainDefaults,
    shipped_model,
)

__all__ = [
    "IMAGE_KEY",
    "VECTOR_KEY",
    "Decoder",
    "EnvSpec",
    "LinearSchedule",
    "ObservationTerms",
    "Option",
    "TrainDefaults",
    "hookimpl",
    "shipped_model",
]
