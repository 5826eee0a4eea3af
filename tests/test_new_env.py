"""``rlgodot new-env``: the packages it writes install with pip, pass ``rlgodot check`` and train.

Each package is installed as a user would (a regular ``pip install``, not editable) into a
private site directory, and driven by the ``rlgodot`` command in a subprocess that sees it.
About 3 minutes in all on a busy 2-vCPU machine: ``check`` on the 2D and the 3D package
(45-60 s each, a fresh project import included), the 2D package's own pytest (~25 s) and the
training run with its two evaluations (~40 s, marked ``expensive``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import run_godot_script
from rlgodot.cli.main import main
from rlgodot.core.jobs.config import NewEnvConfig
from rlgodot.core.jobs.new_env import new_env
from rlgodot.core.runtime.launcher.project import addon_dir

REPO = Path(__file__).parent.parent

# The --project mode writes specs with EnvSpec(project=...) and a train.tscn holding the addon's
# RLServer: both come from other parts of issue 15. Until they are merged these tests skip.
needs_rl_server = pytest.mark.skipif(
    not (addon_dir() / "sim" / "rl_server.gd").is_file(),
    reason="needs the addon's RLServer (issue 15, attach): runs once it is merged",
)


@dataclass(frozen=True)
class Installed:
    """A package written by new-env and pip-installed into its own site directory."""

    env_id: str
    package_dir: Path
    site: Path


def _rlgodot(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``rlgodot ARGS`` in a subprocess whose Python also sees the packages in ``site``."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "rlgodot.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def _pip_install(package_dir: Path, site: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), str(package_dir)],
        check=True,
    )


def _godot_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "project.godot").write_text('config_version=5\n\n[application]\n\n'
                                        'config/name="my game"\n')
    return root


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Installed]:
    """A 2D and a 3D package, written by the command (run from their folder) and installed."""
    made = {}
    for dimensions, name in (("2d", "my-reach"), ("3d", "my-reach3d")):
        work = tmp_path_factory.mktemp(f"new-env-{dimensions}")
        wrote = _rlgodot(work, "new-env", name, f"--{dimensions}", cwd=work)
        assert wrote.returncode == 0, wrote.stdout + wrote.stderr
        package_dir = work / f"rlgodot-{name}"
        _pip_install(package_dir, work / "site")
        made[dimensions] = Installed(f"{name}-v0", package_dir, work / "site")
    return made


# ------------------------------------------------------------------ what it writes


def test_the_package_layout_and_names(packages):
    package = packages["2d"].package_dir
    files = sorted(p.relative_to(package).as_posix() for p in package.rglob("*")
                   if p.is_file() and "build" not in p.parts and ".egg-info" not in str(p))
    assert files == [
        ".gitignore", "README.md", "pyproject.toml",
        "rlgodot_my_reach/__init__.py", "rlgodot_my_reach/env.py",
        "rlgodot_my_reach/godot/my_reach.tscn", "rlgodot_my_reach/godot/my_reach_agent.gd",
        "rlgodot_my_reach/models/.gitkeep", "tests/test_my_reach.py",
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points.rlgodot]\nmy-reach = "rlgodot_my_reach"' in pyproject
    assert '"rlgodot_my_reach" = ["godot/**/*", "models/*"]' in pyproject
    # A regular (not editable) install carries the scene.
    installed = packages["2d"].site / "rlgodot_my_reach" / "godot"
    assert sorted(p.name for p in installed.iterdir()) == ["my_reach.tscn", "my_reach_agent.gd"]
    scene = (installed / "my_reach.tscn").read_text()
    assert 'path="res://envs/my_reach/my_reach_agent.gd"' in scene


def test_the_3d_switch_writes_the_3d_scene(packages):
    package = packages["3d"].package_dir / "rlgodot_my_reach3d"
    assert "RigidBody3D" in (package / "godot" / "my_reach3d.tscn").read_text()
    assert '"fell"' in (package / "env.py").read_text()


def test_the_python_it_writes_is_ruff_clean(packages):
    """Checked with rlgodot's own rules (docstrings, imports, complexity)."""
    for installed in packages.values():
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
             str(REPO / "pyproject.toml"), str(installed.package_dir)],
            capture_output=True, text=True,
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


# ------------------------------------------------------------------ it works untouched


def test_the_installed_packages_are_listed(packages):
    for installed in packages.values():
        listed = _rlgodot(installed.site, "list-envs")
        assert listed.returncode == 0, listed.stderr
        assert installed.env_id in listed.stdout
        assert "failed to load" not in listed.stderr


@pytest.mark.godot
@pytest.mark.parametrize("dimensions", ["2d", "3d"])
def test_the_package_passes_check_untouched(packages, godot_binary, dimensions):
    installed = packages[dimensions]
    check = _rlgodot(installed.site, "check", "--env", installed.env_id)
    assert check.returncode == 0, check.stdout + check.stderr
    assert " passed, 0 failed" in check.stdout


@pytest.mark.godot
def test_the_packages_own_tests_pass(packages, godot_binary):
    """``pytest`` in the package folder: the conformance suite on its env, plus its own test."""
    installed = packages["2d"]
    env = {**os.environ, "PYTHONPATH": str(installed.site)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rlgodot-steps", "300"],
        cwd=installed.package_dir, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "9 passed" in run.stdout, run.stdout


@pytest.mark.godot
@pytest.mark.expensive
def test_the_2d_package_beats_random_after_20000_steps(packages, godot_binary, tmp_path):
    """`rlgodot train --timesteps 20000` (~15 s here), then 30 seeded episodes of each policy.

    Measured over training seeds 0-2: 93-100 % success and a mean return of 3.96-4.17, against
    0 % and -1.65 for random actions (a margin of 5.6 or more); asserted with slack.
    """
    installed = packages["2d"]
    train = _rlgodot(installed.site, "train", "--env", installed.env_id, "--timesteps", "20000",
                     "--seed", "0", "--no-progress", "--output-dir", str(tmp_path))
    assert train.returncode == 0, train.stdout + train.stderr
    (model,) = tmp_path.glob("*/model.zip")
    results = {}
    for policy in (["--model", str(model)], ["--random"]):
        run = _rlgodot(installed.site, "eval", "--env", installed.env_id, *policy,
                       "--episodes", "30", "--seed", "100", "--json")
        assert run.returncode == 0, run.stdout + run.stderr
        results[policy[0]] = json.loads(run.stdout.splitlines()[-1])
    trained, baseline = results["--model"], results["--random"]
    assert trained["success_rate"] >= 0.6, trained
    assert baseline["success_rate"] <= 0.1, baseline
    assert trained["mean_return"] > baseline["mean_return"] + 3.0, (trained, baseline)


# ------------------------------------------------------------------ --project


@pytest.mark.godot
def test_project_mode_writes_the_scene_and_a_train_scene_into_the_project(tmp_path, godot_binary):
    game = _godot_project(tmp_path / "game")
    made = new_env(NewEnvConfig(name="my-game", project=game, out=tmp_path / "packages"))
    assert made.scene_dir == game / "rl" / "my_game"
    assert sorted(p.name for p in made.scene_dir.iterdir() if p.suffix != ".uid") == [
        "my_game.tscn", "my_game_agent.gd", "train.tscn"]
    # Imported, so its scenes run from a terminal at once (class names resolve).
    assert made.imported
    assert "RLServer" in (game / ".godot" / "global_script_class_cache.cfg").read_text()
    assert 'path="res://rl/my_game/my_game_agent.gd"' in (
        made.scene_dir / "my_game.tscn").read_text()
    train = (made.scene_dir / "train.tscn").read_text()
    assert 'path="res://addons/rlgodot/sim/rl_server.gd"' in train
    assert 'path="res://rl/my_game/my_game.tscn"' in train
    assert "env_scene = ExtResource(" in train and "allow_attach = true" in train
    # The project had no addon: it has one now, enabled.
    assert made.addon is not None and (game / "addons/rlgodot/plugin.cfg").is_file()
    assert "res://addons/rlgodot/plugin.cfg" in (game / "project.godot").read_text()
    env_py = (made.package_dir / "rlgodot_my_game" / "env.py").read_text()
    assert f"project=Path({json.dumps(str(game))})," in env_py
    assert 'scene="res://rl/my_game/my_game.tscn",' in env_py
    assert "godot_dir" not in env_py
    assert not (made.package_dir / "rlgodot_my_game" / "godot").exists()
    # A second env in the same project leaves its addon alone.
    again = new_env(NewEnvConfig(name="other", dimensions="3d", project=game,
                                 out=tmp_path / "packages"))
    assert again.addon is None and (game / "rl/other/other.tscn").is_file()


@pytest.mark.godot
def test_project_mode_package_passes_check(tmp_path, godot_binary):
    game = _godot_project(tmp_path / "game")
    made = new_env(NewEnvConfig(name="my-game", project=game, out=tmp_path))
    _pip_install(made.package_dir, tmp_path / "site")
    check = _rlgodot(tmp_path / "site", "check", "--env", made.env_id, "--steps", "300")
    assert check.returncode == 0, check.stdout + check.stderr
    assert " passed, 0 failed" in check.stdout


@needs_rl_server
@pytest.mark.godot
def test_project_mode_train_scene_loads_with_its_env_scene(tmp_path, godot_binary):
    """Godot loads train.tscn: an RLServer, the env scene set, attaching allowed."""
    game = _godot_project(tmp_path / "game")
    new_env(NewEnvConfig(name="my-game", project=game, out=tmp_path))
    out = run_godot_script(godot_binary.command, game, "probe.gd",
        "extends SceneTree\n\n\nfunc _init() -> void:\n"
        '\tvar scene: PackedScene = load("res://rl/my_game/train.tscn") as PackedScene\n'
        "\tvar server: Node = scene.instantiate()\n"
        '\tvar env_scene: PackedScene = server.get("env_scene") as PackedScene\n'
        '\tprint("PROBE ", server is RLServer, " ", env_scene.resource_path, " ",\n'
        '\t\t\tserver.get("allow_attach"))\n'
        "\tserver.free()\n\tquit()\n"
    )
    assert "PROBE true res://rl/my_game/my_game.tscn true" in out, out


# ------------------------------------------------------------------ refusals, in one line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Reach"], "env name 'Reach' is not allowed: use lower-case letters"),
        (["my reach"], "is not allowed"),
        (["-x"], "No such option"),
        (["reach-v1"], "env name 'reach-v1' is not allowed"),
        (["reach_"], "is not allowed"),
        (["ball"], "the installed plugin 'ball' provides ball-v0 already"),
        (["reach", "--project", "."], "is not a Godot project (no project.godot)"),
    ],
)
def test_bad_input_is_a_one_line_error_and_writes_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new-env", *args])
    assert result.exit_code != 0
    assert message in result.output
    if "No such option" not in message:
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "rlgodot-reach").mkdir()
    (tmp_path / "rlgodot-reach" / "mine.txt").write_text("keep")
    result = CliRunner().invoke(main, ["new-env", "reach", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "rlgodot-reach exists already: remove it first" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert [p.name for p in (tmp_path / "rlgodot-reach").iterdir()] == ["mine.txt"]
    game = _godot_project(tmp_path / "game")
    (game / "rl" / "reach").mkdir(parents=True)
    result = CliRunner().invoke(main, ["new-env", "reach", "--project", str(game), "--out",
                                       str(tmp_path / "elsewhere")])
    assert "rl/reach exists already" in result.output
    assert not (tmp_path / "elsewhere").exists()
