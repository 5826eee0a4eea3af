"""RLlib vs SB3 PPO on one machine: throughput, start-up, memory, recovery from a killed Godot.

Usage: python benchmarks/rllib_vs_sb3.py --env ball [--timesteps 40960] [--runners 2]
Same PPO hyperparameters on both sides: 4096 steps per update, minibatch 512, 4 epochs.
Prints one JSON object last. Needs rlgodot[rllib]. Not part of CI (takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

from rlgodot.core.jobs.config import TrainConfig


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _process_tree_memory() -> dict[str, float]:
    """PSS (MiB) of this driver, Ray's processes, and the Godot processes of the env runners."""
    groups: dict[str, list[int]] = {"driver": [os.getpid()], "ray_env_runners": [],
                                    "ray_other": [], "godot": []}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if b"--rlgodot-scene" in cmd:
            continue
        if cmd.startswith(b"ray::SingleAgentEnvRunner"):
            groups["ray_env_runners"].append(int(entry.name))
        elif cmd.startswith(b"ray::") or b"raylet" in cmd or b"gcs_server" in cmd or (
            b"ray/" in cmd and b"python" in cmd
        ):
            groups["ray_other"].append(int(entry.name))
    runners = set(groups["ray_env_runners"])
    groups["godot"] = [
        int(e.name) for e in os.scandir("/proc")
        if e.name.isdigit() and _parent(int(e.name)) in runners
    ]
    out: dict[str, float] = {}
    for name, pids in groups.items():
        total = sum(_pss_kib(p) for p in pids) / 1024
        out[f"{name}_count"] = len(pids)
        out[f"{name}_pss_mib"] = round(total, 1)
        if pids:
            out[f"{name}_pss_mib_each"] = round(total / len(pids), 1)
    return out


def run_sb3(env: str, timesteps: int, n_envs: int) -> dict[str, float]:
    """SB3 PPO, all instances in one Godot process."""
    from rlgodot.core.jobs.train import train

    start = time.perf_counter()
    result = train(TrainConfig(
        env=env, timesteps=timesteps, n_envs=n_envs, seed=0, progress_bar=False,
        checkpoint_every=0, output_dir=Path("/tmp/bench-runs"),
        hyperparameters={"n_steps": 4096 // n_envs, "batch_size": 512, "n_epochs": 4},
    ))
    return {"sb3_steps_per_s": round(result.steps_per_s, 1),
            "sb3_wall_s": round(time.perf_counter() - start, 1)}


def run_rllib(env: str, timesteps: int, runners: int, per_runner: int) -> dict[str, float]:
    """RLlib PPO; kills one runner's Godot after iteration 3 and times the recovery."""
    from rlgodot.core.jobs.rllib import train_rllib

    start = time.perf_counter()
    marks: dict[str, float] = {}

    def on_result(algo, result):
        now = time.perf_counter()
        runners_result = result["env_runners"]
        steps = runners_result["num_env_steps_sampled_lifetime"]
        if "first_result_s" not in marks:
            marks["first_result_s"] = round(now - start, 1)
            marks.update(_process_tree_memory())
        iteration = result["training_iteration"]
        if iteration == 3:  # kill one runner's Godot, time the iteration that recovers
            pids = algo.env_runner_group.foreach_env_runner(
                lambda r: r.env.unwrapped.session.processes[0].pid,
                local_env_runner=False,
            )
            os.kill(pids[0], signal.SIGKILL)
            marks["killed_at_s"] = now - start
            marks["steps_at_kill"] = steps
        elif "killed_at_s" in marks and "recovered_after_s" not in marks:
            marks["recovered_after_s"] = round(now - start - marks["killed_at_s"], 2)
            marks["failures_reported"] = runners_result.get("num_env_step_failures", 0)
        marks["iteration_s_last"] = round(result.get("time_this_iter_s", 0.0), 2)

    result = train_rllib(
        TrainConfig(env=env, backend="rllib", env_runners=runners, envs_per_runner=per_runner,
                    timesteps=timesteps, seed=0, output_dir=Path("/tmp/bench-runs"),
                    hyperparameters={"train_batch_size_per_learner": 4096,
                                     "minibatch_size": 512, "num_epochs": 4}),
        on_result=on_result,
    )
    marks.pop("killed_at_s", None)
    return {"rllib_steps_per_s": round(result.steps_per_s, 1),
            "rllib_wall_s": round(time.perf_counter() - start, 1),
            **{f"rllib_{k}": v for k, v in marks.items()}}


def main() -> None:
    """Run both and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="ball")
    parser.add_argument("--timesteps", type=int, default=40_960)
    parser.add_argument("--runners", type=int, default=2)
    parser.add_argument("--envs-per-runner", type=int, default=8)
    args = parser.parse_args()
    figures = {"env": args.env, "timesteps": args.timesteps, "runners": args.runners,
               "envs_per_runner": args.envs_per_runner}
    figures |= run_sb3(args.env, args.timesteps, args.runners * args.envs_per_runner)
    figures |= run_rllib(args.env, args.timesteps, args.runners, args.envs_per_runner)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
