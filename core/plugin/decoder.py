"""The Python half of an env plugin: turn Godot's raw state into what the agent sees.

Everything here is vectorised over the batch of N instances: one numpy call per step, never a
Python loop per instance, so decoding stays cheap at hundreds of instances.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


class Decoder:
    """Base class of a plugin's decoder; override :meth:`rewards`.

    :meth:`observations` evaluates the spec's ``EnvSpec.observation``: override it only for a spec
    that declares none (such an env cannot run its policy inside Godot).

    Args:
        options: The env's ``"reward"`` options, defaults already merged in.

    Attributes:
        action_table: For a ``Discrete`` action space, the wire action of each index, shape
            ``(n_actions, action_size)``. ``None`` for continuous actions.
        observe: ``EnvSpec.observation`` compiled for the env's state names, set by
            ``EnvSpec.create_decoder``; ``None`` when the spec declares no observation.
    """

    action_table: np.ndarray | None = None
    observe: Callable[[np.ndarray], np.ndarray] | None = None

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    def encode_actions(self, actions: np.ndarray) -> np.ndarray:
        """Map a batch of agent actions to wire actions, shape ``(n, action_size)`` float32.

        The default looks indices up in :attr:`action_table` (discrete) or flattens each
        action to float32 (continuous). Bounds are enforced by the core and the scene.
        """
        if self.action_table is not None:
            return self.action_table[np.asarray(actions, dtype=np.int64).reshape(-1)]
        actions = np.asarray(actions, dtype=np.float32)
        return actions.reshape(actions.shape[0], -1)

    def observations(self, states: np.ndarray) -> np.ndarray:
        """Return observations, shape ``(n, *observation_shape)`` float32, from raw states.

        The default evaluates the spec's ``EnvSpec.observation``.
        """
        if self.observe is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no observation: declare EnvSpec.observation "
                "(ObservationTerms) or override observations()"
            )
        return self.observe(states)

    def rewards(
        self,
        prev_states: np.ndarray,
        states: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> np.ndarray:
        """Return the reward of each instance's last step, shape ``(n,)`` float32.

        Args:
            prev_states: Raw states before the step, ``(n, S)``.
            states: Raw states after the step (terminal states where the episode ended).
            terminated: Bool ``(n,)``: the scene ended the episode in this step.
            truncated: Bool ``(n,)``: the time limit ended it.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement rewards()")

    def final_info(self, terminal_states: np.ndarray) -> dict[str, np.ndarray]:
        """Return per-episode info entries for ended episodes, each an array of length ``k``.

        Called only with the terminal states of the episodes that ended in a step, so
        ``is_success``-style flags cost nothing on ordinary steps.
        """
        return {}
