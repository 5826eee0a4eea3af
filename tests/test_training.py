"""Training and evaluation through the Python API, on real Godot."""

from __future__ import annotations

import json

import pytest

from rlgodot.core.errors import InvalidOption, RLGodotError
from rlgodot.core.jobs.config import TrainConfig
from rlgodot.core.jobs.evaluate import evaluate
from rlgodot.core.jobs.train import train

pytestmark = pytest.mark.godot


def test_short_ppo_run_saves_a_usable_model(godot_binary, tmp_path):
    result = train(TrainConfig(
        env="ball", algo="ppo", timesteps=1024, n_envs=4, seed=0, output_dir=tmp_path,
        hyperparameters={"n_steps": 128, "batch_size": 128}, progress_bar=False,
        checkpoint_every=512,
    ))
    assert result.model_path.is_file()
    meta = json.loads(result.model_path.with_suffix(".json").read_text())
    assert meta["algo"] == "ppo" and meta["env_id"] == "ball-v0"
    assert list((result.run_dir / "checkpoints").glob("*.zip"))
    assert list(result.run_dir.glob("tb_*/events.out.tfevents.*")), "no TensorBoard log"
    evaluation = evaluate("ball", model=result.model_path, episodes=4, seed=0)
    assert evaluation.episodes == 4
    assert evaluation.success_rate is not None


def test_short_dqn_run_on_the_discrete_variant(godot_binary, tmp_path):
    result = train(TrainConfig(
        env="ball-discrete", algo="dqn", timesteps=600, n_envs=2, seed=0,
        output_dir=tmp_path, hyperparameters={"learning_starts": 100}, progress_bar=False,
        checkpoint_every=0,
    ))
    assert result.model_path.is_file()


def test_dqn_on_continuous_actions_points_to_discrete_variant():
    with pytest.raises(InvalidOption, match="ball-discrete-v0"):
        train(TrainConfig(env="ball", algo="dqn"))


def test_random_baseline_is_reproducible(godot_binary):
    a = evaluate("ball", random_policy=True, episodes=6, seed=3)
    b = evaluate("ball", random_policy=True, episodes=6, seed=3)
    assert a.returns == b.returns and a.episodes == 6


def test_eval_without_model_explains(godot_binary, tmp_path):
    with pytest.raises(RLGodotError, match="does not exist"):
        evaluate("ball", model=tmp_path / "missing.zip", episodes=1)


def test_ppo_learns_the_example_env_with_its_defaults(godot_binary, tmp_path):
    """The documented default `rlgodot train --env ball` really learns (about 15 s here)."""
    result = train(TrainConfig(env="ball", seed=0, output_dir=tmp_path, progress_bar=False))
    trained = evaluate("ball", model=result.model_path, episodes=20, seed=100)
    baseline = evaluate("ball", random_policy=True, episodes=20, seed=100)
    assert trained.success_rate >= 0.9, trained.summary()
    assert trained.mean_return > baseline.mean_return + 3.0


@pytest.mark.parametrize("env_id", ["ball", "ball-discrete"])
def test_shipped_models_are_used_by_default_and_succeed(godot_binary, env_id):
    result = evaluate(env_id, episodes=20, seed=7)
    assert result.policy.endswith(".zip")
    assert result.success_rate >= 0.9, result.summary()


def test_checkpoints_evaluate_with_their_runs_metadata(godot_binary, tmp_path):
    from click.testing import CliRunner

    from rlgodot.cli.main import main

    result = train(TrainConfig(
        env="ball", timesteps=512, n_envs=2, seed=0, output_dir=tmp_path, progress_bar=False,
        hyperparameters={"n_steps": 128, "batch_size": 64}, checkpoint_every=256,
    ))
    checkpoint = next((result.run_dir / "checkpoints").glob("*.zip"))
    assert evaluate("ball", model=checkpoint, episodes=1).episodes == 1
    lone = tmp_path / "lone.zip"
    lone.write_bytes(checkpoint.read_bytes())
    with pytest.raises(RLGodotError, match="--algo"):
        evaluate("ball", model=lone, episodes=1)
    out = CliRunner().invoke(main, ["eval", "--env", "ball", "--model", str(lone), "--algo",
                                    "ppo", "--episodes", "1"])
    assert out.exit_code == 0, out.output
