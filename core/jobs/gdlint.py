"""Lint every GDScript file with Godot's own parser (typed-code warnings are errors).

Usage: ``python -m rlgodot.core.jobs.gdlint [REPO_ROOT]``. Assembles a scratch project from the
repo's addon (``godot/addons/rlgodot``), each bundled plugin's ``plugins/NAME/godot`` and the
scenes ``rlgodot new-env`` writes (2D and 3D, from the repo's templates), imports it once, then
runs ``godot --check-only`` on each script. Exit status 1 on any error.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from rlgodot.core.jobs.config import NewEnvConfig
from rlgodot.core.jobs.new_env import new_env
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.project import assemble_project


def lint(repo: Path) -> list[str]:
    """Return one message per script that fails to parse or type-check."""
    godot = find_godot()
    addon = repo / "godot" / "addons" / "rlgodot"
    mounts = {p.parent.name: p for p in sorted(repo.glob("plugins/*/godot")) if p.is_dir()}
    failures = []
    with tempfile.TemporaryDirectory(prefix="rlgodot-lint-") as cache:
        mounts.update(_new_env_mounts(repo, Path(cache) / "new-env"))
        project = assemble_project(addon, mounts, {}, godot, cache_root=Path(cache))
        scripts = sorted(project.glob("addons/**/*.gd")) + sorted(project.glob("envs/**/*.gd"))
        for script in scripts:
            res_path = "res://" + script.relative_to(project).as_posix()
            proc = subprocess.run(
                [*godot.command, "--headless", "--path", str(project), "--check-only",
                 "--script", res_path],
                capture_output=True, text=True, timeout=120,
            )
            output = (proc.stdout + proc.stderr).strip()
            if proc.returncode != 0 or "SCRIPT ERROR" in output or "Parse Error" in output:
                failures.append(f"{res_path}:\n{output}")
        print(f"gdlint: {len(scripts)} scripts checked, {len(failures)} with errors")
    return failures


def _new_env_mounts(repo: Path, out: Path) -> dict[str, Path]:
    """The scene folders of a 2D and a 3D package written by ``rlgodot new-env`` into ``out``."""
    templates = repo / "core" / "jobs" / "templates" / "new_env"
    mounts = {}
    for dimensions in ("2d", "3d"):
        name = f"newenv{dimensions}"
        made = new_env(NewEnvConfig(name=name, dimensions=dimensions, out=out), templates)
        mounts[name] = made.scene_dir
    return mounts


def main() -> int:
    """Lint the repo given as first argument (default: the current directory)."""
    repo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    failures = lint(repo.resolve())
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
