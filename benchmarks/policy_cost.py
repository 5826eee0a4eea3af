"""Cost of one policy decision, in Godot (RLPolicy) and in Python (onnxruntime), per shipped model.

Usage: python benchmarks/policy_cost.py [--decisions 20000] [--no-godot]

Godot: each shipped model is exported (``export_policy``, as ``rlgodot export`` does) and the
addon's ``policy_check.gd --bench=N`` times N ``RLPolicy.decide()`` calls (observation terms
through ``Expression``, then the MLP) on a real first state of the env (a reset, seed 0), in a
headless Godot; the figure is the median over 3 runs of the microseconds per ``decide()``.

Python: the same network as ONNX (as the export writes it) run by onnxruntime on one CPU thread,
one observation at a time (what a game does every decision), on observations drawn uniformly
from the observation space; the median over 5 rounds of the microseconds per ``session.run``
(the network only: the observation is given). Beside it, SB3's ``model.predict`` of the same
observation (deterministic) for scale. Prints a table, then one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime

from rlgodot.core.envs.batch import EnvBatch
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.jobs.config import ExportConfig
from rlgodot.core.jobs.export import export_policy
from rlgodot.core.jobs.models import load_env_model
from rlgodot.core.jobs.onnx_export import INPUT, write_onnx
from rlgodot.core.jobs.policy_file import policy_layers
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.launcher import GodotBinary
from rlgodot.core.runtime.launcher.binary import find_godot

SHIPPED = ("ball", "ball-discrete", "motorcycle", "motorcycle-discrete", "parking3d",
           "parking3d-discrete")
ROUNDS = 5
GODOT_RUNS = 3
TOOL = "res://addons/rlgodot/policy/policy_check.gd"


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


def godot_microseconds(
    spec: EnvSpec, godot: GodotBinary, decisions: int, directory: Path
) -> float:
    """Median over runs of the microseconds per ``RLPolicy.decide()`` in a headless Godot."""
    exported = export_policy(ExportConfig(env=spec.name, out=directory / spec.id))
    batch = EnvBatch(spec, 1, "same_step", settings=None)
    try:
        state = batch.session.reset([0]).states
    finally:
        batch.close()
    states = directory / f"{spec.id}.f32"
    state.astype("<f4").tofile(states)
    project = prepare_project(spec, godot)
    runs = []
    for _ in range(GODOT_RUNS):
        proc = subprocess.run(
            [*godot.command, "--headless", "--path", str(project), "--script", TOOL, "--",
             f"--policy={exported.policy_json}", f"--states={states}",
             f"--out={directory / 'out.f32'}", f"--bench={decisions}"],
            capture_output=True, text=True, timeout=300, check=True,
        )
        line = next(s for s in proc.stdout.splitlines() if "decide_usec" in s)
        runs.append(float(line.split()[-1]))
    return statistics.median(runs)


def measure(
    env: str, decisions: int, directory: Path, godot: GodotBinary | None
) -> dict[str, object]:
    """Microseconds per decision of ``env``'s shipped model: Godot, onnxruntime and SB3."""
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
        "godot_decide_us": (godot_microseconds(spec, godot, decisions, directory)
                            if godot is not None else None),
        "onnxruntime_us": microseconds_per_call(
            lambda obs: session.run(None, {INPUT: obs}), observations),
        "sb3_predict_us": microseconds_per_call(
            lambda obs: model.predict(obs, deterministic=True), observations[: decisions // 10]),
    }


def main() -> None:
    """Measure every shipped model and print a table, then the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--no-godot", action="store_true",
                        help="only the Python figures (no Godot needed)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    godot = None if args.no_godot else find_godot()
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(env, args.decisions, Path(tmp), godot) for env in SHIPPED]
    print(f"{'env':<24} {'algo':<5} {'network':<18} {'Godot decide us':>16} "
          f"{'onnxruntime us':>15} {'SB3 predict us':>15}")
    for r in results:
        godot_us = "-" if r["godot_decide_us"] is None else f"{r['godot_decide_us']:.1f}"
        print(f"{r['env_id']:<24} {r['algorithm']:<5} {r['network']:<18} {godot_us:>16} "
              f"{r['onnxruntime_us']:>15.1f} {r['sb3_predict_us']:>15.1f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
