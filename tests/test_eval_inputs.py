"""``rlgodot eval`` inputs: the model's saved options, and bad models refused before Godot."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from click.testing import CliRunner

from rlgodot.cli.main import main
from rlgodot.core.errors import RLGodotError
from rlgodot.core.jobs.evaluate import evaluate
from rlgodot.core.jobs.models import shipped_model_path
from rlgodot.core.plugin.registry import get_registry

pytestmark = pytest.mark.godot


@pytest.fixture
def ball_model(tmp_path):
    """The shipped ball model, saved as a run would with option target_radius=50 (every
    episode then succeeds at its first step)."""
    path = tmp_path / "model.zip"
    shutil.copy(get_registry().get("ball").model, path)
    path.with_suffix(".json").write_text(json.dumps(
        {"algo": "ppo", "env_id": "ball-v0", "options": {"target_radius": 50.0}}
    ))
    return path


def test_eval_uses_the_models_saved_options(godot_binary, ball_model):
    result = evaluate("ball", model=ball_model, episodes=2, seed=0)
    assert result.options == {"target_radius": 50.0}
    assert result.mean_length == 1.0 and result.success_rate == 1.0
    default = get_registry().get("ball").options["target_radius"].default
    result = evaluate("ball", model=ball_model, episodes=2, seed=0,
                      options={"target_radius": default})
    assert result.options == {"target_radius": default} and result.mean_length > 1.0


def test_eval_prints_the_options_used(godot_binary, ball_model):
    out = CliRunner().invoke(main, ["eval", "--env", "ball", "--model", str(ball_model),
                                    "--episodes", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert "options: target_radius=50.0" in out.output
    assert json.loads(out.output.splitlines()[-1])["options"] == {"target_radius": 50.0}


def _no_godot(monkeypatch, tmp_path):
    """Any attempt to start Godot now fails differently from the errors under test."""
    monkeypatch.setenv("GODOT_BIN", str(tmp_path / "no-godot-here"))


def test_model_with_other_spaces_fails_before_godot(monkeypatch, tmp_path):
    lone = tmp_path / "lone.zip"  # no model.json: nothing says which env it is for
    shutil.copy(get_registry().get("ball-discrete").model, lone)
    _no_godot(monkeypatch, tmp_path)
    with pytest.raises(RLGodotError, match=r"action space Discrete\(\d+\) but ball-v0 has Box"):
        evaluate("ball", model=lone, algo="dqn", episodes=1)


def test_model_directory_without_a_model_says_so(monkeypatch, tmp_path):
    _no_godot(monkeypatch, tmp_path)
    with pytest.raises(RLGodotError, match="directory holding no model"):
        evaluate("ball", model=tmp_path, episodes=1)
    out = CliRunner().invoke(main, ["eval", "--env", "ball", "--model", str(tmp_path)])
    assert out.exit_code != 0 and "directory holding no model" in out.output


def test_shipped_model_outside_the_plugin_is_not_loaded(tmp_path):
    """Loading a model unpickles it (runs code): eval auto-loads only the plugin's own file."""
    outside = tmp_path / "elsewhere.zip"
    spec = get_registry().get("ball")
    shutil.copy(spec.model, outside)
    with pytest.raises(RLGodotError, match="outside its plugin package"):
        shipped_model_path(dataclasses.replace(spec, model=outside))
