"""Cost of one policy decision in Python: onnxruntime (batch of 1) for each shipped model.

Usage: python benchmarks/policy_cost.py [--decisions 20000]

Each shipped model's network is written as ONNX (as ``rlgodot export`` writes it) and run by
onnxruntime on one CPU thread, one observation at a time (what a game does every decision),
on observations drawn uniformly from the observation space; the figure is the median over 5
rounds of the microseconds per ``session.run``. Beside it, SB3's ``model.predict`` of the same
observation (deterministic) for scale. The in-engine ``RLPolicy`` figures are measured in
Godot (docs/BENCHMARKS.md). Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime

from rlgodot.core.jobs.models import load_env_model
from rlgodot.core.jobs.onnx_export import INPUT, write_onnx
from rlgodot.core.jobs.policy_file import policy_layers
from rlgodot.core.plugin.registry import get_registry

SHIPPED = ("ball", "ball-discrete", "motorcycle", "motorcycle-discrete", "parking3d",
           "parking3d-discrete")
ROUNDS = 5


def microseconds_per_call(call: Callable[[np.ndarray], object], observations: np.ndarray) -> float:
    """Median over rounds of the mean microseconds of ``call`` on one observation."""
    for obs in observations[:100]:  # warm up
        call(obs)
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for obs in observations:
            call(obs)
        rounds.append((time.perf_counter() - start) / len(observations) * 1e6)
    return statistics.median(rounds)


def measure(env: str, decisions: int, directory: Path) -> dict[str, object]:
    """Microseconds per decision of ``env``'s shipped model: onnxruntime and SB3."""
    spec = get_registry().get(env)
    model, _ = load_env_model(spec, spec.model)
    layers = policy_layers(model)
    path = directory / f"{spec.id}.onnx"
    write_onnx(layers, spec.observation_space, path, {"env_id": spec.id})
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    space = spec.observation_space
    rng = np.random.default_rng(0)
    observations = rng.uniform(space.low, space.high, (decisions, 1, *space.shape)).astype(
        np.float32)
    return {
        "env_id": spec.id,
        "algorithm": type(model).__name__,
        "network": " x ".join(str(layer.linear.in_features) for layer in layers)
        + f" x {layers[-1].linear.out_features}",
        "onnxruntime_us": microseconds_per_call(
            lambda obs: session.run(None, {INPUT: obs}), observations),
        "sb3_predict_us": microseconds_per_call(
            lambda obs: model.predict(obs, deterministic=True), observations[: decisions // 10]),
    }


def main() -> None:
    """Measure every shipped model and print a table, then the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(env, args.decisions, Path(tmp)) for env in SHIPPED]
    print(f"{'env':<24} {'algo':<5} {'network':<18} {'onnxruntime us':>15} {'SB3 predict us':>15}")
    for r in results:
        print(f"{r['env_id']:<24} {r['algorithm']:<5} {r['network']:<18} "
              f"{r['onnxruntime_us']:>15.1f} {r['sb3_predict_us']:>15.1f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
