"""A policy network as ONNX (``policy.onnx``), checked with onnxruntime against torch."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import gymnasium as gym
import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.policy_file import DenseLayer

OPSET = 17
INPUT = "observation"
OUTPUT = "output"
TOLERANCE = 1e-5
ACTIVATION_MODULES: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


def as_torch(layers: list[DenseLayer]) -> nn.Sequential:
    """The layers as one torch module, observation batch -> network output.

    The module holds the model's own ``Linear`` modules, not copies.
    """
    modules: list[nn.Module] = [nn.Flatten()]
    for layer in layers:
        modules.append(layer.linear)
        if layer.activation in ACTIVATION_MODULES:
            modules.append(ACTIVATION_MODULES[layer.activation]())
    return nn.Sequential(*modules).eval()


def write_onnx(
    layers: list[DenseLayer],
    observation_space: gym.spaces.Box,
    path: Path,
    metadata: Mapping[str, str],
    checks: int = 500,
) -> float:
    """Write the network to ``path`` as ONNX and check it with onnxruntime.

    The graph maps ``observation`` (float32, ``(batch, size)``, dynamic batch) to ``output``
    (the action mean, the logits or the Q-values); ``metadata`` goes into its
    ``metadata_props``.

    Args:
        layers: The network (:func:`rlgodot.core.jobs.policy_file.policy_layers`).
        observation_space: Where the check draws its observations from (uniformly).
        path: The ``.onnx`` file to write.
        metadata: String properties stored in the model (env id, algorithm, action kind).
        checks: Random observations compared between onnxruntime and torch.

    Returns:
        The largest absolute difference found between onnxruntime and torch.

    Raises:
        RLGodotError: onnxruntime's output differs from torch's by more than 1e-5 of the
            output's magnitude (at least 1) (the file is then deleted).
    """
    network = as_torch(layers)
    size = int(np.prod(observation_space.shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript-based exporter
        torch.onnx.export(
            network, (torch.zeros(1, size),), str(path), opset_version=OPSET, dynamo=False,
            input_names=[INPUT], output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
        )
    graph = onnx.load(str(path))
    onnx.helper.set_model_props(graph, dict(metadata))
    onnx.save(graph, str(path))
    try:
        return _check(network, observation_space, path, checks)
    except RLGodotError:
        path.unlink()
        raise


def _check(network: nn.Module, space: gym.spaces.Box, path: Path, checks: int) -> float:
    rng = np.random.default_rng(0)
    observations = rng.uniform(space.low, space.high, size=(checks, *space.shape))
    observations = observations.astype(np.float32).reshape(checks, -1)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (ours,) = session.run([OUTPUT], {INPUT: observations})
    with torch.no_grad():
        theirs = network(torch.from_numpy(observations)).numpy()
    difference = float(np.max(np.abs(ours - theirs)))
    # Relative to the output's size: two float32 GEMMs summing in another order differ by a
    # few ulps of the largest terms (1.1e-5 seen on outputs of ~10 under load).
    relative = float(np.max(np.abs(ours - theirs) / np.maximum(1.0, np.abs(theirs))))
    if not relative <= TOLERANCE:
        raise RLGodotError(
            f"{path}: onnxruntime differs from torch by {difference:.3g} ({relative:.3g} "
            f"relative, more than {TOLERANCE:g}) on random observations; report this with the "
            "model attached"
        )
    return difference
