"""How to run Godot for a session: :class:`LaunchSettings`. None of it changes an env's dynamics."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from rlgodot.core.runtime.launcher.binary import GodotBinary
from rlgodot.core.runtime.launcher.process import live_count

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
            (``SessionConfig.spin_usec``). ``None`` chooses when the session starts:
            ``AUTO_SPIN_USEC`` while all the Godot processes this Python process runs (those
            already live plus ``n_procs``) are fewer than the CPUs it may use (each side has a
            core to spin on), else 0. So four ``gymnasium.make`` envs in a ``SyncVectorEnv`` on
            two cores spin only in the first. Set 0 when other programs compete for the cores
            (RLlib runners).
        script_errors: ``"raise"``: a GDScript error while Godot handles a reset or step raises
            ``ScriptError`` naming the script and line; ``"warn"``: a ``ScriptErrorWarning``.
    """

    n_procs: int = 1
    headless: bool = True
    realtime_factor: float = 0.0
    pin_cpus: bool = False
    step_timeout: float = 30.0
    godot: GodotBinary | None = None
    spin_usec: int | None = None
    script_errors: Literal["raise", "warn"] = "raise"

    def resolved_spin_usec(self) -> int:
        """``spin_usec``, with ``None`` resolved for a session about to start ``n_procs``.

        Counts the Godot processes already live in this Python process, so call it just
        before launching.
        """
        if self.spin_usec is not None:
            return self.spin_usec
        godots = live_count() + self.n_procs
        return AUTO_SPIN_USEC if godots < len(os.sched_getaffinity(0)) else 0
