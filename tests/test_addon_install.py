"""``rlgodot addon install``: the addon copied into your own Godot project, enabled, loading."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from conftest import run_godot_script
from rlgodot.cli.main import main
from rlgodot.core.runtime.launcher.addon_install import install_addon

OTHER_PLUGIN = '"res://addons/other/plugin.cfg"'


def _project(root: Path, extra: str = "") -> Path:
    root.mkdir()
    (root / "project.godot").write_text(
        'config_version=5\n\n[application]\n\nconfig/name="my game"\n' + extra
    )
    return root


def test_install_copies_enables_and_reports_the_version(tmp_path):
    project = _project(tmp_path / "game")
    result = CliRunner().invoke(main, ["addon", "install", str(project)])
    assert result.exit_code == 0, result.output
    assert "rlgodot addon 0.1.0" in result.output and "(new)" in result.output
    assert (project / "addons/rlgodot/agent/rl_agent.gd").is_file()
    text = (project / "project.godot").read_text()
    assert text.count("res://addons/rlgodot/plugin.cfg") == 1
    assert 'config/name="my game"' in text


def test_reinstall_updates_in_place_and_keeps_other_plugins(tmp_path):
    project = _project(tmp_path / "game",
                       f"\n[editor_plugins]\n\nenabled=PackedStringArray({OTHER_PLUGIN})\n")
    stale = project / "addons/rlgodot/stale.gd"
    stale.parent.mkdir(parents=True)
    stale.write_text("extends Node\n")
    (project / "addons/rlgodot/plugin.cfg").write_text('[plugin]\nversion="0.0.9"\n')
    first = install_addon(project)
    assert (first.previous, first.enabled) == ("0.0.9", True)
    assert not stale.exists(), "an update replaces the whole addon folder"
    second = install_addon(project)
    assert (second.previous, second.enabled) == ("0.1.0", False)
    text = (project / "project.godot").read_text()
    assert f'enabled=PackedStringArray({OTHER_PLUGIN}, "res://addons/rlgodot/plugin.cfg")' in text


def test_a_folder_without_project_godot_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["addon", "install", str(tmp_path)])
    assert result.exit_code != 0
    assert "is not a Godot project (no project.godot)" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_installed_addon_loads_in_godot(godot_binary, tmp_path):
    """Godot imports the project with the addon enabled, and its classes resolve."""
    project = _project(tmp_path / "game")
    install_addon(project)
    out = run_godot_script(godot_binary.command, project, "check.gd",
        "extends SceneTree\n\n\nfunc _init() -> void:\n"
        "\tvar agent: RLAgent = RLAgent.new()\n"
        "\tprint(\"RLAGENT_OK \", agent.key_axis([], []))\n\tagent.free()\n\tquit()\n"
    )
    assert "RLAGENT_OK 0" in out, out
