"""``rlgodot addon install``: put the rlgodot addon into an existing Godot project and enable it."""

from __future__ import annotations

import configparser
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rlgodot.core.errors import RLGodotError
from rlgodot.core.runtime.launcher.project import addon_dir

ADDON_RES_DIR = "addons/rlgodot"
PLUGIN_CFG = "res://addons/rlgodot/plugin.cfg"
_ENABLED_LINE = re.compile(r"^enabled=PackedStringArray\((.*)\)\s*$")


@dataclass(frozen=True)
class AddonInstall:
    """What ``install_addon`` did.

    Attributes:
        path: The addon folder in the project (``<project>/addons/rlgodot``).
        version: The version installed (the addon's ``plugin.cfg``).
        previous: The version it replaced, or None for a fresh install.
        enabled: True when this install enabled the editor plugin in ``project.godot`` (False:
            it was enabled already).
    """

    path: Path
    version: str
    previous: str | None
    enabled: bool


def install_addon(project: Path | str) -> AddonInstall:
    """Copy (or update) the addon into ``project`` and enable its editor plugin.

    The project's ``addons/rlgodot`` is replaced as a whole by this rlgodot's addon (the
    version the Python side speaks to); nothing else in the project changes except the
    ``[editor_plugins]`` line of ``project.godot``.

    Raises:
        RLGodotError: ``project`` is not a Godot project folder (no ``project.godot``), or a
            file cannot be written.
    """
    root = Path(project).expanduser().resolve()
    settings = root / "project.godot"
    if not settings.is_file():
        raise RLGodotError(
            f"{root} is not a Godot project (no project.godot): pass the folder that holds "
            "project.godot, or create the project in the Godot editor first"
        )
    target = root / ADDON_RES_DIR
    previous = _version(target / "plugin.cfg") if target.is_dir() else None
    source = addon_dir()
    try:
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        enabled = _enable_plugin(settings)
    except OSError as exc:
        raise RLGodotError(f"cannot install the addon into {root}: {exc}; check the "
                           "permissions of the project folder") from exc
    return AddonInstall(target, _version(target / "plugin.cfg") or "unknown", previous, enabled)


def _version(plugin_cfg: Path) -> str | None:
    """The ``version`` of a ``plugin.cfg``, or None if it has none (or is unreadable)."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(plugin_cfg.read_text())
    except (OSError, configparser.Error):
        return None
    value = parser.get("plugin", "version", fallback=None)
    return value.strip('"') if value else None


def _enable_plugin(settings: Path) -> bool:
    """Add the addon to ``[editor_plugins] enabled``; False when it is listed already."""
    lines = settings.read_text().splitlines()
    section = next((i for i, line in enumerate(lines) if line.strip() == "[editor_plugins]"), None)
    if section is None:
        lines += ["", "[editor_plugins]", "", f'enabled=PackedStringArray("{PLUGIN_CFG}")']
    else:
        end = next((i for i in range(section + 1, len(lines)) if lines[i].startswith("[")),
                   len(lines))
        index = next((i for i in range(section + 1, end) if _ENABLED_LINE.match(lines[i])), None)
        if index is None:
            lines.insert(section + 1, f'enabled=PackedStringArray("{PLUGIN_CFG}")')
        else:
            listed = _ENABLED_LINE.match(lines[index]).group(1)  # type: ignore[union-attr]
            if f'"{PLUGIN_CFG}"' in listed:
                return False
            items = [item for item in (listed.strip(), f'"{PLUGIN_CFG}"') if item]
            lines[index] = f"enabled=PackedStringArray({', '.join(items)})"
    settings.write_text("\n".join(lines) + "\n")
    return True
