"""The command line, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from conftest import rlgodot_godot_pids
from rlgodot.cli.main import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_of_every_command():
    for command in ["list-envs", "run", "play", "train", "eval", "screenshot", "export", "check",
                    "doctor", "addon"]:
        result = invoke(command, "--help")
        assert result.exit_code == 0, command
        assert "Usage:" in result.output


def test_list_envs():
    result = invoke("list-envs")
    assert result.exit_code == 0
    assert "ball-v0" in result.output and "Box(-1.0, 1.0, (6,), float32)" in result.output
    detail = invoke("list-envs", "--env", "ball")
    assert "option target_radius=0.5" in detail.output
    listed = json.loads(invoke("list-envs", "--json").output)
    assert {e["id"] for e in listed} >= {"ball-v0", "ball-discrete-v0"}


def test_unknown_env_is_a_clear_error():
    result = CliRunner().invoke(main, ["run", "--env", "nope"])
    assert result.exit_code == 1
    assert "no installed env plugin provides 'nope'" in result.output


def test_bad_option_syntax_is_a_clear_error():
    result = CliRunner().invoke(main, ["run", "--env", "ball", "-o", "target_radius"])
    assert result.exit_code == 2
    assert "expected NAME=VALUE" in result.output


@pytest.mark.godot
def test_run_json(godot_binary):
    result = invoke("run", "--env", "ball", "--steps", "2000", "--n-envs", "8", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["steps"] == 2000 and summary["n_envs"] == 8
    assert summary["steps_per_s"] > 0


@pytest.mark.godot
def test_eval_random_json(godot_binary):
    result = invoke("eval", "--env", "ball", "--random", "--episodes", "4", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary) >= {"episodes", "success_rate", "mean_return", "mean_length"}
    assert summary["episodes"] == 4


@pytest.mark.godot
def test_check_command(godot_binary):
    result = invoke("check", "--env", "ball", "--only", "scene_answers", "--steps", "100")
    assert result.exit_code == 0
    assert "1 passed, 0 failed" in result.output


@pytest.mark.godot
def test_doctor(godot_binary):
    result = invoke("doctor")
    assert result.exit_code == 0, result.output
    assert "godot version" in result.output and "4." in result.output
    assert "headless run   ok" in result.output


@pytest.mark.godot
def test_train_then_eval_from_the_command_line(godot_binary, tmp_path):
    result = invoke(
        "train", "--env", "ball", "--timesteps", "512", "--n-envs", "2", "--seed", "1",
        "--hp", "n_steps=128", "--hp", "batch_size=64", "--no-progress",
        "--output-dir", str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    model = next(tmp_path.glob("ball-v0-ppo-*/model.zip"))
    evaluation = invoke("eval", "--env", "ball", "--model", str(model), "--episodes", "2",
                        "--json")
    assert json.loads(evaluation.output.strip().splitlines()[-1])["episodes"] == 2


@pytest.mark.godot
def test_ctrl_c_leaves_no_godot(godot_binary):
    before = set(rlgodot_godot_pids())
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlgodot.cli.main", "run", "--env", "ball", "--steps",
         "100000000", "--n-envs", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not set(rlgodot_godot_pids()) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(rlgodot_godot_pids()) - before, "Godot never started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    time.sleep(0.5)
    assert not set(rlgodot_godot_pids()) - before


@pytest.mark.godot
def test_sigkill_of_python_takes_godot_along(godot_binary):
    before = set(rlgodot_godot_pids())
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlgodot.cli.main", "run", "--env", "ball", "--steps",
         "100000000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not set(rlgodot_godot_pids()) - before and time.monotonic() < deadline:
        assert proc.poll() is None, f"rlgodot run exited with {proc.returncode} before Godot ran"
        time.sleep(0.1)
    started = set(rlgodot_godot_pids()) - before
    assert started, "no Godot process appeared within 60 s: nothing to test"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while set(rlgodot_godot_pids()) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(rlgodot_godot_pids()) - before, "Godot outlived its killed parent"


NO_ZERO_ENVS = "n_envs (--n-envs) must be at least 1, got 0; give 1 or more"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--env", "ball", "--n-envs", "0"], NO_ZERO_ENVS),
        (["eval", "--env", "ball", "--n-envs", "0"], NO_ZERO_ENVS),
        (["run", "--env", "ball", "--n-envs", "0"], NO_ZERO_ENVS),
        (["bench", "--env", "ball", "--n-envs", "0"], NO_ZERO_ENVS),
        (["eval", "--env", "ball", "--episodes", "-1"], "episodes (--episodes) must be at least 1"),
        (["run", "--env", "ball", "--steps", "-5"], "steps (--steps) must be at least 1, got -5"),
        (["check", "--env", "ball", "--steps", "-5"], "steps (--steps) must be at least 1"),
        (["train", "--env", "ball", "--timesteps", "-1"], "timesteps (--timesteps) must be at"),
        (["bench", "--env", "ball", "--sb3", "-1"], "sb3_timesteps (--sb3) must be at least 1"),
        (["check", "--env", "ball", "--only", "nope"], "unknown check(s) nope for --only; known:"),
        # env options outside their declared range, or not finite (1e400 parses as inf)
        (["train", "--env", "motorcycle", "-o", "course_length=1e7"],
         "option 'course_length' must be 10 .. 2000, got 10000000.0"),
        (["train", "--env", "motorcycle", "-o", "course_length=1e12"], "must be 10 .. 2000"),
        (["run", "--env", "motorcycle", "-o", "wind_frequency=1e12"], "must be 0 .. 5"),
        (["eval", "--env", "motorcycle", "-o", "wind_strength=-3"], "must be 0 .. 20, got -3"),
        (["train", "--env", "motorcycle", "-o", "crash_penalty=1e400"], "must be finite, got inf"),
        (["play", "--env", "parking3d", "-o", "target_bay=99"], "must be -1 .. 15, got 99"),
    ],
)
def test_out_of_range_settings_fail_before_launch_in_one_line(args, message):
    result = CliRunner().invoke(main, args)  # fails before Godot starts: needs no Godot
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1, result.output  # one line, no traceback
    assert "Traceback" not in result.output and not isinstance(result.exception, ValueError)


def test_config_checks_hold_for_the_python_api_too():
    from rlgodot.core.errors import InvalidOption
    from rlgodot.core.jobs.config import EvalConfig, TrainConfig
    from rlgodot.core.jobs.evaluate import evaluate

    with pytest.raises(InvalidOption, match="n_envs"):
        TrainConfig(env="ball", n_envs=0)
    with pytest.raises(InvalidOption, match="algo"):
        EvalConfig(env="ball", algo="a2c")
    with pytest.raises(InvalidOption, match="episodes"):
        evaluate("ball", episodes=-3)


def test_help_shows_the_configs_defaults_and_choices():
    def help_of(command):
        return " ".join(invoke(command, "--help").output.split())

    train = help_of("train")
    assert "--algo [ppo|dqn]" in train and "[default: ppo]" in train
    assert "--backend [sb3|rllib]" in train and "--no-progress" in train
    assert "--hp NAME=VALUE" in train and "-o, --option NAME=VALUE" in train
    assert "[default: 10]" in help_of("eval")
    assert "[default: 10000]" in help_of("run")
    bench = help_of("bench")
    assert "[default: 64]" in bench and "--procs" in bench and "--sb3 TIMESTEPS" in bench
