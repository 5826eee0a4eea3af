"""`rlgodot bench` and the in-engine bench request, on the null env."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlgodot.cli.main import main
from rlgodot.core.envs.factory import make_vec_env
from rlgodot.core.errors import RemoteError

pytestmark = pytest.mark.godot


def test_bench_json(godot_binary):
    result = CliRunner().invoke(
        main, ["bench", "--env", "null", "--n-envs", "8", "--seconds", "0.5", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert {"decisions_per_s", "engine_decisions_per_s", "ratio", "n_envs", "procs",
            "action_repeat"} <= set(summary)
    assert summary["n_envs"] == 8 and summary["action_repeat"] == 8 and summary["procs"] == 1
    assert summary["decisions_per_s"] > 0 and summary["engine_decisions_per_s"] > 0
    assert summary["ratio"] == pytest.approx(
        summary["decisions_per_s"] / summary["engine_decisions_per_s"]
    )


def test_in_engine_bench_counts_steps_and_episodes(godot_binary):
    env = make_vec_env("null", n_envs=4, n_procs=2, seed=0)
    try:
        env.reset()
        results = env.session.bench(1500)
    finally:
        env.close()
    assert [r["n_envs"] for r in results] == [2, 2]
    for r in results:
        assert r["steps"] == 1500 and r["action_repeat"] == 8 and r["seconds"] > 0
        # 1000-step episodes: each instance ends exactly one within 1500 steps
        assert r["episodes"] == 2


def test_bench_before_reset_is_refused(godot_binary):
    env = make_vec_env("null", n_envs=1)
    try:
        with pytest.raises(RemoteError, match="reset"):
            env.session.bench(10)
        env.reset()
        assert env.session.bench(10)[0]["steps"] == 10
    finally:
        env.close()


def test_null_env_spec():
    from rlgodot.core.plugin.registry import get_registry

    spec = get_registry().get("null")
    assert spec.observation_space.shape == (8,) and spec.action_space.shape == (2,)
    assert spec.max_episode_steps == 1000 and spec.action_repeat == 8 and spec.physics_hz == 60


def test_sb3_ceiling_mode(godot_binary):
    result = CliRunner().invoke(
        main, ["bench", "--env", "ball", "--n-envs", "4", "--sb3", "1024", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["godot_fps"] > 0 and summary["ceiling_fps"] > summary["godot_fps"] * 0.5


def test_waiting_godot_does_not_spin(godot_binary):
    """A Godot process waiting for the next step uses (almost) no CPU."""
    import os
    import time

    env = make_vec_env("null", n_envs=16)
    try:
        env.reset()
        pid = env.session.processes[0].pid
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_seconds() -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        # CPU time counts in clock ticks (10 ms): over 5 s one tick is 0.2 % of a core, so the
        # engine's own timers may take a few; a spinning loop takes the whole core
        before = cpu_seconds()
        time.sleep(5.0)
        used = cpu_seconds() - before
    finally:
        env.close()
    assert used / 5.0 < 0.02, f"idle Godot used {used / 5.0:.1%} of a core"
