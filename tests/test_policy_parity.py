"""Parity of the exported shipped policies in a real Godot with Python, on recorded states.

For each shipped model: 10,000 raw states recorded from rollouts of its env (64 instances, the
model's own actions mixed with random ones so the states are the ones the policy meets, a fixed
seed; the plain and the discrete variant of an env share their states, the layout is the same),
the model exported with ``export_policy``, and the addon's ``policy_check.gd`` run over the
states. Godot's observations must equal Python's (``spec.observation`` and the decoder) to 1e-5;
its wire actions must equal SB3's ``predict(deterministic=True)``: to 1e-5 for Box actions, and
for argmax policies the same index except where the top two scores are within float32 rounding
(counted and reported, none else allowed).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlgodot.core.envs.batch import EnvBatch
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.jobs.config import ExportConfig
from rlgodot.core.jobs.export import export_policy
from rlgodot.core.jobs.models import load_env_model, shipped_model_path
from rlgodot.core.jobs.policy_file import network_outputs
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.plugin.spec import EnvSpec
from rlgodot.core.runtime.launcher import GodotBinary

pytestmark = pytest.mark.godot

TOOL = "res://addons/rlgodot/policy/policy_check.gd"
SHIPPED = ("ball", "ball-discrete", "motorcycle", "motorcycle-discrete", "parking3d",
           "parking3d-discrete")
N_STATES = 10_000
N_ENVS = 64
RANDOM_SHARE = 0.3  # of the actions; the rest are the model's own (deterministic)
TOLERANCE = 1e-5
# Two scores closer than this (relative to the larger magnitude, at least 1) are a tie at float32
# precision: torch (float32 accumulation) and RLPolicy (double, rounded per layer) may order them
# either way. A few float32 ulps of the scores, times the terms summed in the last layer.
NEAR_TIE = 1e-5


def _base(env: str) -> str:
    return env.removesuffix("-discrete")


def record_states(spec: EnvSpec, seed: int) -> np.ndarray:
    """``N_STATES`` raw states of ``spec``'s env acted on by its shipped model and random actions,
    with the scene options the model was trained with (the ones its export acts with)."""
    model, _ = load_env_model(spec, shipped_model_path(spec))
    scene_options = _exported_options(spec)
    rng = np.random.default_rng(seed)
    space = spec.action_space
    space.seed(seed)
    batch = EnvBatch(spec, N_ENVS, "same_step", options=scene_options)
    try:
        seen = [batch.session.reset(list(range(seed, seed + N_ENVS))).states]
        obs = batch.decoder.observations(seen[0])
        while sum(len(s) for s in seen) < N_STATES:
            actions, _ = model.predict(obs, deterministic=True)
            randoms = np.stack([space.sample() for _ in range(N_ENVS)])
            mask = rng.random(N_ENVS) < RANDOM_SHARE
            actions = np.where(mask.reshape(-1, *([1] * (actions.ndim - 1))), randoms, actions)
            step = batch.session.step(batch.encode(actions))
            seen.append(step.states)
            obs = batch.decoder.observations(step.states)
    finally:
        batch.close()
    return np.concatenate(seen)[:N_STATES].astype(np.float32)


def _exported_options(spec: EnvSpec) -> dict:
    """The scene options an export of the shipped model stores (no files written)."""
    from rlgodot.core.jobs.export import _scene_options

    _, metadata = load_env_model(spec, shipped_model_path(spec))
    return _scene_options(spec, metadata)


@pytest.fixture(scope="module")
def states(godot_binary: GodotBinary) -> dict[str, np.ndarray]:
    """Recorded raw states per env (the plain variant's model drives; shared with -discrete)."""
    del godot_binary  # Godot must be there (skips without it locally)
    registry = get_registry()
    recorded: dict[str, np.ndarray] = {}
    for k, base in enumerate(dict.fromkeys(_base(env) for env in SHIPPED)):
        spec = registry.get(base)
        assert registry.get(f"{base}-discrete").state_names == spec.state_names
        recorded[base] = record_states(spec, seed=1000 * (k + 1))
    return recorded


def run_policy_check(
    godot: GodotBinary, project: Path, policy: Path, states: np.ndarray, out_dir: Path,
    bench: int = 0,
) -> tuple[np.ndarray, str]:
    """policy_check.gd over ``states``: its output floats and its stdout."""
    states_file, out_file = out_dir / "states.f32", out_dir / "out.f32"
    states.astype("<f4").tofile(states_file)
    proc = subprocess.run(
        [*godot.command, "--headless", "--path", str(project), "--script", TOOL, "--",
         f"--policy={policy}", f"--states={states_file}", f"--out={out_file}",
         f"--bench={bench}"],
        capture_output=True, text=True, timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "SCRIPT ERROR" not in output, output
    return np.fromfile(out_file, dtype="<f4"), proc.stdout


@pytest.mark.parametrize("env", SHIPPED)
def test_godot_policy_equals_sb3_on_recorded_states(
    godot_binary, states, tmp_path, env, record_property
):
    spec = get_registry().get(env)
    raw = states[_base(env)]
    assert raw.shape == (N_STATES, len(spec.state_names))
    assert len(np.unique(raw, axis=0)) > 0.9 * N_STATES  # rollouts, not a stuck scene
    exported = export_policy(ExportConfig(env=env, out=tmp_path / "policy"))
    document = json.loads(exported.policy_json.read_text())
    project = prepare_project(spec, godot_binary)
    out, _ = run_policy_check(godot_binary, project, exported.policy_json, raw, tmp_path)

    obs_size, action_size = spec.observation_space.shape[0], spec.action_size
    rows = out.reshape(N_STATES, obs_size + action_size)
    godot_obs, godot_actions = rows[:, :obs_size], rows[:, obs_size:]

    # the observation: one definition, two interpreters (and the decoder the model trained with)
    assert spec.observation is not None
    python_obs = spec.observation.evaluate(raw, spec.state_names)
    decoder = spec.create_decoder(spec.default_options("reward"))
    np.testing.assert_array_equal(decoder.observations(raw), python_obs)
    obs_diff = float(np.abs(godot_obs - python_obs).max())
    assert obs_diff <= TOLERANCE, obs_diff

    model, _ = load_env_model(spec, exported.model)
    predicted, _ = model.predict(python_obs, deterministic=True)
    if isinstance(spec.action_space, gym.spaces.Box):
        expected = decoder.encode_actions(predicted)
        action_diff = float(np.abs(godot_actions - expected).max())
        assert document["action"]["kind"] == "box"
        assert action_diff <= TOLERANCE, action_diff
        near_ties = 0
    else:
        table = np.asarray(decoder.action_table, dtype=np.float32)
        sb3_index = np.asarray(predicted, dtype=np.int64).reshape(-1)
        # Godot's index: the table row its action is (rows of the table are distinct)
        distances = np.abs(godot_actions[:, None, :] - table[None, :, :]).max(axis=2)
        assert (distances.min(axis=1) <= TOLERANCE).all(), "a Godot action is no table row"
        godot_index = distances.argmin(axis=1)
        scores = network_outputs(document, python_obs).astype(np.float64)
        top2 = np.sort(scores, axis=1)[:, -2:]
        gap = (top2[:, 1] - top2[:, 0]) / np.maximum(1.0, np.abs(top2).max(axis=1))
        differ = godot_index != sb3_index
        near_ties = int(differ.sum())
        assert len(np.unique(sb3_index)) > 1, "the model chose one action only"
        print(f"{spec.id}: smallest relative top-two gap {gap.min():.3g}")
        assert (gap[differ] <= NEAR_TIE).all(), (
            f"{near_ties} choices differ, gaps {sorted(gap[differ])[-5:]}")
        same = ~differ
        action_diff = float(np.abs(godot_actions[same] - table[sb3_index[same]]).max())
        assert action_diff <= TOLERANCE, action_diff
    print(f"{spec.id}: max |obs diff| {obs_diff:.3g}, max |action diff| {action_diff:.3g}, "
          f"near-tie choices {near_ties}")
    record_property("max_observation_difference", obs_diff)
    record_property("max_action_difference", action_diff)
    record_property("near_ties", near_ties)
