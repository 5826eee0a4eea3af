"""Training and evaluation through the Python API, on real Godot."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.save_util import load_from_zip_file

from rlgodot.core.errors import InvalidOption, RLGodotError
from rlgodot.core.jobs.config import TrainConfig
from rlgodot.core.jobs.evaluate import evaluate
from rlgodot.core.jobs.models import ROLLOUT_STATE, load_model
from rlgodot.core.jobs.train import train

pytestmark = pytest.mark.godot


def test_short_ppo_run_saves_a_usable_model(godot_binary, tmp_path):
    result = train(TrainConfig(
        env="ball", algo="ppo", timesteps=1024, n_envs=4, seed=0, output_dir=tmp_path,
        hyperparameters={"n_steps": 128, "batch_size": 128}, progress_bar=False,
        checkpoint_every=512,
    ))
    meta = json.loads(result.model_path.with_suffix(".json").read_text())
    assert meta["algo"] == "ppo" and meta["env_id"] == "ball-v0"
    # 1024 steps with checkpoints every 512: two checkpoints, the last at the end.
    checkpoints = sorted(p.name for p in (result.run_dir / "checkpoints").glob("*.zip"))
    assert checkpoints == ["ppo_1024_steps.zip", "ppo_512_steps.zip"], checkpoints
    events = list(result.run_dir.glob("tb_*/events.out.tfevents.*"))
    assert events and "rollout/ep_rew_mean" in _scalar_tags(events[0])
    # The saved model is the trained one: it loads, knows its step count and acts in the space.
    model, _ = load_model(result.model_path)
    assert model.num_timesteps == 1024
    data = load_from_zip_file(result.model_path, device="cpu")[0]
    assert data is not None and not set(ROLLOUT_STATE) & set(data), "the last batch is not saved"
    obs = np.zeros((4, 6), np.float32)
    assert model.action_space.contains(model.predict(obs[0], deterministic=True)[0])
    evaluation = evaluate("ball", model=result.model_path, episodes=4, seed=0)
    assert evaluation.episodes == 4 and len(evaluation.returns) == 4
    assert 0.0 <= evaluation.success_rate <= 1.0
    assert all(np.isfinite(evaluation.returns))


def test_short_dqn_run_on_the_discrete_variant(godot_binary, tmp_path):
    result = train(TrainConfig(
        env="ball-discrete", algo="dqn", timesteps=600, n_envs=2, seed=0,
        output_dir=tmp_path, hyperparameters={"learning_starts": 100}, progress_bar=False,
        checkpoint_every=0,
    ))
    model, meta = load_model(result.model_path)
    assert meta["algo"] == "dqn" and type(model).__name__ == "DQN"
    assert model.action_space.n == 5 and model.num_timesteps >= 600


def test_dqn_on_continuous_actions_points_to_discrete_variant():
    with pytest.raises(InvalidOption, match="ball-discrete-v0"):
        train(TrainConfig(env="ball", algo="dqn"))


def test_policy_kwargs_name_classes_by_dotted_path():
    from rlgodot.core.jobs.models import plain
    from rlgodot.core.jobs.networks import SmallCnn
    from rlgodot.core.jobs.train import resolve_training

    given = {"features_extractor_class": "rlgodot.core.jobs.networks.SmallCnn",
             "activation_fn": "torch.nn.ReLU", "net_arch": [8]}
    config = TrainConfig(env="ball", hyperparameters={"policy_kwargs": given})
    kwargs = resolve_training(config)[2]["policy_kwargs"]
    assert kwargs == {"features_extractor_class": SmallCnn, "activation_fn": torch.nn.ReLU,
                      "net_arch": [8]}
    # sidecars and config files write the classes' paths, which read back as the classes
    written = plain(kwargs)
    assert written["features_extractor_class"] == "rlgodot.core.jobs.networks.SmallCnn"
    again = TrainConfig(env="ball", hyperparameters={"policy_kwargs": written})
    assert resolve_training(again)[2]["policy_kwargs"] == kwargs
    for bad in ("torch.nn.NoSuchLayer", "no_such_module.Thing", "ReLU", "math.pi"):
        config = TrainConfig(env="ball", hyperparameters={"policy_kwargs": {"activation_fn": bad}})
        with pytest.raises(InvalidOption, match="not an importable class"):
            resolve_training(config)


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


# The training workflow: what ran, sidecar types, resume, fine-tuning, config files, evaluation.

TINY = {"n_steps": 64, "batch_size": 128}


def _tiny(tmp_path, **kwargs):
    values = {"env": "ball", "timesteps": 1000, "n_envs": 4, "seed": 0, "output_dir": tmp_path,
              "hyperparameters": TINY, "progress_bar": False, "checkpoint_every": 0, **kwargs}
    return TrainConfig(**values)


def test_the_summary_and_the_sidecar_count_the_steps_that_ran(godot_binary, tmp_path):
    from rlgodot.core.jobs.models import load_model

    result = train(_tiny(tmp_path))  # PPO runs whole rollouts of 64 x 4 = 256 steps
    assert result.requested_timesteps == 1000
    assert result.timesteps == 1024 == load_model(result.model_path)[0].num_timesteps
    meta = json.loads(result.model_path.with_suffix(".json").read_text())
    assert meta["timesteps"] == 1024
    config = meta["config"]  # JSON types, not strings
    assert config["n_envs"] == 4 and config["timesteps"] == 1000 and config["seed"] == 0
    assert config["progress_bar"] is False and config["n_procs"] is None
    assert config["hyperparameters"] == TINY and config["output_dir"] == str(tmp_path)
    assert meta["hyperparameters"]["learning_rate"] == 3e-4


def test_sidecars_of_older_releases_still_read(tmp_path):
    from rlgodot.core.jobs.train import run_config

    old = {"algo": "ppo", "env_id": "ball-v0", "timesteps": 2048, "config": {
        "env": "ball", "algo": "ppo", "timesteps": "None", "n_envs": "4", "seed": "0",
        "options": "{'target_radius': 0.3}", "hyperparameters": "{'n_steps': 64}",
        "output_dir": "runs", "progress_bar": "True", "step_timeout": "30.0",
    }}
    (tmp_path / "model.json").write_text(json.dumps(old))
    config = run_config(tmp_path)
    assert config.n_envs == 4 and config.seed == 0 and config.timesteps == 2048
    assert config.options == {"target_radius": 0.3} and config.hyperparameters == {"n_steps": 64}
    assert config.progress_bar is True and config.step_timeout == 30.0
    assert str(config.output_dir) == "runs"


def test_resume_continues_the_step_counter_log_and_checkpoints(godot_binary, tmp_path):
    first = train(_tiny(tmp_path, timesteps=1024, checkpoint_every=512))
    again = train(TrainConfig(env="ball", resume=first.run_dir, timesteps=2048,
                              progress_bar=False))
    assert again.run_dir == first.run_dir and again.timesteps == 2048
    assert [p.name for p in first.run_dir.glob("tb_*")] == ["tb_1"]
    steps = sorted(int(p.stem.split("_")[1]) for p in (first.run_dir / "checkpoints").glob("*"))
    assert steps[0] == 512 and steps[-1] > 1024, steps
    with pytest.raises(RLGodotError, match="already has 2048"):
        train(TrainConfig(env="ball", resume=first.run_dir, progress_bar=False,
                          timesteps=2048))
    from click.testing import CliRunner

    from rlgodot.cli.main import main

    out = CliRunner().invoke(main, ["train", "--resume", str(first.run_dir), "--timesteps",
                                    "2304", "--no-progress"])
    assert out.exit_code == 0, out.output
    assert "2304 steps" in out.output
    assert json.loads((first.run_dir / "model.json").read_text())["timesteps"] == 2304


def test_init_from_fine_tunes_with_new_options_and_refuses_other_spaces(godot_binary, tmp_path):
    base = train(_tiny(tmp_path / "base", timesteps=512))
    tuned = train(_tiny(tmp_path / "tuned", timesteps=256, init_from=base.model_path,
                        options={"target_radius": 0.3}))
    assert tuned.run_dir != base.run_dir and tuned.timesteps == 256
    meta = json.loads(tuned.model_path.with_suffix(".json").read_text())
    assert meta["config"]["init_from"] == str(base.model_path)
    with pytest.raises(RLGodotError, match="same spaces"):
        train(_tiny(tmp_path / "other", env="ball-discrete", init_from=base.model_path))
    assert not (tmp_path / "other").exists()  # refused before a run (or Godot) started


def test_print_config_round_trips_and_flags_override_the_file(godot_binary, tmp_path):
    from click.testing import CliRunner

    from rlgodot.cli.main import main
    from rlgodot.core.jobs.train import resolve_training
    from rlgodot.core.jobs.train_file import train_config

    printed = CliRunner().invoke(main, ["train", "--env", "ball", "--print-config"])
    assert printed.exit_code == 0, printed.output
    file = tmp_path / "ball.yaml"
    file.write_text(printed.output)
    from_file = train_config({}, file)
    assert from_file.timesteps == 100_000 and from_file.n_envs == 16
    assert resolve_training(from_file)[2] == resolve_training(TrainConfig(env="ball"))[2]

    out = CliRunner().invoke(main, [
        "train", "--config", str(file), "--timesteps", "256", "--n-envs", "4",
        "--hp", "n_steps=64", "--hp", "batch_size=128", "-o", "target_radius=0.3",
        "--no-progress", "--output-dir", str(tmp_path / "runs"), "--checkpoint-every", "0",
    ])
    assert out.exit_code == 0, out.output
    meta = json.loads(next((tmp_path / "runs").glob("*/model.json")).read_text())
    assert meta["timesteps"] == 256 and meta["n_envs"] == 4
    assert meta["hyperparameters"]["n_steps"] == 64 and meta["hyperparameters"]["n_epochs"] == 10
    assert meta["options"]["target_radius"] == 0.3 and meta["options"]["max_force"] == 8.0


def test_evaluation_during_training_logs_and_keeps_the_best_model(godot_binary, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train(_tiny(tmp_path, timesteps=1024, eval_every=512, eval_episodes=2))
    assert result.best_model_path is not None and result.best_model_path.is_file()
    meta = json.loads(result.best_model_path.with_suffix(".json").read_text())
    assert meta["eval"]["episodes"] == 2
    events = EventAccumulator(str(next(result.run_dir.glob("tb_*"))))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert len(events.Scalars("eval/success_rate")) == 2
    assert "eval/mean_return" in tags and "rollout/success_rate" in tags
    assert evaluate("ball", model=result.best_model_path, episodes=1).episodes == 1


def test_step_timeout_is_a_train_and_eval_setting(godot_binary):
    from click.testing import CliRunner

    from rlgodot.cli.main import main

    for command in ("train", "eval"):
        help_text = CliRunner().invoke(main, [command, "--help"]).output
        assert "--step-timeout" in help_text, command
    result = evaluate("ball", random_policy=True, episodes=1, step_timeout=5.0)
    assert result.episodes == 1


def test_outcome_flags_of_training_and_evaluation_episodes_reach_tensorboard(
    godot_binary, tmp_path
):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # parking3d-v0 episodes end with `collided` (max 200 steps): every instance ends one here.
    result = train(_tiny(tmp_path, env="parking3d-v0", timesteps=1024, eval_every=1024,
                         eval_episodes=2))
    events = EventAccumulator(str(next(result.run_dir.glob("tb_*"))))
    events.Reload()
    tags = events.Tags()["scalars"]
    for tag in ("rollout/collided_rate", "eval/collided_rate", "eval/success_rate",
                "rlgodot/godot_restarts"):
        assert tag in tags, tags


def test_the_plugins_training_options_go_to_training_under_the_users_own(godot_binary, tmp_path):
    from rlgodot_parking3d.env import TRAINING_OPTIONS_V1

    result = train(_tiny(tmp_path, env="parking3d-v1", timesteps=256,
                         options={"occupancy": 0.0, "start_in_bay": 1.0}))
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["training_options"] == {**TRAINING_OPTIONS_V1, "occupancy": 0.0, "start_in_bay": 1.0}
    # evaluation and the model's sidecar keep the user's options: they measure the task itself
    assert run["options"] == {"occupancy": 0.0, "start_in_bay": 1.0}
    sidecar = json.loads(result.model_path.with_suffix(".json").read_text())
    assert sidecar["options"] == run["options"]


def test_ppo_updates_on_every_core_and_collects_on_torch_threads(godot_binary, tmp_path):
    class ThreadSpy(BaseCallback):
        """Records torch's threads at every step and inside every update."""

        def __init__(self) -> None:
            super().__init__()
            self.collecting: set[int] = set()
            self.updating: set[int] = set()

        def _on_training_start(self) -> None:
            update = self.model.train

            def spied_update() -> None:
                self.updating.add(torch.get_num_threads())
                update()

            self.model.train = spied_update

        def _on_training_end(self) -> None:
            del self.model.train  # the class's own again, so that the model pickles

        def _on_step(self) -> bool:
            self.collecting.add(torch.get_num_threads())
            return True

    for update_threads, expected in ((3, 3), (0, len(os.sched_getaffinity(0)))):
        spy = ThreadSpy()
        train(_tiny(tmp_path, timesteps=512, torch_threads=1, update_threads=update_threads),
              callbacks=[spy])
        assert spy.collecting == {1} and spy.updating == {expected}, (spy.collecting, spy.updating)


def _scalar_tags(event_file) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(event_file))
    events.Reload()
    return set(events.Tags()["scalars"])
