"""Register every installed env in Gymnasium's registry under the ``rlgodot/`` namespace.

``gymnasium.make("rlgodot/<id>")`` gives a :class:`~rlgodot.core.envs.gym_env.GodotEnv`;
``gymnasium.make_vec("rlgodot/<id>", num_envs=N)`` a natively batched
:class:`~rlgodot.core.envs.gym_vector_env.GodotVectorEnv` (one Godot process, next-step autoreset).
Keyword arguments reach the env: ``render_mode="rgb_array"`` / ``"human"``, ``options``,
``settings``.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym

from rlgodot.core.errors import RLGodotError

NAMESPACE = "rlgodot"


def _make(env_id: str, **kwargs: Any) -> gym.Env[Any, Any]:
    from rlgodot.core.envs.factory import make_env

    return make_env(env_id, **kwargs)


def _make_vec(env_id: str, num_envs: int = 1, **kwargs: Any) -> gym.vector.VectorEnv:
    from rlgodot.core.envs.gym_vector_env import GodotVectorEnv
    from rlgodot.core.plugin.registry import get_registry

    return GodotVectorEnv(get_registry().get(env_id), num_envs=num_envs, **kwargs)


def register_gymnasium_envs() -> list[str]:
    """Register ``rlgodot/<id>`` for each installed env; return the registered ids.

    A broken plugin only produces a warning here: importing rlgodot must not fail because of it.
    """
    from rlgodot.core.plugin.registry import get_registry

    try:
        specs = get_registry().specs()
    except RLGodotError as exc:
        warnings.warn(f"rlgodot: env plugins could not be listed: {exc}", stacklevel=2)
        return []
    registered = []
    for env_id in specs:
        full_id = f"{NAMESPACE}/{env_id}"
        if full_id not in gym.registry:
            gym.register(
                id=full_id,
                entry_point=_make,
                vector_entry_point=_make_vec,
                kwargs={"env_id": env_id},
            )
        registered.append(full_id)
    return registered
