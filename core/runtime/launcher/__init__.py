"""Find or provision Godot, assemble the runnable project, spawn and supervise processes.

Also the private virtual display (Xvfb) a rendering Godot draws on where there is no screen.
"""

from rlgodot.core.runtime.launcher.binary import (
    GodotBinary,
    cache_dir,
    check_godot,
    find_godot,
    provision_godot,
)
from rlgodot.core.runtime.launcher.display import VirtualDisplay
from rlgodot.core.runtime.launcher.process import (
    GodotCommand,
    GodotProcess,
    live_processes,
    terminate_all,
)
from rlgodot.core.runtime.launcher.project import (
    ProjectFile,
    assemble_project,
    merge_project_settings,
    project_key,
)

__all__ = [
    "GodotBinary",
    "GodotCommand",
    "GodotProcess",
    "ProjectFile",
    "VirtualDisplay",
    "assemble_project",
    "cache_dir",
    "check_godot",
    "find_godot",
    "live_processes",
    "merge_project_settings",
    "project_key",
    "provision_godot",
    "terminate_all",
]
