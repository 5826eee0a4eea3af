"""RLPolicy in a real headless Godot: the forward pass and the observation terms against numpy
(through the addon's policy_check.gd tool), the ``act`` request on the ball env, the
``config.policy`` refusals, and play mode with ``--rlgodot-opponent``.

Policies are written by hand here (a small policy.json from numpy weights), so these tests do
not depend on the exporter.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from raw_wire import RawClient

from rlgodot.core.envs.batch import EnvBatch
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.errors import RemoteError
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, GodotProcess
from rlgodot.core.runtime.settings import LaunchSettings

pytestmark = pytest.mark.godot

NAMES = ("ball_x", "ball_y", "ball_vx", "ball_vy", "target_x", "target_y", "reached")
TOOL = "res://addons/rlgodot/policy/policy_check.gd"
SCENE = "res://envs/ball/ball.tscn"
# Every function of the expression language, and NaN / +-inf (x / 0.0) to check the clean-up.
TERMS = (
    "(target_x - ball_x) / 10.0",
    "-ball_y / 5.0",
    "sin(ball_x) * cos(ball_y)",
    "tan(ball_vx / 10.0)",
    "atan2(ball_vy, ball_vx) / 3.14159",
    "sqrt(abs(target_x)) - 1.0",
    "min(ball_x, target_x) / 5.0",
    "max(ball_y, target_y) / 5.0",
    "clamp(ball_vx * 2.0, -0.5, 0.5)",
    "exp(-abs(ball_vy))",
    "log(1.0 + abs(target_y)) / 2.0",
    "pow(abs(ball_x), 1.5) / 10.0",
    "floor(ball_x) / 5.0",
    "sign(ball_vy)",
    "reached / 0.0",
    "(reached - 1.0) / 0.0",
)
Layers = Sequence[tuple[np.ndarray, np.ndarray, str]]
NUMPY_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "atan2": np.arctan2, "sqrt": np.sqrt,
    "abs": np.abs, "min": np.minimum, "max": np.maximum, "clamp": np.clip, "exp": np.exp,
    "log": np.log, "pow": np.power, "floor": np.floor, "sign": np.sign,
}


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode()


def policy_document(
    layers: Layers,
    terms: Sequence[str],
    action: dict[str, Any],
    *,
    state_names: Sequence[str] = NAMES,
    action_size: int = 2,
) -> dict[str, Any]:
    """A policy.json document (docs/GODOT_ADDON.md) from (weight out x in, bias, activation)."""
    return {
        "format": "rlgodot-policy", "version": 1, "env_id": "ball-v0", "algorithm": "PPO",
        "rlgodot_version": "0.1.0", "physics_hz": 60, "action_repeat": 4,
        "max_episode_steps": 200, "state_names": list(state_names), "action_size": action_size,
        "observation": {"terms": list(terms), "low": -1.0, "high": 1.0},
        "network": [
            {"in": int(w.shape[1]), "out": int(w.shape[0]), "activation": activation,
             "weight": _b64(w), "bias": _b64(b)}
            for w, b, activation in layers
        ],
        "action": action,
    }


def random_layers(sizes: Sequence[int], activation: str, rng: np.random.Generator) -> list:
    """An MLP of ``sizes`` (input first): hidden layers with ``activation``, the last "none"."""
    return [
        (rng.normal(0, 0.6, (n_out, n_in)).astype(np.float32),
         rng.normal(0, 0.3, n_out).astype(np.float32),
         activation if k < len(sizes) - 2 else "none")
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
    ]


def numpy_observations(terms: Sequence[str], states: np.ndarray) -> np.ndarray:
    """The terms evaluated by numpy in float64: NaN -> 0, then clipped to [-1, 1]."""
    columns = {name: states[:, i].astype(np.float64) for i, name in enumerate(NAMES)}
    with np.errstate(all="ignore"):
        values = [
            np.broadcast_to(eval(term, {"__builtins__": {}, **NUMPY_FUNCTIONS}, columns),  # noqa: S307
                            (len(states),))
            for term in terms
        ]
    obs = np.nan_to_num(np.stack(values, axis=1), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(obs, -1.0, 1.0).astype(np.float32)


def numpy_forward(layers: Layers, obs: np.ndarray) -> np.ndarray:
    x = obs.astype(np.float64)
    for w, b, activation in layers:
        x = x @ w.astype(np.float64).T + b
        if activation == "tanh":
            x = np.tanh(x)
        elif activation == "relu":
            x = np.maximum(x, 0.0)
        x = x.astype(np.float32).astype(np.float64)  # Godot keeps each layer in float32
    return x


@pytest.fixture(scope="module")
def ball_project(godot_binary: GodotBinary) -> Path:
    return prepare_project(get_registry().get("ball"), godot_binary)


def run_check(
    godot: GodotBinary, project: Path, tmp_path: Path, document: dict, states: np.ndarray,
    bench: int = 0,
) -> tuple[np.ndarray, str]:
    """policy_check.gd over ``states``: its output rows and its stdout."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(document))
    states_file, out_file = tmp_path / "states.f32", tmp_path / "out.f32"
    states.astype("<f4").tofile(states_file)
    proc = subprocess.run(
        [*godot.command, "--headless", "--path", str(project), "--script", TOOL, "--",
         f"--policy={policy}", f"--states={states_file}", f"--out={out_file}", f"--bench={bench}"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SCRIPT ERROR" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return np.fromfile(out_file, dtype="<f4"), proc.stdout


def random_states(rng: np.random.Generator, n: int) -> np.ndarray:
    states = rng.uniform(-5.0, 5.0, (n, len(NAMES))).astype(np.float32)
    states[:, -1] = rng.integers(0, 2, n)  # reached: 0 or 1
    return states


@pytest.mark.parametrize("kind", ["box", "argmax"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_pass_equals_numpy(godot_binary, ball_project, tmp_path, kind, activation):
    rng = np.random.default_rng(1 if kind == "box" else 2)
    terms = TERMS[:6]
    outputs = 2 if kind == "box" else 5
    layers = random_layers([len(terms), 32, 16, outputs], activation, rng)
    table = [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    action = ({"kind": "box", "low": [-0.5, -1.0], "high": [0.5, 1.0]} if kind == "box"
              else {"kind": "argmax", "table": table})
    states = random_states(rng, 500)
    out, _ = run_check(godot_binary, ball_project, tmp_path,
                       policy_document(layers, terms, action), states)
    rows = out.reshape(len(states), len(terms) + 2)
    obs = numpy_observations(terms, states)
    np.testing.assert_allclose(rows[:, :len(terms)], obs, atol=1e-6)
    net = numpy_forward(layers, obs)
    if kind == "box":
        expected = np.clip(net, [-0.5, -1.0], [0.5, 1.0])
        assert (np.abs(net[:, 0]) < 0.5).any() and (np.abs(net[:, 0]) > 0.5).any()  # clip matters
    else:
        expected = np.asarray(table)[np.argmax(net, axis=1)]
        assert len(np.unique(np.argmax(net, axis=1))) > 2  # several actions chosen
    np.testing.assert_allclose(rows[:, len(terms):], expected, atol=1e-5)


def test_observation_terms_equal_numpy(godot_binary, ball_project, tmp_path):
    rng = np.random.default_rng(3)
    states = random_states(rng, 2000)
    states[:5, 3] = 0.0  # sign(0), atan2(0, x)
    layers = [(np.zeros((2, len(TERMS)), np.float32), np.zeros(2, np.float32), "none")]
    action = {"kind": "box", "low": [-1.0, -1.0], "high": [1.0, 1.0]}
    out, _ = run_check(godot_binary, ball_project, tmp_path,
                       policy_document(layers, TERMS, action), states)
    godot_obs = out.reshape(len(states), len(TERMS) + 2)[:, :len(TERMS)]
    expected = numpy_observations(TERMS, states)
    worst = np.abs(godot_obs - expected).max(axis=0)
    assert (worst <= 1e-6).all(), dict(zip(TERMS, worst, strict=True))
    # the division terms covered NaN (0 / 0.0 -> 0), +inf (-> high) and -inf (-> low)
    assert set(np.unique(godot_obs[:, -2])) == {0.0, 1.0}
    assert set(np.unique(godot_obs[:, -1])) == {-1.0, 0.0}


def test_decide_cost_of_a_2x64_tanh_mlp(godot_binary, ball_project, tmp_path):
    rng = np.random.default_rng(4)
    terms = TERMS[:6]
    layers = random_layers([len(terms), 64, 64, 2], "tanh", rng)
    action = {"kind": "box", "low": [-1.0, -1.0], "high": [1.0, 1.0]}
    _, stdout = run_check(godot_binary, ball_project, tmp_path,
                          policy_document(layers, terms, action), random_states(rng, 1), bench=2000)
    line = next(s for s in stdout.splitlines() if "decide_usec" in s)
    usec = float(line.split()[-1])
    print(f"RLPolicy.decide(), 2x64 tanh MLP, {len(terms)} terms: {usec:.1f} us")
    assert 0.0 < usec < 5000.0


def homing_policy() -> dict[str, Any]:
    """Push toward the target, damped: force = 2 * offset (m) - 0.5 * velocity (m/s)."""
    terms = ["(target_x - ball_x) / 10.0", "(target_y - ball_y) / 10.0",
             "ball_vx / 5.0", "ball_vy / 5.0"]
    weight = np.array([[20.0, 0.0, -2.5, 0.0], [0.0, 20.0, 0.0, -2.5]], np.float32)
    return policy_document([(weight, np.zeros(2, np.float32), "none")], terms,
                           {"kind": "box", "low": [-1.0, -1.0], "high": [1.0, 1.0]})


def test_act_drives_the_ball_onto_the_target(godot_binary, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(homing_policy()))
    spec = get_registry().get("ball")
    # two processes: the pool's act() steps both and stacks their replies
    settings = LaunchSettings(godot=godot_binary, policy=policy, n_procs=2)
    batch = EnvBatch(spec, 8, "same_step", settings=settings)
    try:
        batch.reset(seeds=list(range(8)))
        successes: dict[int, bool] = {}
        for _ in range(spec.max_episode_steps):
            outcome = batch.act()
            for k, i in enumerate(outcome.ended):
                successes.setdefault(int(i), bool(outcome.final_info["is_success"][k]))
            if len(successes) == 8:
                break
    finally:
        batch.close()
    assert len(successes) == 8 and sum(successes.values()) >= 7, successes


def test_act_without_a_policy_is_not_ready(godot_binary):
    spec = get_registry().get("ball")
    batch = EnvBatch(spec, 2, "same_step", settings=LaunchSettings(godot=godot_binary))
    try:
        batch.reset(seeds=[0, 1])
        with pytest.raises(RemoteError, match="act needs a policy") as caught:
            batch.act()
        assert caught.value.code == "not_ready"
        batch.step(np.zeros((2, 2), np.float32))  # the session goes on
    finally:
        batch.close()


@pytest.fixture(scope="module")
def served_ball(godot_binary: GodotBinary, ball_project: Path) -> Iterator[GodotProcess]:
    command = GodotCommand(godot_binary, ball_project, SCENE)
    with GodotProcess.launch(command, ready_timeout=30) as proc:
        yield proc


def _broken(change: dict[str, Any]) -> dict[str, Any]:
    document = homing_policy()
    for path, value in change.items():
        *parents, key = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[key] = value
    return document


BROKEN = {
    "format": (_broken({"format": "onnx"}), "'format' must be 'rlgodot-policy'"),
    "version": (_broken({"version": 2}), "version 2, this addon reads version 1"),
    "weight-size": (_broken({"network.0.weight": _b64(np.zeros(6))}),
                    "layer 0 'weight' must be base64 of 8 float32"),
    "bad-base64": (_broken({"network.0.bias": "!!!!!!!!!!!!"}), "layer 0 'bias' must be base64"),
    "in-mismatch": (_broken({"network.0.in": 3}), "layer 0 has 'in' 3, but its input has 4"),
    "activation": (_broken({"network.0.activation": "sigmoid"}), 'activation "sigmoid"'),
    "term-syntax": (_broken({"observation.terms": ["ball_x +", "ball_y", "0.0", "0.0"]}),
                    "observation term 'ball_x +' does not parse"),
    "term-name": (_broken({"observation.terms": ["speed * 2.0", "ball_y", "0.0", "0.0"]}),
                  "observation term 'speed * 2.0'"),
    "action-kind": (_broken({"action.kind": "softmax"}), 'action kind must be'),
    "layout": (_broken({"state_names": [*NAMES[:6], "goal"]}), "the policy reads state_names"),
    "not-json": ("{", "not JSON"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_bad_policy_file_is_bad_config_with_the_reason(served_ball, tmp_path, case):
    document, reason = BROKEN[case]
    policy = tmp_path / "policy.json"
    policy.write_text(document if isinstance(document, str) else json.dumps(document))
    assert served_ball.port is not None
    with RawClient(served_ball.port) as client:
        reply = client.hello(served_ball.token, n_envs=1, policy=str(policy))
        assert reply["type"] == "error" and reply["code"] == "bad_config", reply
        assert reason in reply["message"] and str(policy) in reply["message"], reply["message"]
        assert client.is_closed()


def test_a_missing_or_relative_policy_path_is_bad_config(served_ball, tmp_path):
    assert served_ball.port is not None
    for path, reason in ((str(tmp_path / "none.json"), "cannot read policy file"),
                         ("policy.json", "must be an absolute path")):
        with RawClient(served_ball.port) as client:
            reply = client.hello(served_ball.token, n_envs=1, policy=path)
            assert reply["type"] == "error" and reply["code"] == "bad_config", reply
            assert reason in reply["message"], reply["message"]
    # and a good one serves act
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(homing_policy()))
    with RawClient(served_ball.port) as client:
        assert client.hello(served_ball.token, n_envs=2, policy=str(policy))["type"] == "hello"
        reply = client.request({"type": "act"})
        assert reply["type"] == "error" and reply["code"] == "not_ready", reply  # reset first
        assert client.request({"type": "reset", "seeds": [0, 1]})["type"] == "reset_result"
        reply = client.request({"type": "act"})
        assert reply["type"] == "step_result" and len(reply["states"]) == 2, reply


def test_headless_play_with_an_opponent_runs_two_instances(godot_binary, tmp_path):
    from rlgodot.core.jobs.play import play_command

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(homing_policy()))
    spec = get_registry().get("ball")
    # 900 ticks: the person (no keys) times out at 800; the agent reaches its target first
    process = GodotProcess.spawn(play_command(
        spec, {}, godot_args=("--headless", "--fixed-fps", "60", "--quit-after", "900"),
        opponent=policy,
    ))
    try:
        assert process.wait(timeout=60) == 0
    finally:
        process.terminate()
    out = process.output_tail(200)
    assert "rlgodot play: agent episode 1: on target after" in out, out
    assert "rlgodot play: Episode 1: time limit (13.3 s)" in out, out
    assert "SCRIPT ERROR" not in out, out


def test_play_refuses_a_policy_of_another_env(godot_binary, tmp_path):
    from rlgodot.core.jobs.play import play_command

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(_broken({"state_names": [*NAMES[:6], "goal"]})))
    process = GodotProcess.spawn(play_command(
        get_registry().get("ball"), {}, godot_args=("--headless", "--quit-after", "60"),
        opponent=policy,
    ))
    try:
        assert process.wait(timeout=60) == 2
    finally:
        process.terminate()
    assert "--rlgodot-opponent: policy file" in process.output_tail(50)


PLAYER_SCENE = """[gd_scene load_steps=3 format=3]

[ext_resource type="PackedScene" path="res://envs/ball/ball.tscn" id="1_ball"]
[ext_resource type="Script" path="res://addons/rlgodot/policy/rl_policy_player.gd" id="2_player"]

[node name="Ball" instance=ExtResource("1_ball")]
watched = true

[node name="Player" type="Node" parent="."]
script = ExtResource("2_player")
policy_path = "res://envs/game/policy.json"
episodes = 3
seed = 7
"""


def test_policy_player_drives_the_scene_with_no_python(godot_binary, tmp_path):
    """A game project: the addon, the ball scene, the shipped model exported by `rlgodot
    export` and a scene that adds RLPolicyPlayer (the agent watched, as in a game: its camera,
    visuals and sync_view() run too). Godot runs it alone: no Python process, no server."""
    from rlgodot.core.jobs.config import ExportConfig
    from rlgodot.core.jobs.export import export_policy
    from rlgodot.core.runtime.launcher import assemble_project
    from rlgodot.core.runtime.launcher.project import addon_dir

    spec = get_registry().get("ball")
    game = tmp_path / "game"
    # the player applies the policy's scene_options: the ball scene has no defaults of its own
    export_policy(ExportConfig(env="ball", out=game))
    (game / "main.tscn").write_text(PLAYER_SCENE)
    project = assemble_project(addon_dir(), {"ball": Path(spec.godot_dir), "game": game},
                               spec.project_settings, godot_binary, cache_root=tmp_path / "cache")
    proc = subprocess.run(
        [*godot_binary.command, "--headless", "--path", str(project), "--fixed-fps", "60",
         "--quit-after", "3000", "res://envs/game/main.tscn"],
        capture_output=True, text=True, timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    episodes = [line for line in out.splitlines() if line.startswith("rlgodot policy: episode")]
    assert len(episodes) == 3, out
    assert all(": on target after " in line for line in episodes), episodes
    assert "SCRIPT ERROR" not in out and "ERROR" not in out, out


def test_play_opponent_policy_is_the_file_given_or_the_shipped_model(tmp_path, monkeypatch):
    import json

    from rlgodot.core.errors import RLGodotError
    from rlgodot.core.jobs.config import PlayConfig
    from rlgodot.core.jobs.play import opponent_policy

    shipped = opponent_policy(PlayConfig(env="ball", opponent=True), tmp_path / "export")
    document = json.loads(shipped.read_text())
    assert (document["format"], document["env_id"]) == ("rlgodot-policy", "ball-v0")
    with pytest.raises(RLGodotError, match="is not a file"):
        opponent_policy(PlayConfig(env="ball", opponent_policy=tmp_path / "none.json"), tmp_path)
    (tmp_path / "policy.json").write_text("{}")
    monkeypatch.chdir(tmp_path)  # a relative path is passed to Godot as an absolute one
    chosen = opponent_policy(PlayConfig(env="ball", opponent_policy=Path("policy.json")), tmp_path)
    assert chosen == (tmp_path / "policy.json").resolve()
