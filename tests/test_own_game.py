"""docs/OWN_GAME.md, followed literally: every command of its ``sh`` blocks, in order.

The "existing game" is a small Godot project made here, outside the repository, with a scene
and a script of its own. The commands run as a user types them, with three substitutions a
test needs: ``~/mygame`` is that project; ``pip install -e PKG`` installs PKG into a folder of
this test (``--target``, put on ``PYTHONPATH``) instead of the test's own virtualenv; and the
``godot`` of step 3 (the terminal equivalent of the editor's F6) is the Godot of the tests, in a
window on a private Xvfb. ``runs/<run>`` is the run the previous ``train`` wrote. The game is
then attached to by ``train --attach`` and ``eval --attach --render`` while it keeps running.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlgodot.core.runtime.launcher import GodotBinary, GodotProcess, _spawn
from rlgodot.core.runtime.launcher.display import VirtualDisplay

pytestmark = [pytest.mark.godot, pytest.mark.expensive]

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "OWN_GAME.md"
PROJECT_PLACEHOLDER = "~/mygame"
RUN_PLACEHOLDER = "runs/<run>"
WAITING = "rlgodot: waiting for a trainer on 127.0.0.1:"

# The existing game: a main scene with a player the keyboard moves (its own typed script).
GAME_FILES = {
    "project.godot": (
        'config_version=5\n\n[application]\n\nconfig/name="My Game"\n'
        'run/main_scene="res://main.tscn"\n'
    ),
    "player.gd": (
        "extends CharacterBody2D\n\n"
        "const SPEED: float = 200.0\n\n\n"
        "func _physics_process(_delta: float) -> void:\n"
        '\tvelocity = Input.get_vector("ui_left", "ui_right", "ui_up", "ui_down") * SPEED\n'
        "\tmove_and_slide()\n"
    ),
    "main.tscn": (
        '[gd_scene load_steps=2 format=3]\n\n'
        '[ext_resource type="Script" path="res://player.gd" id="1"]\n\n'
        '[node name="Main" type="Node2D"]\n\n'
        '[node name="Player" type="CharacterBody2D" parent="."]\n'
        'script = ExtResource("1")\n'
    ),
}


def tutorial_commands() -> list[str]:
    """Every command line of the tutorial's ``sh`` blocks, in order."""
    blocks = re.findall(r"^```sh\n(.*?)^```", TUTORIAL.read_text(), flags=re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


@pytest.fixture
def display(xvfb: str) -> Iterator[str]:
    with VirtualDisplay.start() as virtual:
        yield virtual.name


class Tutorial:
    """Runs the tutorial's commands in a working folder, with the test's substitutions."""

    def __init__(self, work: Path, project: Path, godot: GodotBinary, display: str) -> None:
        self.work = work
        self.project = project
        self.godot = godot
        self.display = display
        self.site = work.parent / "site"
        self.game: GodotProcess | None = None
        self.outputs: list[tuple[str, str]] = []

    def run(self, line: str) -> str:
        line = line.replace(PROJECT_PLACEHOLDER, str(self.project))
        if RUN_PLACEHOLDER in line:
            line = line.replace(RUN_PLACEHOLDER, str(self.latest_run().relative_to(self.work)))
        args = shlex.split(line)
        if args[0] == "godot":
            return self.start_game(args[1:])
        if args[:3] == ["pip", "install", "-e"]:
            args = [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check",
                    "--target", str(self.site), args[3]]
        elif args[0] == "rlgodot":
            args = [sys.executable, "-m", "rlgodot.cli.main", *args[1:]]
        else:
            raise AssertionError(f"the tutorial runs a command this test does not know: {line}")
        env = {**os.environ, "PYTHONPATH": str(self.site), "DISPLAY": self.display}
        done = subprocess.run(args, cwd=self.work, env=env, capture_output=True, text=True,
                              timeout=900)
        output = done.stdout + done.stderr
        self.outputs.append((line, output))
        assert done.returncode == 0, f"'{line}' failed ({done.returncode}):\n{output[-3000:]}"
        return output

    def start_game(self, args: list[str]) -> str:
        """The game of step 3, in a window, left running for the trainers that attach."""
        command = [*self.godot.command, "--display-driver", "x11", "--rendering-driver",
                   "opengl3", *args]
        env = {**os.environ, "DISPLAY": self.display}
        env.pop("WAYLAND_DISPLAY", None)
        popen = _spawn.popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env)
        self.game = GodotProcess(popen, command)  # drains its output; ended at the end
        return self.wait_for_game(WAITING, occurrences=1)

    def wait_for_game(self, text: str, occurrences: int, timeout: float = 60.0) -> str:
        assert self.game is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tail = self.game.output_tail(400)
            if tail.count(text) >= occurrences:
                return tail
            assert self.game.poll() is None, f"the game exited:\n{tail}"
            time.sleep(0.1)
        raise AssertionError(f"{text!r} x{occurrences} not in the game's output:\n"
                             f"{self.game.output_tail(40)}")

    def latest_run(self) -> Path:
        runs = sorted((self.work / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
        assert runs, "no run folder: the tutorial evaluates before it trains"
        return runs[-1]


def test_the_tutorial_as_written(tmp_path: Path, godot_binary: GodotBinary, display: str):
    project = tmp_path / "home" / "mygame"
    project.mkdir(parents=True)
    for name, text in GAME_FILES.items():
        (project / name).write_text(text)
    work = tmp_path / "home" / "work"
    work.mkdir()
    tutorial = Tutorial(work, project, godot_binary, display)
    commands = tutorial_commands()
    assert any(c.startswith("godot ") for c in commands), "the tutorial no longer starts a game"
    try:
        for line in commands:
            output = tutorial.run(line)
            if line.startswith("rlgodot eval"):
                success = re.search(r"success (\d+)%", output)
                assert success and int(success.group(1)) >= 80, output
            if line.startswith("rlgodot check"):
                assert re.search(r"\b\d+ passed, 0 failed", output), output
        # Both kinds of training ran: headless (launched) and in the game's window (attached).
        train_lines = [line for line, _ in tutorial.outputs if line.startswith("rlgodot train")]
        assert any("--attach" in line for line in train_lines)
        assert any("--attach" not in line for line in train_lines)
        assert tutorial.game is not None and tutorial.game.poll() is None, (
            "the game must keep running after its trainers left")
        attached = sum("--attach" in line for line, _ in tutorial.outputs)
        tutorial.wait_for_game("the trainer left", occurrences=attached)
        tutorial.wait_for_game(WAITING, occurrences=attached + 1)
    finally:
        if tutorial.game is not None:
            tutorial.game.terminate()
    # The game's own files are untouched; project.godot only gained the enabled plugin.
    for name in ("player.gd", "main.tscn"):
        assert (project / name).read_text() == GAME_FILES[name]
    settings = (project / "project.godot").read_text()
    assert 'run/main_scene="res://main.tscn"' in settings
    assert "res://addons/rlgodot/plugin.cfg" in settings
