"""Envs over Godot instances: the batch and its three adapters.

- :class:`~rlgodot.core.envs.batch.EnvBatch`: N decoded instances in one or more Godot processes;
- :class:`~rlgodot.core.envs.gym_env.GodotEnv`: a Gymnasium ``Env`` (one instance);
- :class:`~rlgodot.core.envs.sb3_vec_env.GodotVecEnv`: an SB3 ``VecEnv`` (same-step autoreset);
- :class:`~rlgodot.core.envs.gym_vector_env.GodotVectorEnv`: a Gymnasium ``VectorEnv``
  (next-step autoreset), also behind ``gymnasium.make_vec("rlgodot/<id>")``.

:mod:`~rlgodot.core.envs.factory` makes any of them from an env name.
"""
