"""``rlgodot new-env``: write a new env plugin package, working as it is, to start from.

The package (``<out>/rlgodot-<name>/``) holds a pyproject with the ``rlgodot`` entry point, the
EnvSpec and decoder (``rlgodot_<name>/env.py``), a 2D or 3D scene with its typed agent script,
a test file running the conformance suite and a README. With a Godot project, the scene, its
script and a ``train.tscn`` (an ``RLServer`` for the editor workflow) go into
``<project>/rl/<name>/`` instead, and the spec runs that project.

The files are made from the templates in ``templates/new_env/`` (package data): text with
``@@{placeholder}`` fields (``$`` is GDScript's node-path syntax, so not the usual delimiter).
Every file is rendered before the first is written, and nothing existing is overwritten.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

from rlgodot.core import __version__
from rlgodot.core.errors import GodotNotFound, RLGodotError
from rlgodot.core.jobs.config import NewEnvConfig
from rlgodot.core.runtime.launcher.addon_install import (
    ADDON_RES_DIR,
    AddonInstall,
    install_addon,
)
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.project import import_project

TEMPLATES = Path(__file__).parent / "templates" / "new_env"
PROJECT_SCENE_DIR = "rl"
"""Folder of a Godot project that ``--project`` writes ``<name>/`` into."""

SUMMARIES = {
    "2d": "push a body across a walled 2D arena onto a target.",
    "3d": "push a body across a 3D floor onto a target without falling off the edge.",
}


class _Template(string.Template):
    """``@@{name}`` placeholders; GDScript never writes ``@@``."""

    delimiter = "@@"


@dataclass(frozen=True)
class NewEnv:
    """What ``new_env`` wrote.

    Attributes:
        env_id: The new env's id (``<name>-v0``).
        package_dir: The plugin package folder (``<out>/rlgodot-<name>``).
        import_name: The package's import name (``rlgodot_<name>``, ``-`` as ``_``).
        scene_dir: The folder of the scene and its agent script (in the package, or
            ``<project>/rl/<name>``).
        files: Every file written, in the order written.
        addon: The addon installed into the project, or None (no project, or it had one).
        imported: The project was imported (``--project`` with a Godot found), so its scenes
            run from a terminal at once.
    """

    env_id: str
    package_dir: Path
    import_name: str
    scene_dir: Path
    files: tuple[Path, ...]
    addon: AddonInstall | None
    imported: bool = False


def new_env(config: NewEnvConfig, templates: Path = TEMPLATES) -> NewEnv:
    """Write the plugin package (and, with ``config.project``, the scene into that project).

    ``templates``: the template folder (the one shipped with rlgodot; the GDScript linter
    passes a source tree's).

    Raises:
        RLGodotError: The package folder or the project's scene folder exists already,
            ``config.project`` holds no ``project.godot``, an installed plugin has the env id
            already, or a file cannot be written.
    """
    name = config.name
    godot_name = name.replace("-", "_")
    package_dir = (config.out.expanduser() / f"rlgodot-{name}").resolve()
    if package_dir.exists():
        raise RLGodotError(f"{package_dir} exists already: remove it first, or write elsewhere "
                           "with --out DIR or another NAME")
    project = _checked_project(config.project, godot_name)
    _check_unused(f"{name}-v0")

    import_name = f"rlgodot_{godot_name}"
    if project is None:
        scene_dir = package_dir / import_name / "godot"
        res_dir = f"res://envs/{godot_name}"
    else:
        scene_dir = project / PROJECT_SCENE_DIR / godot_name
        res_dir = f"res://{PROJECT_SCENE_DIR}/{godot_name}"
    values = _values(config, godot_name, import_name, res_dir, project)
    files = _render_files(templates, config.dimensions, package_dir, import_name, scene_dir,
                          values, project is not None)

    written = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    except OSError as exc:
        raise RLGodotError(f"cannot write {exc.filename}: {exc.strerror}; check the "
                           "permissions of the folder") from exc
    addon = None
    imported = False
    if project is not None:
        if not (project / ADDON_RES_DIR / "plugin.cfg").is_file():
            addon = install_addon(project)
        imported = _import(project)
    return NewEnv(f"{name}-v0", package_dir, import_name, scene_dir, tuple(written), addon,
                  imported)


def _import(project: Path) -> bool:
    """Import the project now, so that its new scenes run at once.

    Godot run from a terminal does not import, and class names such as RLServer resolve only
    in an imported project. False when no Godot is found: the editor imports the project when
    it opens it.
    """
    try:
        godot = find_godot()
    except GodotNotFound:
        return False
    import_project(project, godot)
    return True


def _checked_project(project: Path | None, godot_name: str) -> Path | None:
    """The project folder, resolved, or None; refuses a non-project or an existing scene dir."""
    if project is None:
        return None
    root = project.expanduser().resolve()
    if not (root / "project.godot").is_file():
        raise RLGodotError(f"{root} is not a Godot project (no project.godot): pass the folder "
                           "that holds project.godot, or create the project in the Godot "
                           "editor first")
    scene_dir = root / PROJECT_SCENE_DIR / godot_name
    if scene_dir.exists():
        raise RLGodotError(f"{scene_dir} exists already: remove it first, or choose another NAME")
    return root


def _check_unused(env_id: str) -> None:
    """Refuse an env id that an installed plugin provides (both would fail to load)."""
    from rlgodot.core.plugin.registry import get_registry

    registry = get_registry()
    if env_id in registry.specs():
        raise RLGodotError(f"the installed plugin {registry.owner(env_id)!r} provides {env_id} "
                           "already: choose another NAME")


def _values(
    config: NewEnvConfig, godot_name: str, import_name: str, res_dir: str, project: Path | None
) -> dict[str, str]:
    """The placeholder values shared by every template."""
    pascal = "".join(part.capitalize() for part in re.split(r"[-_]", config.name) if part)
    if pascal[0].isdigit():
        pascal = f"Env{pascal}"
    if project is None:
        scene_source = (f'    godot_dir=Path(__file__).parent / "godot",\n'
                        f'    mount="{godot_name}",\n'
                        f'    scene="{godot_name}.tscn",')
        agent_script = f"godot/{godot_name}_agent.gd"
    else:
        scene_source = (f"    project=Path({json.dumps(str(project))}),\n"
                        f'    scene="{res_dir}/{godot_name}.tscn",')
        agent_script = f"{res_dir}/{godot_name}_agent.gd"
    return {
        "name": config.name,
        "env_id": f"{config.name}-v0",
        "dist": f"rlgodot-{config.name}",
        "package": import_name,
        "godot_name": godot_name,
        "pascal": pascal,
        "res_dir": res_dir,
        "project": str(project or ""),
        "scene_source": scene_source,
        "agent_script": agent_script,
        "rlgodot_version": __version__,
        "summary": SUMMARIES[config.dimensions],
    }


def _render_files(
    templates: Path,
    dimensions: str,
    package_dir: Path,
    import_name: str,
    scene_dir: Path,
    values: dict[str, str],
    in_project: bool,
) -> dict[Path, str]:
    """Every file to write, path -> text (nothing is written here)."""

    def render(template: str, fields: dict[str, str]) -> str:
        return _Template((templates / template).read_text()).substitute(fields)

    mode = "project" if in_project else "godot"
    values = {
        **values,
        "package_data": render(f"package_data_{mode}.toml.tmpl", values),
        "files_table": render(f"readme_files_{mode}.md.tmpl", values).rstrip("\n"),
        "project_section": render("readme_project.md.tmpl", values) if in_project else "",
    }
    package = package_dir / import_name
    godot_name = values["godot_name"]
    files = {
        package_dir / "pyproject.toml": "pyproject.toml.tmpl",
        package_dir / "README.md": "README.md.tmpl",
        package_dir / ".gitignore": "gitignore.tmpl",
        package / "__init__.py": "__init__.py.tmpl",
        package / "env.py": f"env_{dimensions}.py.tmpl",
        package_dir / "tests" / f"test_{godot_name}.py": "test_env.py.tmpl",
        scene_dir / f"{godot_name}.tscn": f"scene_{dimensions}.tscn.tmpl",
        scene_dir / f"{godot_name}_agent.gd": f"agent_{dimensions}.gd.tmpl",
    }
    if in_project:
        files[scene_dir / "train.tscn"] = "train.tscn.tmpl"
    rendered = {path: render(template, values) for path, template in files.items()}
    rendered[package / "models" / ".gitkeep"] = ""
    return rendered
