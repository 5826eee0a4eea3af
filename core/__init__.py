"""The rlgodot core: the public Python API in one namespace.

Layout (each sub-package is one kind of thing):

- :mod:`rlgodot.core.plugin`: the plugin author's contract (EnvSpec, Option, Decoder, hooks)
  and the registry that discovers plugins;
- :mod:`rlgodot.core.envs`: Gymnasium ``Env``, SB3 ``VecEnv`` and Gymnasium ``VectorEnv`` over
  a batch of Godot instances;
- :mod:`rlgodot.core.runtime`: launching Godot and the wire protocol (knows no env);
- :mod:`rlgodot.core.jobs`: train, evaluate, export, run, play, bench, conformance, doctor,
  rllib.

Heavy pieces (SB3, torch) load on first use, so ``import rlgodot`` stays quick.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "EnvSpec": "rlgodot.core.plugin.spec",
    "Option": "rlgodot.core.plugin.spec",
    "TrainDefaults": "rlgodot.core.plugin.spec",
    "Decoder": "rlgodot.core.plugin.decoder",
    "hookimpl": "rlgodot.core.plugin.hookspecs",
    "get_registry": "rlgodot.core.plugin.registry",
    "list_envs": "rlgodot.core.plugin.registry",
    "make_env": "rlgodot.core.envs.factory",
    "make_vec_env": "rlgodot.core.envs.factory",
    "EnvBatch": "rlgodot.core.envs.batch",
    "AsyncEnvBatch": "rlgodot.core.envs.batch",
    "GodotEnv": "rlgodot.core.envs.gym_env",
    "GodotVecEnv": "rlgodot.core.envs.sb3_vec_env",
    "GodotVectorEnv": "rlgodot.core.envs.gym_vector_env",
    "LaunchSettings": "rlgodot.core.runtime.settings",
    "GodotSession": "rlgodot.core.runtime.session",
    "AsyncGodotSession": "rlgodot.core.runtime.session",
    "TrainConfig": "rlgodot.core.jobs.config",
    "EvalConfig": "rlgodot.core.jobs.config",
    "RunConfig": "rlgodot.core.jobs.config",
    "BenchConfig": "rlgodot.core.jobs.config",
    "ExportConfig": "rlgodot.core.jobs.config",
    "train": "rlgodot.core.jobs.train",
    "evaluate": "rlgodot.core.jobs.evaluate",
    "run_random": "rlgodot.core.jobs.run",
    "play": "rlgodot.core.jobs.play",
    "export_policy": "rlgodot.core.jobs.export",
    "run_checks": "rlgodot.core.jobs.conformance",
    "new_env": "rlgodot.core.jobs.new_env",
    "install_addon": "rlgodot.core.runtime.launcher.addon_install",
}

# Module paths of release 0.1 -> their home since the sub-package layout (0.2). The old paths
# still import, with a DeprecationWarning, until 0.3.
MOVED_MODULES = {
    "rlgodot.core.spec": "rlgodot.core.plugin.spec",
    "rlgodot.core.decoder": "rlgodot.core.plugin.decoder",
    "rlgodot.core.hookspecs": "rlgodot.core.plugin.hookspecs",
    "rlgodot.core.registry": "rlgodot.core.plugin.registry",
    "rlgodot.core.batch": "rlgodot.core.envs.batch",
    "rlgodot.core.env": "rlgodot.core.envs.gym_env",
    "rlgodot.core.vec_env": "rlgodot.core.envs.sb3_vec_env",
    "rlgodot.core.vector_env": "rlgodot.core.envs.gym_vector_env",
    "rlgodot.core.factory": "rlgodot.core.envs.factory",
    "rlgodot.core.gym_registration": "rlgodot.core.envs.gym_registration",
    "rlgodot.core.session": "rlgodot.core.runtime.session",
    "rlgodot.core.client": "rlgodot.core.runtime.client",
    "rlgodot.core.protocol": "rlgodot.core.runtime.protocol",
    "rlgodot.core.launcher": "rlgodot.core.runtime.launcher",
    "rlgodot.core.config": "rlgodot.core.jobs.config",
    "rlgodot.core.training": "rlgodot.core.jobs.train",
    "rlgodot.core.evaluation": "rlgodot.core.jobs.evaluate",
    "rlgodot.core.runner": "rlgodot.core.jobs.run",
    "rlgodot.core.checks": "rlgodot.core.jobs.conformance",
    "rlgodot.core.bench": "rlgodot.core.jobs.bench",
    "rlgodot.core.doctor": "rlgodot.core.jobs.doctor",
    "rlgodot.core.rllib_backend": "rlgodot.core.jobs.rllib",
    "rlgodot.core.models": "rlgodot.core.jobs.models",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlgodot.core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def _new_module_name(old: str) -> str | None:
    """The current name of a module imported by its 0.1 path, or None if it did not move."""
    for prefix, target in MOVED_MODULES.items():
        if old == prefix or old.startswith(prefix + "."):
            return target + old[len(prefix) :]
    return None


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a moved module under its old name: the same module object, plus a warning."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        new = _new_module_name(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=new)

    def create_module(self, spec: Any) -> ModuleType:
        new = str(spec.origin)
        warnings.warn(
            f"{spec.name} moved to {new} in rlgodot 0.2; the old path stops working in 0.3 "
            f"(change the import to 'import {new}' or use 'rlgodot.core')",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """The module ran when it was imported under its new name."""


if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModuleFinder())
