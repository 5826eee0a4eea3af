"""How to run Godot for a session: :class:`LaunchSettings`. None of it changes an env's dynamics."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rlgodot.core.runtime.launcher.binary import GodotBinary

# Long enough to cover a small scene's step (null env, 64 instances: ~80 us) and the round trip,
# short enough that a Godot waiting for a slow policy blocks soon (idle CPU stays ~0).
AUTO_SPIN_USEC = 300


@dataclass(frozen=True)
class LaunchSettings:
    """How to run Godot for an env; none of this changes the env's dynamics.

    Attributes:
        n_procs: Godot processes the instances are spread over (stepped concurrently).
        headless: Run without a window. ``False`` needs a display (``DISPLAY``).
        realtime_factor: 0 runs flat out; r > 0 throttles to r x real time (for watching).
        pin_cpus: Pin each Godot process to one core (faster on small machines, measure it).
        step_timeout: Seconds to wait for any reply before raising ``GodotTimeout``.
        godot: The Godot binary; found with :func:`find_godot` when ``None``.
        spin_usec: Microseconds Python and Godot busy-poll for the next frame before they block
            (``SessionConfig.spin_usec``). ``None`` chooses: ``AUTO_SPIN_USEC`` when there are
            fewer Godot processes than CPUs this process may use (each side has a core to spin
            on), else 0. Set 0 when other processes compete for the cores (RLlib runners).
    """

    n_procs: int = 1
    headless: bool = True
    realtime_factor: float = 0.0
    pin_cpus: bool = False
    step_timeout: float = 30.0
    godot: GodotBinary | None = None
    spin_usec: int | None = None

    def resolved_spin_usec(self) -> int:
        """``spin_usec``, with ``None`` resolved for this machine and ``n_procs``."""
        if self.spin_usec is not None:
            return self.spin_usec
        return AUTO_SPIN_USEC if self.n_procs < len(os.sched_getaffinity(0)) else 0
