"""The rlgodot core: transport, launcher, plugin registry, envs and the training loop.

Heavy pieces (SB3, torch) load on first use, so ``import rlgodot`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "EnvSpec": "rlgodot.core.spec",
    "Option": "rlgodot.core.spec",
    "TrainDefaults": "rlgodot.core.spec",
    "Decoder": "rlgodot.core.decoder",
    "hookimpl": "rlgodot.core.hookspecs",
    "get_registry": "rlgodot.core.registry",
    "list_envs": "rlgodot.core.registry",
    "make_env": "rlgodot.core.factory",
    "make_vec_env": "rlgodot.core.factory",
    "GodotEnv": "rlgodot.core.env",
    "GodotVecEnv": "rlgodot.core.vec_env",
    "GodotVectorEnv": "rlgodot.core.vector_env",
    "TrainConfig": "rlgodot.core.config",
    "train": "rlgodot.core.training",
    "evaluate": "rlgodot.core.evaluation",
    "run_random": "rlgodot.core.runner",
    "run_checks": "rlgodot.core.checks",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlgodot.core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
