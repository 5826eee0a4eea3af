"""From an :class:`EnvSpec` to a running Godot session, plus option and seed handling.

This is the one place where env knowledge (specs, options) meets the transport (launcher,
session). Env classes (:mod:`rlgodot.core.env`, :mod:`rlgodot.core.vec_env`) build on it.
"""

from __future__ import annotations

import importlib.resources
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlgodot.core.errors import InvalidOption
from rlgodot.core.launcher.binary import GodotBinary, find_godot
from rlgodot.core.launcher.project import assemble_project
from rlgodot.core.protocol.messages import SessionConfig
from rlgodot.core.session import GodotSession
from rlgodot.core.spec import EnvSpec, Option

Autoreset = Literal["same_step", "next_step"]
MAX_SEED = 2**63 - 1
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


def addon_dir() -> Path:
    """The Godot addon shipped inside the installed ``rlgodot`` package."""
    path = Path(str(importlib.resources.files("rlgodot.godot") / "addons" / "rlgodot"))
    return path


def prepare_project(spec: EnvSpec, godot: GodotBinary) -> Path:
    """Assemble (or reuse from the cache) the runnable Godot project for ``spec``'s plugin."""
    return assemble_project(
        addon_dir(),
        {spec.mount: Path(spec.godot_dir)},
        spec.project_settings,
        godot,
    )


def launch_session(
    spec: EnvSpec,
    n_envs: int,
    autoreset: Autoreset,
    scene_options: Mapping[str, Any],
    settings: LaunchSettings,
) -> GodotSession:
    """Start Godot for ``n_envs`` instances of ``spec``'s scene and complete the handshake."""
    godot = settings.godot or find_godot()
    project = prepare_project(spec, godot)
    config = SessionConfig(
        n_envs=n_envs,
        action_repeat=spec.action_repeat,
        max_episode_steps=spec.max_episode_steps,
        autoreset=autoreset,
        realtime_factor=settings.realtime_factor,
        options={**spec.default_options("scene"), **scene_options},
        spin_usec=settings.resolved_spin_usec(),
    )
    return GodotSession.launch(
        godot,
        project,
        spec.scene_res_path,
        n_envs=n_envs,
        n_procs=settings.n_procs,
        config=config,
        expect_state_names=spec.state_names,
        expect_action_size=spec.action_size,
        physics_hz=spec.physics_hz,
        headless=settings.headless,
        pin_cpus=settings.pin_cpus,
        timeout=settings.step_timeout,
    )


def split_options(
    spec: EnvSpec, options: Mapping[str, Any] | None, *, allow_reward: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ``options`` against the spec and split them into (scene, reward) options.

    Only the given scene options are returned (the session sends every scene option's default
    at hello, so a scene always sees complete options); reward options come with defaults.

    Raises:
        InvalidOption: Unknown name, wrong type, or a reward option where it cannot change.
    """
    scene: dict[str, Any] = {}
    reward = spec.default_options("reward")
    for name, value in (options or {}).items():
        option = spec.options.get(name)
        if option is None:
            known = ", ".join(sorted(spec.options)) or "none"
            raise InvalidOption(
                f"{spec.id} has no option {name!r}. Its options: {known} "
                f"(see 'rlgodot list-envs --env {spec.name}')"
            )
        _check_type(spec, name, option.default, value)
        _check_range(spec, name, option, value)
        if option.target == "reward":
            if not allow_reward:
                raise InvalidOption(
                    f"{spec.id}: {name!r} is a reward option; it is fixed when the env is "
                    "created (make_env(..., options=...)), not per reset"
                )
            reward[name] = value
        else:
            scene[name] = value
    return scene, reward


def _check_type(spec: EnvSpec, name: str, default: Any, value: Any) -> None:
    if default is None:
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and isinstance(default, int) and not isinstance(default, bool):
            ok = float(value).is_integer()
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list | tuple)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise InvalidOption(
            f"{spec.id}: option {name!r} must be like {default!r} "
            f"({type(default).__name__}), got {value!r}"
        )


def _check_range(spec: EnvSpec, name: str, option: Option, value: Any) -> None:
    """Refuse non-finite numbers and values outside the option's declared range or choices."""
    allowed = option.describe_range()
    hint = f"; see 'rlgodot list-envs --env {spec.name}'"
    if option.choices is not None and value not in option.choices:
        raise InvalidOption(f"{spec.id}: option {name!r} must be {allowed}, got {value!r}{hint}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if not math.isfinite(value):
        raise InvalidOption(f"{spec.id}: option {name!r} must be finite, got {value!r}")
    too_low = option.low is not None and value < option.low
    too_high = option.high is not None and value > option.high
    if too_low or too_high:
        raise InvalidOption(f"{spec.id}: option {name!r} must be {allowed}, got {value!r}{hint}")


def derive_seeds(seed: int | None, n: int, rng: np.random.Generator | None = None) -> list[int]:
    """Per-instance seeds: ``seed + i`` when seeded (as SB3 and Gymnasium do), else random."""
    if seed is not None:
        if not 0 <= seed <= MAX_SEED - n:
            raise InvalidOption(f"seed must be an integer in [0, 2**63 - {n}], got {seed}")
        return [int(seed) + i for i in range(n)]
    rng = rng or np.random.default_rng()
    return [int(s) for s in rng.integers(0, 2**62, size=n)]


def normalise_seeds(seeds: Sequence[int | None], rng: np.random.Generator) -> list[int]:
    """Replace ``None`` entries by random seeds."""
    return [int(s) if s is not None else int(rng.integers(0, 2**62)) for s in seeds]
