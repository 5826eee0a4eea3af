"""The architecture as rules: layers import only downwards, and the README tree is the tree."""

from __future__ import annotations

import ast
import importlib
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Absolute module names a Python file imports (``from . import`` counts as its package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _python_files(*parts: str) -> list[Path]:
    files = sorted(ROOT.joinpath(*parts).rglob("*.py"))
    assert files, f"no Python files under {'/'.join(parts)}"
    return files


@pytest.mark.parametrize("path", _python_files("core", "runtime"), ids=lambda p: p.name)
def test_the_runtime_knows_no_env(path: Path):
    forbidden = ("rlgodot.core.plugin", "rlgodot.core.envs", "rlgodot.core.jobs", "rlgodot_")
    bad = sorted(name for name in _imports(path) if name.startswith(forbidden))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: transport must not know envs"


@pytest.mark.parametrize(
    "path",
    [p for p in ROOT.joinpath("plugins").rglob("*.py")]
    + list(ROOT.joinpath("tests", "thirdparty_plugin").rglob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_plugins_import_only_the_author_api(path: Path):
    rlgodot = {name for name in _imports(path) if name.startswith("rlgodot.")}
    assert rlgodot <= {"rlgodot.core.plugin"}, (
        f"{path.relative_to(ROOT)} imports {sorted(rlgodot)}; a plugin imports rlgodot.core.plugin "
        "only (no client, protocol or sockets)"
    )


@pytest.mark.parametrize("path", _python_files("cli"), ids=lambda p: p.name)
def test_the_cli_reaches_no_transport(path: Path):
    bad = sorted(n for n in _imports(path) if n.startswith("rlgodot.core.runtime"))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; the CLI calls jobs"


def test_readme_tree_lists_every_core_subpackage_and_addon_folder():
    readme = ROOT.joinpath("README.md").read_text()
    tree = readme.split("## How it fits together", 1)[1].split("```", 2)[1]
    listed = set(re.findall(r"^\s*([a-z_]+)/", tree, re.M))
    core = {p.name for p in ROOT.joinpath("core").iterdir() if (p / "__init__.py").is_file()}
    runtime = {
        p.name for p in ROOT.joinpath("core", "runtime").iterdir() if (p / "__init__.py").is_file()
    }
    addon = {p.name for p in ROOT.joinpath("godot", "addons", "rlgodot").iterdir() if p.is_dir()}
    missing = (core | runtime | addon) - listed
    assert not missing, f"README's tree does not show {sorted(missing)}"
    top = {"cli", "core", "godot", "plugins", "examples", "tests"}
    gone = listed - core - runtime - addon - top
    assert not gone, f"README's tree shows folders that do not exist: {sorted(gone)}"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("rlgodot.core.spec", "rlgodot.core.plugin.spec"),
        ("rlgodot.core.vec_env", "rlgodot.core.envs.sb3_vec_env"),
        ("rlgodot.core.client.pool", "rlgodot.core.runtime.client.pool"),
        ("rlgodot.core.training", "rlgodot.core.jobs.train"),
    ],
)
def test_old_import_paths_work_with_a_deprecation_warning(old: str, new: str):
    import sys

    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert any(
        issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught
    )


def test_every_lazy_export_resolves():
    """``from rlgodot.core import X`` works for every name the package advertises."""
    import rlgodot.core as core

    missing = [name for name in core._LAZY if not hasattr(core, name)]
    assert not missing, f"rlgodot.core advertises exports that do not exist: {missing}"
