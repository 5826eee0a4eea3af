"""Running Godot and talking to it; knows no env (no spec, no plugin, no decoder).

- :mod:`~rlgodot.core.runtime.protocol`: framing, messages and codecs of the wire protocol;
- :mod:`~rlgodot.core.runtime.client`: the asyncio client (the real one), the fan-out pool over
  processes, and the blocking facade over both;
- :mod:`~rlgodot.core.runtime.launcher`: find or provision Godot, assemble the project, spawn
  and supervise processes;
- :mod:`~rlgodot.core.runtime.settings`: how to run Godot (:class:`LaunchSettings`);
- :mod:`~rlgodot.core.runtime.session`: M launched processes behind one connected pool.
"""

from rlgodot.core.runtime.settings import LaunchSettings

__all__ = ["LaunchSettings"]
