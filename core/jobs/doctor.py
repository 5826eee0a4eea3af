"""``rlgodot doctor``: what Godot is used, how it was found, and whether a headless run works."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field

from rlgodot.core import __version__
from rlgodot.core.errors import RLGodotError


@dataclass
class DoctorReport:
    """Findings of :func:`doctor`; ``ok`` is False if anything needed is broken."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def doctor(provision: bool = False, smoke_env: str | None = None) -> DoctorReport:
    """Inspect the installation; with ``provision`` install Godot into the cache if none is found.

    The smoke test launches the first installed env (or ``smoke_env``) headless, resets it and
    takes one step.
    """
    from rlgodot.core.plugin.registry import get_registry
    from rlgodot.core.runtime.launcher.binary import find_godot, provision_godot

    report = DoctorReport()
    add = report.lines.append
    add(("rlgodot", __version__))
    add(("python", platform.python_version()))
    godot = None
    try:
        godot = find_godot()
    except RLGodotError as exc:
        if provision:
            add(("godot", "not found; provisioning into the cache (about 30 s)"))
            provision_godot()
            godot = find_godot()
        else:
            report.problems.append(str(exc))
    if godot is not None:
        add(("godot", " ".join(godot.command)))
        add(("godot version", godot.version_text))
        add(("found via", godot.source))
    registry = get_registry()
    try:
        specs = registry.specs()
    except RLGodotError as exc:
        specs = {}
        report.problems.append(str(exc))
    add(("plugins", ", ".join(registry.plugin_names()) or "none"))
    add(("envs", ", ".join(specs) or "none"))
    for plugin, error in registry.errors.items():
        report.problems.append(f"plugin {plugin}: {error}")
    if godot is not None and specs:
        env_id = smoke_env or next(iter(specs))
        add(("headless run", _smoke(env_id, report)))
    return report


def _smoke(env_id: str, report: DoctorReport) -> str:
    from rlgodot.core.envs.factory import make_vec_env
    from rlgodot.core.jobs.random_actions import random_actions

    start = time.perf_counter()
    try:
        env = make_vec_env(env_id, n_envs=1, seed=0)
        try:
            env.reset()
            first = time.perf_counter() - start
            import numpy as np

            env.step(random_actions(env.action_space, 1, np.random.default_rng(0)))
        finally:
            env.close()
    except RLGodotError as exc:
        report.problems.append(f"headless run of {env_id} failed: {exc}")
        return "FAILED"
    return f"ok ({env_id}: first observation {first:.2f} s after launch)"
