"""Launcher: finding Godot, assembling projects, spawning and always stopping processes.

Fake ``godot`` shell scripts cover the error paths; the real (provisioned) Godot imports real
projects. Tests that need the real binary skip without it locally and fail under CI.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rlgodot.core.errors import GodotLaunchError, GodotNotFound, GodotVersionError, ProjectError
from rlgodot.core.runtime.launcher import (
    GodotBinary,
    GodotCommand,
    GodotProcess,
    assemble_project,
    cache_dir,
    find_godot,
    live_processes,
    merge_project_settings,
)
from rlgodot.core.runtime.launcher.binary import parse_version
from rlgodot.core.runtime.launcher.project import ProjectFile, project_key

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "godot" / "addons" / "rlgodot"


def write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def fake_binary(path: Path, body: str, version: tuple[int, int, int] = (4, 6, 0)) -> GodotBinary:
    write_script(path, body)
    return GodotBinary((str(path),), version, ".".join(map(str, version)), "test")


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No GODOT_BIN, an empty cache, and a PATH holding only tmp_path/bin (plus sh tools)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.delenv("GODOT_BIN", raising=False)
    monkeypatch.setenv("RLGODOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    for name in ("godot", "godot4"):
        assert not (Path("/usr/bin") / name).exists(), "a system godot would break isolation"
    return bin_dir


@pytest.fixture(scope="session")
def real_godot(godot_binary: GodotBinary) -> GodotBinary:
    return godot_binary


# ---------------------------------------------------------------------------- find_godot


def test_godot_bin_pointing_nowhere_is_a_clear_error(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("GODOT_BIN", "/nonexistent/godot")
    with pytest.raises(GodotNotFound) as info:
        find_godot()
    message = str(info.value)
    assert "GODOT_BIN" in message and "/nonexistent/godot" in message
    assert "rlgodot doctor --provision" in message


def test_wrong_godot_bin_is_not_skipped_even_if_path_has_a_good_one(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
):
    write_script(isolated_env / "godot", "echo 4.6.3.stable.official\n")
    monkeypatch.setenv("GODOT_BIN", str(write_script(isolated_env / "old", "echo 3.5.2.stable\n")))
    with pytest.raises(GodotVersionError, match="3.5.2"):
        find_godot()


def test_old_godot_on_path_is_a_version_error(isolated_env: Path):
    write_script(isolated_env / "godot", "echo 3.5.2.stable.official.170ba337a\n")
    with pytest.raises(GodotVersionError) as info:
        find_godot()
    message = str(info.value)
    assert "3.5.2" in message and "4.3" in message and "GODOT_BIN" in message


def test_old_godot_is_skipped_for_a_newer_godot4(isolated_env: Path):
    write_script(isolated_env / "godot", "echo 3.5.2.stable.official\n")
    write_script(isolated_env / "godot4", "echo 4.3.stable.official.77dcf97d8\n")
    found = find_godot()
    assert found.version == (4, 3, 0)
    assert found.command == (str(isolated_env / "godot4"),)
    assert found.source == "PATH"


def test_provisioned_launcher_in_cache_is_found(isolated_env: Path):
    launcher = cache_dir() / "bin" / "godot"
    launcher.parent.mkdir(parents=True)
    write_script(launcher, "echo 4.6.3.stable.debian4.6.3+ds-3\n")
    found = find_godot()
    assert (found.source, found.version) == ("cache", (4, 6, 3))


def test_nothing_found_says_what_to_do(isolated_env: Path):
    with pytest.raises(GodotNotFound, match="make setup"):
        find_godot()


def test_binary_that_prints_no_version(isolated_env: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GODOT_BIN", str(write_script(isolated_env / "x", "echo hello; exit 1\n")))
    with pytest.raises(GodotVersionError, match="no Godot version"):
        find_godot()


def test_not_godot_shows_the_start_of_its_output(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
):
    """What a wrong program prints first says what it is; its tail is usually noise."""
    body = "echo 'Python 3.11 usage: this is not Godot'; for i in $(seq 200); do echo noise; done\n"
    monkeypatch.setenv("GODOT_BIN", str(write_script(isolated_env / "x", body)))
    with pytest.raises(GodotVersionError, match="this is not Godot"):
        find_godot()


def test_godot_bin_may_be_a_command_line(isolated_env: Path, monkeypatch: pytest.MonkeyPatch):
    script = write_script(isolated_env / "wrapped", 'echo "4.4.1.stable $1"\n')
    monkeypatch.setenv("GODOT_BIN", f"{script.name} --some-flag")
    found = find_godot()
    assert found.command == (str(script), "--some-flag")
    assert found.version == (4, 4, 1)


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("4.3.stable.official.77dcf97d8", (4, 3, 0)),
        ("4.6.3.stable.debian4.6.3+ds-3", (4, 6, 3)),
        ("WARNING: no audio\n4.5.1.rc2.mono.official\n", (4, 5, 1)),
        ("Godot Engine", None),
    ],
)
def test_parse_version(output: str, version: tuple[int, int, int] | None):
    assert parse_version(output)[0] == version


def test_cache_dir_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("RLGODOT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "rlgodot"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache_dir() == Path.home() / ".cache" / "rlgodot"
    monkeypatch.setenv("RLGODOT_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"


def test_real_godot_version_is_what_the_binary_says(real_godot: GodotBinary):
    # find_godot() refuses < 4.3, so check the parse itself against the binary's own answer.
    out = subprocess.run(
        [*real_godot.command, "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    major, minor, patch = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", out.strip()).groups()
    assert real_godot.version == (int(major), int(minor), int(patch or 0))
    assert real_godot.version_text in out


# ---------------------------------------------------------------------------- project.godot


BASE = """\
; Engine configuration file.

config_version=5

[application]

config/name="rlgodot"
run/main_scene="res://addons/rlgodot/sim/bootstrap.tscn"

[input]

jump={
"deadzone": 0.5,
"events": [Object(InputEventKey,"keycode":32)]
}

[physics]

common/physics_ticks_per_second=60
"""


def test_merge_replaces_in_place_and_adds_keys_and_sections():
    merged = merge_project_settings(
        BASE,
        {
            "application": {"config/name": '"Ball"'},
            "physics": {"3d/physics_engine": '"Jolt Physics"'},
            "rendering": {"renderer/rendering_method": '"gl_compatibility"'},
        },
    )
    project = ProjectFile.parse(merged)
    assert project.get("application", "config/name") == '"Ball"'
    assert project.get("physics", "common/physics_ticks_per_second") == "60"
    assert project.get("physics", "3d/physics_engine") == '"Jolt Physics"'
    assert project.get("rendering", "renderer/rendering_method") == '"gl_compatibility"'
    assert merged.count("[application]") == 1 and merged.count("[physics]") == 1
    assert merged.count("config/name=") == 1
    assert merged.startswith("; Engine configuration file.")
    # The multi-line input map survives verbatim.
    assert '"events": [Object(InputEventKey,"keycode":32)]\n}' in merged
    assert ProjectFile.parse(merged).dumps() == merged


def test_merge_can_replace_a_multiline_value():
    merged = merge_project_settings(BASE, {"input": {"jump": "{}"}})
    assert ProjectFile.parse(merged).get("input", "jump") == "{}"
    assert "deadzone" not in merged


def test_malformed_project_file_or_settings_raise(tmp_path: Path, addon: Path):
    never_run = GodotBinary(("/nonexistent/godot",), (4, 6, 3), "4.6.3", "test")
    with pytest.raises(ProjectError, match="never closes"):
        ProjectFile.parse("[a]\nx={\n")
    with pytest.raises(ProjectError, match="not key=value"):
        ProjectFile.parse("[a]\njust words\n")
    for settings in ({"a": {"k": 1}}, {"a": {"k": "{"}}, {"a]": {"k": "1"}}, {"a": {"k=": "1"}}):
        with pytest.raises(ProjectError):
            assemble_project(addon, {}, settings, never_run, cache_root=tmp_path)


# ---------------------------------------------------------------------------- assembly


def make_mount(root: Path) -> Path:
    mount = root / "mini"
    mount.mkdir(parents=True)
    (mount / "notes.txt").write_text("hello")
    (mount / "project.godot").write_text("; a plugin author's editor project, must be skipped\n")
    (mount / ".godot").mkdir()
    (mount / ".godot" / "junk").write_text("editor cache, must be skipped")
    return mount


@pytest.fixture
def addon() -> Path:
    return ADDON


def test_assemble_project_builds_imports_and_hits_the_cache(
    tmp_path: Path, addon: Path, real_godot: GodotBinary
):
    mount = make_mount(tmp_path / "src")
    settings = {"application": {"config/name": '"Mini"'}}
    project = assemble_project(addon, {"mini": mount}, settings, real_godot, tmp_path / "cache")
    assert project.parent == tmp_path / "cache" / "projects"
    assert (project / ".godot").is_dir(), "the project was imported"
    assert (project / "addons" / "rlgodot" / "project_base.godot").is_file()
    assert (project / "envs" / "mini" / "notes.txt").read_text() == "hello"
    assert not (project / "envs" / "mini" / "project.godot").exists()
    assert not (project / "envs" / "mini" / ".godot").exists()
    text = (project / "project.godot").read_text()
    assert 'config/name="Mini"' in text and text.count("[application]") == 1
    assert not list(project.parent.glob(".tmp-*")), "no temporary build dir left behind"

    start = time.perf_counter()
    again = assemble_project(addon, {"mini": mount}, settings, real_godot, tmp_path / "cache")
    assert again == project
    assert time.perf_counter() - start < 0.5, "a warm cache must be near-instant"

    (mount / "notes.txt").write_text("changed")
    changed = assemble_project(addon, {"mini": mount}, settings, real_godot, tmp_path / "cache")
    assert changed != project
    other = assemble_project(addon, {"mini": mount}, {}, real_godot, tmp_path / "cache")
    assert other not in (project, changed)


def test_concurrent_assembly_from_two_processes(
    tmp_path: Path, addon: Path, real_godot: GodotBinary
):
    mount = make_mount(tmp_path / "src")
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from rlgodot.core.runtime.launcher import GodotBinary, assemble_project
        godot = GodotBinary({real_godot.command!r}, {real_godot.version!r},
                            {real_godot.version_text!r}, "test")
        print(assemble_project(Path({str(addon)!r}), {{"mini": Path({str(mount)!r})}}, {{}},
                               godot, Path({str(tmp_path / "cache")!r})))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    assert (Path(paths.pop()) / ".rlgodot-ready").is_file()
    assert len(list((tmp_path / "cache" / "projects").iterdir())) == 2  # the project + its lock


def test_import_failure_is_a_project_error_with_output(tmp_path: Path, addon: Path):
    broken = fake_binary(tmp_path / "godot", 'echo "SCRIPT ERROR: something broke"; exit 1\n')
    with pytest.raises(ProjectError, match="something broke"):
        assemble_project(addon, {}, {}, broken, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "projects").glob(".tmp-*"))


def test_project_key_covers_sources_settings_and_version(tmp_path: Path, addon: Path):
    mount = make_mount(tmp_path)
    one = GodotBinary(("godot",), (4, 6, 3), "4.6.3.stable", "test")
    two = GodotBinary(("godot",), (4, 5, 0), "4.5.stable", "test")
    key = project_key(addon, {"mini": mount}, {}, one)
    assert key == project_key(addon, {"mini": mount}, {}, one)
    assert key != project_key(addon, {"mini": mount}, {}, two)
    assert key != project_key(addon, {"mini": mount}, {"a": {"b": "1"}}, one)
    assert key != project_key(addon, {"other": mount}, {}, one)
    (mount / ".godot" / "junk").write_text("ignored")
    assert key == project_key(addon, {"mini": mount}, {}, one)


# ---------------------------------------------------------------------------- processes


LISTENING = "echo RLGODOT_LISTENING 43210\nexec sleep 600\n"


def test_godot_command_serve_and_play():
    godot = GodotBinary(("/g",), (4, 6, 3), "4.6.3", "test")
    serve = GodotCommand(godot, "/p", "res://envs/b/b.tscn", physics_hz=120, port=0).argv()
    assert serve == [
        "/g",
        "--headless",
        "--path",
        "/p",
        "--fixed-fps",
        "120",
        "res://addons/rlgodot/sim/bootstrap.tscn",
        "--",
        "--rlgodot-scene=res://envs/b/b.tscn",
        "--rlgodot-port=0",
        "--rlgodot-physics-hz=120",
    ]
    play = GodotCommand(godot, "/p", "res://envs/b/b.tscn", play=True, user_args=["--x"]).argv()
    assert "--headless" not in play and "--fixed-fps" not in play
    assert play[-3:] == ["--rlgodot-play", "--rlgodot-physics-hz=60", "--x"]


def test_godot_command_on_an_x_display(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    godot = GodotBinary(("/g",), (4, 6, 3), "4.6.3", "test")
    drawn = GodotCommand(godot, "/p", "res://envs/b/b.tscn", headless=False, display=":7")
    assert drawn.argv()[:6] == [
        "/g", "--display-driver", "x11", "--rendering-driver", "opengl3", "--path"
    ]
    env = drawn.environment()
    assert env["DISPLAY"] == ":7" and "WAYLAND_DISPLAY" not in env
    # headless draws nothing: the display is unused and the environment is left alone
    headless = GodotCommand(godot, "/p", "res://envs/b/b.tscn", display=":7")
    assert "--display-driver" not in headless.argv() and "--headless" in headless.argv()
    assert headless.environment()["DISPLAY"] == ":0"
    # a window on the inherited display: Godot chooses its drivers
    inherited = GodotCommand(godot, "/p", "res://envs/b/b.tscn", headless=False)
    assert "--display-driver" not in inherited.argv()
    assert inherited.environment()["WAYLAND_DISPLAY"] == "wayland-0"


def test_launch_reads_the_port_and_terminate_is_idempotent(tmp_path: Path):
    godot = fake_binary(tmp_path / "godot", LISTENING)
    command = GodotCommand(godot, tmp_path, "res://envs/x/x.tscn")
    with GodotProcess.launch(command, ready_timeout=10) as process:
        assert process.port == 43210
        assert process.describe() == f"Godot (pid {process.pid}, port 43210)"
        assert process in live_processes()
        assert process.poll() is None
    assert process.poll() == -signal.SIGTERM
    assert process not in live_processes()
    assert process.terminate() == -signal.SIGTERM  # again: no error


def test_launch_of_a_process_that_exits_reports_code_and_output(tmp_path: Path):
    godot = fake_binary(tmp_path / "godot", 'echo "ERROR: scene not found" >&2\nexit 2\n')
    with pytest.raises(GodotLaunchError) as info:
        GodotProcess.launch(GodotCommand(godot, tmp_path, "res://envs/x/x.tscn"), ready_timeout=10)
    message = str(info.value)
    assert "exit code 2" in message and "ERROR: scene not found" in message
    assert "RLAgent" in message  # the hint for exit code 2


def test_launch_timeout_terminates_the_process(tmp_path: Path):
    godot = fake_binary(tmp_path / "godot", "echo loading\nexec sleep 600\n")
    before = set(live_processes())
    start = time.monotonic()
    with pytest.raises(GodotLaunchError, match="did not print RLGODOT_LISTENING within 0.5 s"):
        GodotProcess.launch(GodotCommand(godot, tmp_path, "res://envs/x/x.tscn"), ready_timeout=0.5)
    assert time.monotonic() - start < 5
    assert set(live_processes()) == before


def test_output_is_drained_so_a_chatty_godot_never_blocks(tmp_path: Path):
    # 2 MB of output before the ready line would fill a 64 KiB pipe and hang without draining.
    body = "head -c 2000000 /dev/zero | tr '\\0' 'x' | fold -w 100\necho\n" + LISTENING
    godot = fake_binary(tmp_path / "godot", body)
    command = GodotCommand(godot, tmp_path, "res://envs/x/x.tscn")
    with GodotProcess.launch(command, ready_timeout=20) as process:
        assert process.port == 43210
        assert process.output_tail(1) == "RLGODOT_LISTENING 43210"


def test_cpu_pinning(tmp_path: Path):
    cpu = max(os.sched_getaffinity(0))
    godot = fake_binary(tmp_path / "godot", LISTENING)
    with GodotProcess.launch(GodotCommand(godot, tmp_path, "res://x.tscn"), cpu=cpu) as process:
        assert os.sched_getaffinity(process.pid) == {cpu}


def test_godot_dies_with_its_parent_even_on_sigkill(tmp_path: Path):
    godot = fake_binary(tmp_path / "godot", LISTENING)
    code = textwrap.dedent(
        f"""
        import threading, time
        from pathlib import Path
        from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, GodotProcess
        godot = GodotBinary(({str(godot.command[0])!r},), (4, 6, 0), "4.6.0", "test")
        box = []
        # Launched from a short-lived thread: the parent-death signal must not fire when
        # that thread ends, only when the process dies.
        t = threading.Thread(target=lambda: box.append(
            GodotProcess.launch(GodotCommand(godot, Path("."), "res://x.tscn"))))
        t.start(); t.join()
        print(box[0].pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        time.sleep(0.3)
        os.kill(child, 0)  # still alive after the launching thread ended
        assert os.getpgid(child) == os.getpgid(parent.pid), "Godot stays in our process group"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("Godot outlived its SIGKILLed parent")
    finally:
        parent.kill()
        parent.wait()


def test_atexit_terminates_live_processes(tmp_path: Path):
    godot = fake_binary(tmp_path / "godot", LISTENING)
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, GodotProcess
        from rlgodot.core.runtime.launcher import _spawn
        # No parent-death signal here: only the atexit handler can stop this Godot.
        _spawn._make_preexec = lambda parent_pid, cpu: None
        godot = GodotBinary(({str(godot.command[0])!r},), (4, 6, 0), "4.6.0", "test")
        print(GodotProcess.launch(GodotCommand(godot, Path("."), "res://x.tscn")).pid, flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    pid = int(out.stdout)
    try:
        time.sleep(0.2)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_bad_scene_with_the_real_addon_is_a_launch_error(
    tmp_path: Path, addon: Path, real_godot: GodotBinary
):
    project = assemble_project(addon, {}, {}, real_godot, tmp_path / "cache")
    with pytest.raises(GodotLaunchError) as info:
        GodotProcess.launch(
            GodotCommand(real_godot, project, "res://envs/none/none.tscn"), ready_timeout=20
        )
    assert "exit code 2" in str(info.value)
