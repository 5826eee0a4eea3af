"""The rlgodot addon inside a user's own Godot project: install, update, check its version.

``rlgodot addon install PATH`` calls :func:`install_addon`; launching an env whose spec names a
``project`` calls :func:`ensure_addon` first, which installs the addon into a project that has
none and refuses one whose addon is another version than this Python package (the two speak
one protocol version; the hello checks it again on the wire).
"""

from __future__ import annotations

import configparser
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rlgodot.core import __version__
from rlgodot.core.errors import AddonVersionMismatch, ProjectError
from rlgodot.core.runtime.launcher.project import addon_dir

ADDON_RES_DIR = "addons/rlgodot"
PLUGIN_CFG = "res://addons/rlgodot/plugin.cfg"
_ENABLED_LINE = re.compile(r"^enabled=PackedStringArray\((.*)\)\s*$")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddonInstall:
    """What :func:`install_addon` did.

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
        ProjectError: ``project`` is not a Godot project folder (no ``project.godot``), or a
            file cannot be written.
    """
    root = _project_root(project)
    target = root / ADDON_RES_DIR
    previous = installed_addon_version(root) if target.is_dir() else None
    try:
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(addon_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        enabled = _enable_plugin(root / "project.godot")
    except OSError as exc:
        raise ProjectError(
            f"cannot install the addon into {root}: {exc}; check the permissions of the "
            "project folder"
        ) from exc
    return AddonInstall(target, _version(target / "plugin.cfg") or "unknown", previous, enabled)


def ensure_addon(project: Path | str) -> AddonInstall | None:
    """Make sure ``project`` holds this package's addon: install it if absent, else check it.

    Returns:
        What was installed, or None when the project had the right addon already.

    Raises:
        ProjectError: ``project`` is not a Godot project, or the install failed.
        AddonVersionMismatch: The project's addon is another version than this package.
    """
    root = _project_root(project)
    if not (root / ADDON_RES_DIR / "plugin.cfg").is_file():
        installed = install_addon(root)
        log.info("installed the rlgodot addon %s into %s", installed.version, installed.path)
        return installed
    version = installed_addon_version(root)
    if version != __version__:
        raise AddonVersionMismatch(
            f"the rlgodot addon in {root / ADDON_RES_DIR} is version {version or 'unknown'}, "
            f"this Python package is {__version__}: update the addon with 'rlgodot addon "
            f"install {root}' (or install rlgodot=={version})"
        )
    return None


def installed_addon_version(project: Path | str) -> str | None:
    """The ``version`` of the addon installed in ``project``, or None if it has none."""
    return _version(Path(project) / ADDON_RES_DIR / "plugin.cfg")


def _project_root(project: Path | str) -> Path:
    root = Path(project).expanduser().resolve()
    if not (root / "project.godot").is_file():
        raise ProjectError(
            f"{root} is not a Godot project (no project.godot): pass the folder that holds "
            "project.godot, or create the project in the Godot editor first"
        )
    return root


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
        end = next(
            (i for i in range(section + 1, len(lines)) if lines[i].startswith("[")), len(lines)
        )
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
