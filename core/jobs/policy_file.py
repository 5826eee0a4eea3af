"""The exported policy file (``policy.json``): an SB3 model's network and action mapping.

The format (version 1) is what Godot's ``RLPolicy`` reads: the observation as expressions over
the raw state (``EnvSpec.observation``), an MLP as a list of dense layers (weights as base64
little-endian float32, row-major ``out x in``), and how the network's output becomes the wire
action: ``"box"`` clips it to the action bounds (SB3's deterministic Box action, the mean),
``"argmax"`` looks the best index up in the decoder's action table (PPO logits, DQN Q-values).

:func:`policy_document` builds the file's content from a model; :func:`policy_actions` is the
reference forward pass over it (numpy), against which the engine's implementation is tested.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn

from rlgodot import __version__
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.models import check_model_spaces
from rlgodot.core.plugin.spec import EnvSpec

FORMAT = "rlgodot-policy"
VERSION = 1
ACTIVATIONS: dict[type[nn.Module], str] = {nn.Tanh: "tanh", nn.ReLU: "relu"}


@dataclass(frozen=True)
class DenseLayer:
    """One layer of an exported network: ``activation(linear(x))``.

    Attributes:
        linear: The model's own ``nn.Linear``.
        activation: ``"tanh"``, ``"relu"`` or ``"none"``.
    """

    linear: nn.Linear
    activation: str


def policy_layers(model: BaseAlgorithm) -> list[DenseLayer]:
    """The network from observation to the output the action is taken from.

    PPO: the policy branch of the MLP extractor, then ``action_net`` (Box: the action mean;
    Discrete: the logits). DQN: ``q_net`` (the Q-values). The features extractor must flatten
    the observation and nothing more; the layers must be ``Linear``, each optionally followed
    by ``Tanh`` or ``ReLU`` (any ``net_arch``).

    Raises:
        RLGodotError: Another algorithm, a squashed (gSDE) PPO, a features extractor that is
            not a Flatten, or a module other than Linear/Tanh/ReLU (named in the message).
    """
    if isinstance(model, PPO):
        policy = model.policy
        if policy.squash_output:
            raise RLGodotError(
                "cannot export a PPO model with squashed actions (gSDE squash_output); train "
                "without squash_output"
            )
        extractor = policy.pi_features_extractor
        modules = [*policy.mlp_extractor.policy_net, policy.action_net]
    elif isinstance(model, DQN):
        extractor = model.q_net.features_extractor
        modules = list(model.q_net.q_net)
    else:
        raise RLGodotError(
            f"cannot export a {type(model).__name__} model; export supports SB3 PPO and DQN"
        )
    if not isinstance(extractor, (FlattenExtractor, nn.Flatten)):
        raise RLGodotError(
            f"cannot export a model whose features extractor is {type(extractor).__name__}; "
            "export supports MLP policies (features_extractor_class=FlattenExtractor)"
        )
    return _dense_layers(modules)


def _dense_layers(modules: list[nn.Module]) -> list[DenseLayer]:
    """Group ``Linear [activation]`` runs into layers; the last layer must be linear."""
    layers: list[DenseLayer] = []
    for module in modules:
        activation = ACTIVATIONS.get(type(module))
        if isinstance(module, nn.Linear):
            layers.append(DenseLayer(module, "none"))
        elif activation is not None and layers and layers[-1].activation == "none":
            layers[-1] = DenseLayer(layers[-1].linear, activation)
        else:
            raise RLGodotError(
                f"cannot export a network with the layer {module!r} there; export supports "
                "Linear layers, each optionally followed by Tanh or ReLU"
            )
    if not layers or layers[-1].activation != "none":
        raise RLGodotError("cannot export a network that does not end in a Linear layer")
    return layers


def policy_document(
    model: BaseAlgorithm, spec: EnvSpec, scene_options: Mapping[str, Any]
) -> dict[str, Any]:
    """The content of ``policy.json`` for ``model`` acting on ``spec``'s env (no I/O).

    Args:
        model: An SB3 PPO (Box or Discrete actions) or DQN model with an MLP policy.
        spec: The env it was trained on; it must declare ``EnvSpec.observation``.
        scene_options: The scene options the model acts with (every scene option).

    Returns:
        The JSON-ready document (format ``rlgodot-policy``, version 1).

    Raises:
        RLGodotError: The env declares no observation expressions, the model's spaces are
            not the env's, or the network cannot be exported (see :func:`policy_layers`).
    """
    if spec.observation is None:
        raise RLGodotError(
            f"{spec.id} computes its observation in Python only; declare "
            "EnvSpec.observation to run the policy in Godot"
        )
    check_model_spaces(model.observation_space, model.action_space, spec, type(model).__name__)
    layers = policy_layers(model)
    return {
        "format": FORMAT,
        "version": VERSION,
        "env_id": spec.id,
        "algorithm": type(model).__name__,
        "rlgodot_version": __version__,
        "physics_hz": spec.physics_hz,
        "action_repeat": spec.action_repeat,
        "max_episode_steps": spec.max_episode_steps,
        "state_names": list(spec.state_names),
        "action_size": spec.action_size,
        "observation": {
            "terms": list(spec.observation.canonical()),
            "low": float(spec.observation.low),
            "high": float(spec.observation.high),
        },
        "network": [_layer_entry(layer) for layer in layers],
        "action": _action_entry(spec),
        "scene_options": dict(scene_options),
    }


def _layer_entry(layer: DenseLayer) -> dict[str, Any]:
    weight = layer.linear.weight.detach().cpu().numpy()
    bias = (layer.linear.bias.detach().cpu().numpy() if layer.linear.bias is not None
            else np.zeros(weight.shape[0], dtype=np.float32))
    return {
        "in": int(weight.shape[1]),
        "out": int(weight.shape[0]),
        "activation": layer.activation,
        "weight": _encode(weight),
        "bias": _encode(bias),
    }


def _action_entry(spec: EnvSpec) -> dict[str, Any]:
    space = spec.action_space
    if isinstance(space, gym.spaces.Box):
        return {"kind": "box", "low": space.low.astype(float).ravel().tolist(),
                "high": space.high.astype(float).ravel().tolist()}
    table = spec.make_decoder(spec.default_options("reward")).action_table
    if isinstance(space, gym.spaces.Discrete) and table is not None:
        return {"kind": "argmax", "table": np.asarray(table, dtype=float).tolist()}
    raise RLGodotError(
        f"cannot export for {spec.id}'s action space {space}; export supports Box and "
        "Discrete (with Decoder.action_table)"
    )


def _encode(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


def _decode(text: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(shape)


def network_outputs(document: Mapping[str, Any], observations: np.ndarray) -> np.ndarray:
    """The network's output for a batch of observations, ``(n, outputs)`` float32.

    Each layer accumulates in float64 and rounds its result to float32, as ``RLPolicy`` does
    (double arithmetic, PackedFloat32Array buffers).
    """
    x = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
    for layer in document["network"]:
        weight = _decode(layer["weight"], (layer["out"], layer["in"]))
        bias = _decode(layer["bias"], (layer["out"],))
        y = x.astype(np.float64) @ weight.T.astype(np.float64) + bias
        if layer["activation"] == "tanh":
            y = np.tanh(y)
        elif layer["activation"] == "relu":
            y = np.maximum(y, 0.0)
        x = y.astype(np.float32)
    return x


def policy_actions(document: Mapping[str, Any], observations: np.ndarray) -> np.ndarray:
    """The wire actions a policy document takes, ``(n, action_size)`` float32 (reference).

    Args:
        document: A ``policy.json`` content (:func:`policy_document`).
        observations: A batch of observations, ``(n, observation_size)``.
    """
    outputs = network_outputs(document, observations)
    action = document["action"]
    if action["kind"] == "box":
        low = np.asarray(action["low"], dtype=np.float32)
        high = np.asarray(action["high"], dtype=np.float32)
        return np.clip(outputs, low, high)
    table = np.asarray(action["table"], dtype=np.float32)
    return table[np.argmax(outputs, axis=1)]
