"""Ray RLlib backend: training over the batched VectorEnv, Godot faults survived, two nodes."""

from __future__ import annotations

import os
import signal
import time

import pytest

from conftest import rlgodot_godot_pids
from rlgodot.core.jobs.config import TrainConfig

pytestmark = pytest.mark.godot

SMALL_PPO = {"train_batch_size_per_learner": 256, "minibatch_size": 128, "num_epochs": 1}


@pytest.fixture(scope="module")
def ray_module():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must have Ray RLlib installed (make setup installs rlgodot[rllib])")
        pytest.skip("Ray RLlib is not installed")
    return ray


def _ray_worker_pids() -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if f.read().startswith(b"ray::"):
                        pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _runner_godot_pids(algo) -> list[int]:
    return [
        pid
        for pids in algo.env_runner_group.foreach_env_runner(
            lambda r: [p.pid for p in r.env.unwrapped.session.processes],
            local_env_runner=False,
        )
        for pid in pids
    ]


def test_ppo_survives_a_killed_godot(godot_binary, ray_module, tmp_path):
    from rlgodot.core.jobs.rllib import train_rllib

    godot_before = set(rlgodot_godot_pids())
    killed: list[int] = []
    results = []

    def on_result(algo, result):
        results.append(result)
        if len(results) == 1:
            pids = _runner_godot_pids(algo)
            assert len(pids) == 1
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
            results.append(time.monotonic())

    config = TrainConfig(
        env="ball", backend="rllib", env_runners=1, envs_per_runner=4, timesteps=256 * 4,
        seed=0, output_dir=tmp_path, hyperparameters=SMALL_PPO,
    )
    result = train_rllib(config, on_result=on_result)
    final = results[-1]["env_runners"]
    assert final["num_env_steps_sampled_lifetime"] >= 1024
    assert final.get("num_env_step_failures", 0) >= 1, "RLlib did not count the Godot failure"
    assert result.model_path.is_dir()
    # nothing of ours left: no Godot (the killed one included), no ray:: workers
    time.sleep(1.0)
    assert not set(rlgodot_godot_pids()) - godot_before
    assert not _ray_worker_pids()


def test_rllib_checkpoint_evaluates(godot_binary, ray_module, tmp_path):
    from rlgodot.core.jobs.evaluate import evaluate
    from rlgodot.core.jobs.rllib import train_rllib

    result = train_rllib(TrainConfig(
        env="ball", backend="rllib", env_runners=1, envs_per_runner=2, timesteps=256,
        output_dir=tmp_path, hyperparameters=SMALL_PPO,
    ))
    evaluation = evaluate("ball", model=result.model_path, episodes=2, seed=0)
    assert evaluation.episodes == 2


def test_two_node_cluster_places_runners_on_both(godot_binary, ray_module, tmp_path):
    from ray.cluster_utils import Cluster

    from rlgodot.core.jobs.rllib import train_rllib

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    cluster.add_node(num_cpus=2)
    nodes: set[str] = set()

    def on_result(algo, result):
        nodes.update(algo.env_runner_group.foreach_env_runner(
            lambda r: __import__("ray").get_runtime_context().get_node_id(),
            local_env_runner=False,
        ))

    try:
        ray_module.init(address=cluster.address)
        train_rllib(
            TrainConfig(env="ball", backend="rllib", env_runners=3, envs_per_runner=2,
                        timesteps=256, address=cluster.address, output_dir=tmp_path,
                        hyperparameters=SMALL_PPO),
            on_result=on_result,
        )
    finally:
        ray_module.shutdown()
        cluster.shutdown()
    assert len(nodes) == 2, f"runners ran on {len(nodes)} node(s)"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_rllib_training_leaves_nothing(godot_binary, ray_module, tmp_path, signum):
    import subprocess
    import sys

    godot_before = set(rlgodot_godot_pids())
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlgodot.cli.main", "train", "--env", "ball", "--backend",
         "rllib", "--env-runners", "1", "--envs-per-runner", "2", "--timesteps", "10000000",
         "--output-dir", str(tmp_path), "--hp", "train_batch_size_per_learner=256"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 90
    while not set(rlgodot_godot_pids()) - godot_before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(rlgodot_godot_pids()) - godot_before, "training never started Godot"
    time.sleep(2.0)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (130, 143), err[-2000:]
    deadline = time.monotonic() + 10
    while (set(rlgodot_godot_pids()) - godot_before or _ray_worker_pids()) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert not set(rlgodot_godot_pids()) - godot_before
    assert not _ray_worker_pids()
