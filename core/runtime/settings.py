"""How to run Godot for a session: :class:`LaunchSettings`. None of it changes an env's dynamics."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from rlgodot.core.errors import DisplayUnavailable, InvalidOption
from rlgodot.core.runtime.launcher.binary import GodotBinary
from rlgodot.core.runtime.launcher.display import INSTALL_HINT, has_display
from rlgodot.core.runtime.launcher.process import live_count
from rlgodot.core.runtime.protocol.messages import DEFAULT_VIEW_SIZE, Viewer, check_view_size

# Long enough to cover a small scene's step (null env, 64 instances: ~80 us) and the round trip,
# short enough that a Godot waiting for a slow policy blocks soon (idle CPU stays ~0).
AUTO_SPIN_USEC = 300

RenderMode = Literal["human", "rgb_array"]
RENDER_MODES: Final = ("human", "rgb_array")
"""Gymnasium's render modes: a window at real time, or frames of each instance."""
_VIEWERS: Final[dict[str | None, Viewer]] = {
    None: "none",
    "human": "window",
    "rgb_array": "offscreen",
}


@dataclass(frozen=True)
class LaunchSettings:
    """How to run Godot for an env; none of this changes the env's dynamics.

    Attributes:
        n_procs: Godot processes the instances are spread over (stepped concurrently).
        headless: Run without a window. ``False`` needs a display (``DISPLAY``). A rendering
            Godot (``render_mode`` set) is never headless.
        realtime_factor: 0 runs flat out; r > 0 throttles to r x real time (for watching).
            With ``render_mode="human"``, 0 means real time (1.0).
        pin_cpus: Pin each Godot process to one core (faster on small machines, measure it).
            Ignored with ``render_mode``: a rendering Godot is never pinned.
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
        render_mode: ``None``: headless, nothing renders. ``"human"``: a window showing every
            instance, at real time (the ``"window"`` viewer). ``"rgb_array"``: each instance
            renders its own frame when asked (the ``"offscreen"`` viewer).
        render_size: ``(width, height)`` of each instance's view, each side in 16..4096:
            the size of ``rgb_array`` frames.
        render_hud: Draw the HUD (readout, caption, last outcome) into the views and frames.
        display: The X display a rendering Godot draws on (``":1"``). ``None`` chooses:
            ``"human"`` uses this environment's ``DISPLAY``/``WAYLAND_DISPLAY``;
            ``"rgb_array"`` a private Xvfb started for the session (and stopped when it
            closes) if ``Xvfb`` is on PATH, else ``DISPLAY``.
        policy: A policy.json (``rlgodot export``) each Godot process loads, so that
            ``act()`` steps every instance with the policy run in the engine.
        attach: Connect to the game already running on 127.0.0.1:``attach`` (a scene with an
            ``RLServer``, ``allow_attach`` on, run from the Godot editor or a build started with
            ``--rlgodot-attach``) instead of launching Godot. The game shows the instances in
            its window at the speed its user picks (``realtime_factor`` > 0 sets the speed it
            starts at); it keeps running when the session closes. Needs ``n_procs`` 1; the
            settings about launching (``headless``, ``pin_cpus``, ``godot``, ``display``)
            do not apply, and ``render_mode="rgb_array"`` needs a launched Godot.
    """

    n_procs: int = 1
    headless: bool = True
    realtime_factor: float = 0.0
    pin_cpus: bool = False
    step_timeout: float = 30.0
    godot: GodotBinary | None = None
    spin_usec: int | None = None
    script_errors: Literal["raise", "warn"] = "raise"
    render_mode: RenderMode | None = None
    render_size: tuple[int, int] = DEFAULT_VIEW_SIZE
    render_hud: bool = True
    display: str | None = None
    policy: Path | None = None
    attach: int | None = None

    def __post_init__(self) -> None:
        """Check the render and attach settings here, where the traceback points at the caller."""
        if self.render_mode is not None and self.render_mode not in RENDER_MODES:
            raise InvalidOption(
                f"render_mode must be one of {RENDER_MODES} or None, got {self.render_mode!r}"
            )
        object.__setattr__(self, "render_size", check_view_size(self.render_size, "render_size"))
        self._check_attach()

    def _check_attach(self) -> None:
        """``attach`` is a port, with one process and no offscreen frames."""
        if self.attach is None:
            return
        if isinstance(self.attach, bool) or not isinstance(self.attach, int) or not (
            1 <= self.attach <= 65535
        ):
            raise InvalidOption(f"attach must be a TCP port 1..65535, got {self.attach!r}")
        if self.n_procs != 1:
            raise InvalidOption(
                f"attach connects to one running game, so n_procs must be 1, got {self.n_procs}; "
                "leave --n-procs out"
            )
        if self.render_mode == "rgb_array":
            raise InvalidOption(
                "render_mode='rgb_array' (frames, videos) needs a Godot launched for the "
                "session; an attached game shows its instances in its own window. Drop "
                "attach, or use render_mode='human' (or none)"
            )

    @property
    def viewer(self) -> Viewer:
        """The session's viewer for ``render_mode`` (``SessionConfig.viewer``)."""
        return _VIEWERS[self.render_mode]

    @property
    def session_realtime_factor(self) -> float:
        """``realtime_factor``, with 0 meaning real time when a human watches."""
        if self.render_mode == "human" and self.realtime_factor == 0:
            return 1.0
        return self.realtime_factor

    @property
    def session_pin_cpus(self) -> bool:
        """``pin_cpus``, off for a rendering Godot (its render threads need the cores)."""
        return self.pin_cpus and self.render_mode is None

    def choose_display(self, cameras: bool = False) -> tuple[str | None, bool]:
        """Where a rendering Godot draws, as ``(display, private)``.

        Args:
            cameras: The env's observation has an image: Godot renders its camera sensors even
                without a ``render_mode``, on a display chosen as for ``rgb_array``.

        Returns:
            ``(":N", False)``: that X display (``display``, or ``DISPLAY`` for ``rgb_array``
            or cameras without Xvfb); ``(None, False)``: this environment's display, as Godot
            chooses (``human``) or no display at all (no ``render_mode`` and no cameras, or
            ``attach``: the game has its own); ``(None, True)``: start a private Xvfb for the
            session.

        Raises:
            DisplayUnavailable: ``human`` without a display, or ``rgb_array`` or cameras
                without Xvfb and without ``DISPLAY``.
        """
        if (self.render_mode is None and not cameras) or self.attach is not None:
            return None, False
        if self.display is not None:
            return self.display, False
        if self.render_mode == "human":
            if not has_display():
                raise DisplayUnavailable(
                    "human rendering needs a display and none is set (DISPLAY/WAYLAND_DISPLAY); "
                    "use render_mode='rgb_array' (frames, on a private Xvfb), or run under "
                    "xvfb-run -a"
                )
            return None, False
        if shutil.which("Xvfb") is not None:
            return None, True
        if os.environ.get("DISPLAY"):
            return os.environ["DISPLAY"], False
        what = "rgb_array rendering" if self.render_mode else "an env with camera images"
        raise DisplayUnavailable(
            f"{what} needs a display: there is no Xvfb on PATH and no DISPLAY; {INSTALL_HINT}"
        )

    def resolved_spin_usec(self) -> int:
        """``spin_usec``, with ``None`` resolved for a session about to start ``n_procs``.

        Counts the Godot processes already live in this Python process, so call it just
        before launching.
        """
        if self.spin_usec is not None:
            return self.spin_usec
        if self.attach is not None:
            return 0  # the game polls between frames; spinning buys nothing
        godots = live_count() + self.n_procs
        return AUTO_SPIN_USEC if godots < len(os.sched_getaffinity(0)) else 0
