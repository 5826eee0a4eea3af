"""SB3 training survives a Godot process that dies (SIGKILL) or hangs (SIGSTOP), on real Godot."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlgodot.core import GodotVecEnv, LaunchSettings, get_registry
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.config import TrainConfig
from rlgodot.core.jobs.models import read_metadata
from rlgodot.core.jobs.train import train

pytestmark = pytest.mark.godot


class Saboteur(BaseCallback):
    """Sends ``signum`` to the second Godot process after ``at`` steps (every step if
    ``again``) and measures the time from the signal to the next completed step."""

    def __init__(self, signum: int, at: int, again: bool = False) -> None:
        super().__init__()
        self.signum, self.at, self.again = signum, at, again
        self.sent_at: float | None = None
        self.recovery_s: float | None = None

    def _on_step(self) -> bool:
        if self.sent_at is not None and self.recovery_s is None:
            self.recovery_s = time.perf_counter() - self.sent_at
        if self.num_timesteps >= self.at and (self.sent_at is None or self.again):
            vec = self.training_env.unwrapped
            os.kill(vec.session.processes[1].pid, self.signum)
            self.sent_at = time.perf_counter()
        return True


def _config(tmp_path, **kwargs):
    return TrainConfig(
        env="ball", timesteps=8192, n_envs=8, n_procs=2, seed=0, output_dir=tmp_path,
        hyperparameters={"n_steps": 128, "batch_size": 256}, progress_bar=False,
        checkpoint_every=0, **kwargs,
    )


def _scalar(run_dir, tag):
    events = EventAccumulator(str(next(run_dir.glob("tb_*"))))
    events.Reload()
    return [e.value for e in events.Scalars(tag)]


@pytest.mark.parametrize("signum, timeout", [(signal.SIGKILL, 30.0), (signal.SIGSTOP, 3.0)])
def test_training_survives_a_dead_or_hung_godot(godot_binary, tmp_path, capfd, signum, timeout):
    saboteur = Saboteur(signum, at=2048)
    result = train(_config(tmp_path, step_timeout=timeout), callbacks=[saboteur])
    assert result.timesteps >= 8192 and result.model_path.is_file()
    assert result.restarts == 1
    assert _scalar(result.run_dir, "rlgodot/godot_restarts")[-1] == 1
    assert "rlgodot: restarting Godot (1)" in capfd.readouterr().err
    assert saboteur.recovery_s is not None
    print(f"\n{signal.Signals(signum).name}: recovery {saboteur.recovery_s:.2f} s "
          f"(step_timeout {timeout} s)")


def test_too_many_failures_in_a_row_save_the_model_and_say_where(godot_binary, tmp_path):
    saboteur = Saboteur(signal.SIGKILL, at=1024, again=True)
    with pytest.raises(RLGodotError, match="model_interrupted.zip") as caught:
        train(_config(tmp_path, max_restarts=1), callbacks=[saboteur])
    assert "\n" not in str(caught.value)
    (run_dir,) = tmp_path.iterdir()
    saved = run_dir / "model_interrupted.zip"
    assert saved.is_file() and read_metadata(saved)["timesteps"] >= 1024
    assert str(run_dir) in str(caught.value)  # says how to resume


def test_vec_env_ends_every_episode_as_truncated_after_a_restart(godot_binary):
    vec = GodotVecEnv(get_registry().get("ball"), n_envs=4, seed=0,
                      settings=LaunchSettings(n_procs=2), max_restarts=3)
    try:
        vec.reset()
        actions = np.zeros((4, 2), dtype=np.float32)
        for _ in range(3):
            last, _, _, _ = vec.step(actions)
        old = vec.session.processes[0].pid
        os.kill(old, signal.SIGKILL)
        obs, rewards, dones, infos = vec.step(actions)
        assert dones.all() and vec.restarts == 1
        assert old not in [p.pid for p in vec.session.processes]
        for i, info in enumerate(infos):
            assert info["TimeLimit.truncated"] is True
            np.testing.assert_allclose(info["terminal_observation"], last[i])
            assert "is_success" in info
        assert obs.shape == last.shape and not rewards.any()
        _, _, dones, _ = vec.step(actions)
        assert not dones.any()
    finally:
        vec.close()
