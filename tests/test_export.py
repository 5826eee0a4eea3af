"""``rlgodot export``: policy.json acts as the SB3 model (deterministic); ONNX equals torch."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from click.testing import CliRunner
from rlgodot_parking3d.env import LEVELS_TABLE
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from rlgodot.cli.main import main
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs import onnx_export
from rlgodot.core.jobs.export import export_policy, policy_document
from rlgodot.core.jobs.models import load_env_model, save_model
from rlgodot.core.jobs.policy_file import network_outputs, policy_actions
from rlgodot.core.plugin.registry import get_registry

SHIPPED = ["ball", "ball-discrete", "motorcycle", "motorcycle-discrete", "parking3d",
           "parking3d-continuous", "parking3d-discrete"]
OBSERVATIONS = 10_000


class SpacesOnly(gym.Env):
    """An env with a spec's spaces, enough to build an (untrained) SB3 model."""

    def __init__(self, env: str) -> None:
        spec = get_registry().get(env)
        self.observation_space, self.action_space = spec.observation_space, spec.action_space

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def uniform_observations(space: gym.spaces.Box, n: int = OBSERVATIONS) -> np.ndarray:
    return np.random.default_rng(1).uniform(space.low, space.high, (n, *space.shape)).astype(
        np.float32)


def assert_document_acts_as_sb3(model, env: str) -> None:
    """policy_actions(document) == the wire action of SB3's deterministic predict, to 1e-5."""
    spec = get_registry().get(env)
    document = json.loads(json.dumps(policy_document(model, spec, {})))  # through the file
    observations = uniform_observations(spec.observation_space)
    decoder = spec.make_decoder(spec.default_options("reward"))
    expected = decoder.encode_actions(model.predict(observations, deterministic=True)[0])
    actions = policy_actions(document, observations)
    assert actions.shape == expected.shape == (OBSERVATIONS, spec.action_size)
    if document["action"]["kind"] == "box":
        assert np.max(np.abs(actions - expected)) <= 1e-5
        return
    # argmax: the scores agree to float32 precision (Q-values reach ~50: 1e-6 relative), so
    # the choices agree except at near-ties closer than that
    scores = network_outputs(document, observations)
    with torch.no_grad():
        theirs = _torch_scores(model, observations)
    np.testing.assert_allclose(scores, theirs, rtol=1e-6, atol=1e-5)
    top2 = np.sort(scores, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * (1e-5 + 1e-6 * np.abs(top2[:, 1]))
    assert clear.mean() > 0.999
    np.testing.assert_array_equal(actions[clear], expected[clear])
    assert (actions == expected).all(axis=1).mean() > 0.999


def _torch_scores(model, observations: np.ndarray) -> np.ndarray:
    obs = torch.from_numpy(observations)
    if isinstance(model, DQN):
        return model.q_net(obs).numpy()
    policy = model.policy
    features = policy.extract_features(obs, policy.pi_features_extractor)
    return policy.action_net(policy.mlp_extractor.forward_actor(features)).numpy()


@pytest.mark.parametrize("env", SHIPPED)
def test_policy_file_acts_as_the_shipped_model(env):
    spec = get_registry().get(env)
    model, _ = load_env_model(spec, spec.model)
    assert_document_acts_as_sb3(model, env)


def test_policy_file_of_a_discrete_ppo_model():
    model = PPO("MlpPolicy", SpacesOnly("ball-discrete"), seed=0, device="cpu")
    with torch.no_grad():  # logits as far apart as a trained model's (SB3 starts them near 0)
        model.policy.action_net.weight.mul_(100.0)
    document = policy_document(model, get_registry().get("ball-discrete"), {})
    assert document["algorithm"] == "PPO" and document["action"]["kind"] == "argmax"
    assert document["action"]["table"] == [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]]
    assert_document_acts_as_sb3(model, "ball-discrete")


def test_policy_file_of_any_net_arch_with_relu():
    model = PPO("MlpPolicy", SpacesOnly("motorcycle"), seed=0, device="cpu",
                policy_kwargs={"net_arch": [32, 16, 8], "activation_fn": nn.ReLU})
    document = policy_document(model, get_registry().get("motorcycle"), {"course_length": 300.0})
    assert [(layer["out"], layer["activation"]) for layer in document["network"]] == [
        (32, "relu"), (16, "relu"), (8, "relu"), (2, "none")]
    assert document["scene_options"] == {"course_length": 300.0}
    assert_document_acts_as_sb3(model, "motorcycle")


def test_box_actions_are_clipped_to_the_bounds():
    model = PPO("MlpPolicy", SpacesOnly("ball"), seed=0, device="cpu")
    with torch.no_grad():
        model.policy.action_net.bias.fill_(5.0)  # every mean far above the bound
    document = policy_document(model, get_registry().get("ball"), {})
    observations = uniform_observations(model.observation_space, 100)
    assert (network_outputs(document, observations) > 1.0).all()
    np.testing.assert_array_equal(policy_actions(document, observations), 1.0)
    assert_document_acts_as_sb3(model, "ball")


def test_document_describes_the_env():
    spec = get_registry().get("parking3d")
    model, _ = load_env_model(spec, spec.model)
    document = policy_document(model, spec, {})
    assert document["format"] == "rlgodot-policy" and document["version"] == 1
    assert document["env_id"] == "parking3d-v1"
    assert document["state_names"] == list(spec.state_names)
    assert document["observation"]["terms"] == list(spec.observation.canonical())
    assert len(document["observation"]["terms"]) == document["network"][0]["in"]
    assert (document["action_repeat"], document["physics_hz"]) == (spec.action_repeat,
                                                                   spec.physics_hz)
    # parking3d-v1's 35 indices: the wire action of each, the decoder's table
    assert document["action"]["kind"] == "argmax"
    np.testing.assert_array_equal(document["action"]["table"], LEVELS_TABLE)
    continuous = get_registry().get("parking3d-continuous")
    model, _ = load_env_model(continuous, continuous.model)
    assert policy_document(model, continuous, {})["action"] == {
        "kind": "box", "low": [-1.0, -1.0], "high": [1.0, 1.0]}


class Convolution(BaseFeaturesExtractor):
    def __init__(self, observation_space: gym.spaces.Box) -> None:
        super().__init__(observation_space, features_dim=4 * observation_space.shape[0])
        self.conv = nn.Conv1d(1, 4, kernel_size=3, padding=1)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.conv(observations[:, None, :]).flatten(1)


@pytest.mark.parametrize(
    ("policy_kwargs", "message"),
    [
        ({"features_extractor_class": Convolution},
         "features extractor is Convolution; export supports MLP policies"),
        ({"activation_fn": nn.ELU}, re.escape("the layer ELU(alpha=1.0) there; export supports")),
    ],
)
def test_unsupported_networks_are_refused_naming_the_module(policy_kwargs, message):
    model = PPO("MlpPolicy", SpacesOnly("ball"), device="cpu", policy_kwargs=policy_kwargs)
    with pytest.raises(RLGodotError, match=message):
        policy_document(model, get_registry().get("ball"), {})


def test_an_env_without_observation_expressions_is_refused():
    spec = dataclasses.replace(get_registry().get("ball"), observation=None)
    model = DQN("MlpPolicy", SpacesOnly("ball-discrete"), device="cpu")
    with pytest.raises(RLGodotError, match="declare EnvSpec.observation to run the policy"):
        policy_document(model, spec, {})


def test_a_model_of_other_spaces_is_refused():
    model = PPO("MlpPolicy", SpacesOnly("ball"), device="cpu")
    motorcycle = get_registry().get("motorcycle")
    with pytest.raises(RLGodotError, match=rf"observation space Box\(6,\) but {motorcycle.id}"):
        policy_document(model, motorcycle, {})


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cli_exports_the_shipped_model(tmp_path):
    out = tmp_path / "exported"
    result = invoke("export", "--env", "ball", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "policy.json", "policy.onnx"]
    assert "RLPolicyPlayer" in (out / "README.md").read_text()
    assert "docs/DEPLOY.md" in (out / "README.md").read_text()

    spec = get_registry().get("ball")
    document = json.loads((out / "policy.json").read_text())
    model, _ = load_env_model(spec, spec.model)
    observations = uniform_observations(spec.observation_space, 300)
    np.testing.assert_allclose(
        policy_actions(document, observations),
        model.predict(observations, deterministic=True)[0], atol=1e-5, rtol=0)

    graph = onnx.load(str(out / "policy.onnx"))
    assert {p.key: p.value for p in graph.metadata_props}.items() >= {
        "env_id": "ball-v0", "algorithm": "PPO", "action_kind": "box"}.items()
    session = onnxruntime.InferenceSession(str(out / "policy.onnx"))
    (means,) = session.run(None, {"observation": observations})
    with torch.no_grad():
        torch_means = model.policy.get_distribution(torch.from_numpy(observations)).mode()
    assert np.max(np.abs(means - torch_means.numpy())) <= 1e-5


def test_export_of_a_saved_dqn_model_with_its_scene_options(tmp_path):
    model = DQN("MlpPolicy", SpacesOnly("ball-discrete"), device="cpu")
    path = save_model(model, tmp_path / "model.zip", {
        "algo": "dqn", "env_id": "ball-discrete-v0",
        "options": {"max_force": 4.0, "time_penalty": 0.02}})
    result = export_policy("ball-discrete", model=path, out=tmp_path / "out")
    document = json.loads(result.policy_json.read_text())
    assert document["scene_options"]["max_force"] == 4.0
    assert "time_penalty" not in document["scene_options"]  # a reward option
    assert set(document["scene_options"]) == set(get_registry().get("ball").default_options(
        "scene"))
    assert result.algorithm == "DQN" and result.action_kind == "argmax"


def test_onnx_disagreeing_with_torch_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)
    with pytest.raises(RLGodotError, match="onnxruntime differs from torch"):
        export_policy("ball", out=tmp_path)
    assert not (tmp_path / "policy.onnx").exists()


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_cli_unknown_env():
    assert "no installed env plugin provides 'nope'" in one_line_error(
        invoke("export", "--env", "nope", "--out", "x"))


def test_cli_model_of_another_env(tmp_path):
    ball = get_registry().get("ball").model
    line = one_line_error(invoke("export", "--env", "motorcycle", "--model", str(ball),
                                 "--out", str(tmp_path / "out")))
    assert f"was trained on ball-v0, not {get_registry().get('motorcycle').id}" in line
    assert not (tmp_path / "out").exists()


def test_cli_unwritable_directory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_line_error(invoke("export", "--env", "ball", "--out", str(blocker / "out")))
    assert f"cannot write the export to {blocker / 'out'}" in line and "--out" in line


def test_cli_unsupported_layer(tmp_path):
    model = PPO("MlpPolicy", SpacesOnly("ball"), device="cpu",
                policy_kwargs={"activation_fn": nn.LeakyReLU})
    path = save_model(model, tmp_path / "model.zip", {"algo": "ppo", "env_id": "ball-v0"})
    line = one_line_error(invoke("export", "--env", "ball", "--model", str(path),
                                 "--out", str(tmp_path / "out")))
    assert "LeakyReLU" in line and "export supports Linear" in line
    assert not (tmp_path / "out").exists()


def test_help():
    result = invoke("export", "--help")
    assert result.exit_code == 0 and "--out DIR" in result.output and "--model" in result.output


def test_readme_names_the_files(tmp_path):
    export_policy("parking3d-discrete", out=tmp_path)
    text = Path(tmp_path / "README.md").read_text()
    assert "parking3d-discrete-v1 (DQN)" in text and "one score per action" in text
