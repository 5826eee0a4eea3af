"""Make Godot projects runnable: assemble one from the addon and plugin folders, or import one.

Layout (docs/GODOT_ADDON.md)::

    project.godot        addons/rlgodot/project_base.godot merged with the plugin's settings
    addons/rlgodot/...   the addon
    envs/<name>/...      each mounted scene folder

A fresh project must be imported once (``godot --headless --import``, ~5 s) before it runs
(measured on the reference machine), so the imported project is cached under a hash of everything
it is made of. A warm cache costs one pass over the (small) source files. Several processes may
assemble the same project at once: one builds in a private temporary directory under a lock and
renames it into place atomically; the others wait for the lock and reuse the result.

A user's own project (``EnvSpec.project``) is run where it is, so it is imported in place
(:func:`import_project`): the key of its files is kept in ``.godot/`` and the import runs
again, under a lock in ``.godot/``, only when that key changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from rlgodot.core.errors import ProjectError
from rlgodot.core.runtime.launcher import _spawn
from rlgodot.core.runtime.launcher.binary import GodotBinary, cache_dir

ASSEMBLY_FORMAT = 1  # bump when the layout or merge rules change, to invalidate old caches
IMPORT_TIMEOUT = 600.0
READY_MARKER = ".rlgodot-ready"
IMPORT_FORMAT = 1  # bump when the import key's rules change, to re-import every user project
IMPORT_KEY_FILE = "rlgodot-import-key"  # in a user project's .godot/
IMPORT_LOCK_FILE = "rlgodot-import.lock"
SMALL_FILE_BYTES = 1 << 20  # hashed by content; larger assets by size + mtime
_IGNORED_NAMES = frozenset({".godot", ".git", "__pycache__", ".DS_Store", ".import"})
# A nested project.godot would make Godot skip that folder as a separate project.
_IGNORED_IN_MOUNTS = frozenset({"project.godot"})
_MOUNT_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_KEY_RE = re.compile(r"^([^\s=;\[][^=]*?)\s*=(.*)$")


def assemble_project(
    addon_dir: Path,
    mounts: Mapping[str, Path],
    settings: Mapping[str, Mapping[str, str]],
    godot: GodotBinary,
    cache_root: Path | None = None,
) -> Path:
    """Return the directory of an assembled, imported project, building it if needed.

    Args:
        addon_dir: The ``rlgodot`` addon folder (holds ``project_base.godot``).
        mounts: ``name -> folder``; each folder becomes ``res://envs/<name>/``.
        settings: Extra ``project.godot`` settings: section -> key -> raw Godot value string
            (e.g. ``{"physics": {"3d/physics_engine": '"Jolt Physics"'}}``).
        godot: The binary that imports (and later runs) the project; its version is part of
            the cache key because ``.godot/`` is version specific.
        cache_root: Cache directory (default :func:`cache_dir`); projects go in
            ``<cache_root>/projects/<hash>``.

    Raises:
        ProjectError: A source folder is missing, a setting is malformed, or the import failed
            (the message carries Godot's output tail).
    """
    addon_dir = Path(addon_dir)
    base_file = addon_dir / "project_base.godot"
    if not base_file.is_file():
        raise ProjectError(f"{addon_dir} is not the rlgodot addon: no project_base.godot in it")
    for name, folder in mounts.items():
        if not _MOUNT_NAME_RE.match(name):
            raise ProjectError(f"mount name {name!r} must be a plain folder name ([A-Za-z0-9_.-])")
        if not Path(folder).is_dir():
            raise ProjectError(f"mount {name!r}: {folder} is not a directory")
    _check_settings(settings)

    key = project_key(addon_dir, mounts, settings, godot)
    projects = Path(cache_root or cache_dir()) / "projects"
    target = projects / key
    if (target / READY_MARKER).is_file():
        return target

    projects.mkdir(parents=True, exist_ok=True)
    with _locked(projects / f"{key}.lock"):
        if (target / READY_MARKER).is_file():  # another process built it while we waited
            return target
        _remove_stale(projects, key)
        building = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=projects))
        try:
            building.chmod(0o755)  # mkdtemp's 0700 would hide the cache from other users
            _build(building, addon_dir, mounts, settings)
            _import(building, godot)
            (building / READY_MARKER).write_text(
                json.dumps({"godot": godot.version_text, "built": time.time()})
            )
            if target.exists():  # an unfinished leftover (no marker): replace it
                shutil.rmtree(target, ignore_errors=True)
            os.rename(building, target)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    return target


def project_key(
    addon_dir: Path,
    mounts: Mapping[str, Path],
    settings: Mapping[str, Mapping[str, str]],
    godot: GodotBinary,
) -> str:
    """Hash of every input of an assembled project (sources, settings, Godot version)."""
    digest = hashlib.sha256()
    digest.update(f"rlgodot-project/{ASSEMBLY_FORMAT}\0{godot.version_text}\0".encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    _hash_tree(digest, Path(addon_dir), "addons/rlgodot", frozenset())
    for name in sorted(mounts):
        _hash_tree(digest, Path(mounts[name]), f"envs/{name}", _IGNORED_IN_MOUNTS)
    return digest.hexdigest()[:20]


def import_project(root: Path, godot: GodotBinary) -> bool:
    """Import a user's Godot project in place unless it is unchanged since its last import.

    The key (:func:`project_files_key`) is computed after the import, because importing writes
    files of its own (``.import`` and ``.uid`` files beside the assets and scripts), and stored
    in ``.godot/``. Concurrent callers serialise on a lock in ``.godot/``; a waiter that finds
    the key written by the one before it does not import again.

    Args:
        root: The project folder (it holds ``project.godot``).
        godot: The binary that imports (and later runs) the project.

    Returns:
        True if it imported, False if the stored key was current.

    Raises:
        ProjectError: The import failed (the message carries Godot's output tail) or
            ``.godot/`` cannot be written.
    """
    root = Path(root)
    state = root / ".godot"
    key_file = state / IMPORT_KEY_FILE
    if _read_key(key_file) == project_files_key(root, godot):
        return False
    try:
        state.mkdir(exist_ok=True)
        with _locked(state / IMPORT_LOCK_FILE):
            if _read_key(key_file) == project_files_key(root, godot):
                return False
            _import(root, godot, "Fix the errors above in your project (or its rlgodot addon).")
            written = key_file.with_name(f"{IMPORT_KEY_FILE}.{os.getpid()}")
            written.write_text(project_files_key(root, godot))
            os.replace(written, key_file)
    except OSError as exc:
        raise ProjectError(f"cannot write the import state in {state}: {exc}") from exc
    return True


def project_files_key(root: Path, godot: GodotBinary) -> str:
    """Hash of the files Godot sees in a user's project, and of the Godot version.

    Skips what Godot's importer skips: hidden files and folders (``.godot/``, ``.git/``) and
    folders holding a ``.gdignore`` file. Small files count by content, larger ones (over
    ``SMALL_FILE_BYTES``) by size and modification time.
    """
    digest = hashlib.sha256()
    digest.update(f"rlgodot-import/{IMPORT_FORMAT}\0{godot.version_text}\0".encode())
    _hash_tree(digest, Path(root), "res:/", frozenset(), godot_visible=True)
    return digest.hexdigest()[:20]


def _read_key(key_file: Path) -> str | None:
    try:
        return key_file.read_text().strip()
    except OSError:
        return None


# ---------------------------------------------------------------------------- project.godot


class ProjectFile:
    """A ``project.godot`` as ordered sections of raw ``key=value`` entries.

    Values stay raw Godot text (possibly spanning lines, like input maps); only keys are
    interpreted, which is all a merge needs. Comments are kept in place.
    """

    def __init__(self) -> None:
        self.preamble: list[tuple[str | None, str]] = []
        self.sections: dict[str, list[tuple[str | None, str]]] = {}

    @classmethod
    def parse(cls, text: str) -> ProjectFile:
        """Parse ``project.godot`` text.

        Raises:
            ProjectError: A line is neither a section, a ``key=value`` nor a comment, or a
                value's brackets or quotes never close.
        """
        project = cls()
        entries = project.preamble
        lines = iter(enumerate(text.splitlines(), 1))
        for number, line in lines:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith(";") or stripped.startswith("#"):
                entries.append((None, stripped))
            elif stripped.startswith("[") and stripped.endswith("]"):
                entries = project.sections.setdefault(stripped[1:-1].strip(), [])
            else:
                match = _KEY_RE.match(stripped)
                if not match:
                    raise ProjectError(f"project.godot line {number} is not key=value: {line!r}")
                key, value = match.group(1), match.group(2)
                while not _balanced(value):
                    try:
                        _, more = next(lines)
                    except StopIteration:
                        raise ProjectError(
                            f"project.godot: the value of {key!r} (line {number}) never closes"
                        ) from None
                    value += "\n" + more
                entries.append((key, value))
        return project

    def set(self, section: str, key: str, value: str) -> None:
        """Set ``key`` in ``section`` (replacing it in place, else appending)."""
        entries = self.sections.setdefault(section, [])
        for i, (existing, _) in enumerate(entries):
            if existing == key:
                entries[i] = (key, value)
                return
        entries.append((key, value))

    def get(self, section: str, key: str) -> str | None:
        """The raw value of ``key`` in ``section``, or None."""
        for existing, value in self.sections.get(section, []):
            if existing == key:
                return value
        return None

    def merge(self, settings: Mapping[str, Mapping[str, str]]) -> None:
        """Apply section -> key -> raw value settings over this file."""
        for section, values in settings.items():
            for key, value in values.items():
                self.set(section, key, value)

    def dumps(self) -> str:
        """Serialise in Godot's own layout (blank line around section headers)."""
        out = [_entry(e) for e in self.preamble]
        for section, entries in self.sections.items():
            out += ["", f"[{section}]", ""]
            out += [_entry(e) for e in entries]
        return "\n".join(out).lstrip("\n") + "\n"


def merge_project_settings(base_text: str, settings: Mapping[str, Mapping[str, str]]) -> str:
    """Return ``base_text`` (a project.godot) with ``settings`` merged in."""
    project = ProjectFile.parse(base_text)
    project.merge(settings)
    return project.dumps()


def _entry(entry: tuple[str | None, str]) -> str:
    key, value = entry
    return value if key is None else f"{key}={value}"


def _balanced(value: str) -> bool:
    """True if every bracket and string in a raw Godot value is closed."""
    depth = 0
    in_string = False
    escaped = False
    for char in value:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
    return depth <= 0 and not in_string


def _check_settings(settings: Mapping[str, Mapping[str, str]]) -> None:
    for section, values in settings.items():
        if not isinstance(section, str) or not section or any(c in section for c in "[]\n"):
            raise ProjectError(f"bad project.godot section name {section!r}")
        if not isinstance(values, Mapping):
            raise ProjectError(f"settings[{section!r}] must map keys to raw Godot values")
        for key, value in values.items():
            if not isinstance(key, str) or not _KEY_RE.match(f"{key}=x") or "\n" in key:
                raise ProjectError(f"bad project.godot key {key!r} in [{section}]")
            if not isinstance(value, str):
                raise ProjectError(
                    f"[{section}] {key}: values are raw Godot text (str), got {value!r}; "
                    'write e.g. "true", "60" or \'"Jolt Physics"\' (quotes included)'
                )
            if not _balanced(value):
                raise ProjectError(f"[{section}] {key}: unbalanced brackets or quotes: {value!r}")


# ---------------------------------------------------------------------------- building


def _build(
    root: Path,
    addon_dir: Path,
    mounts: Mapping[str, Path],
    settings: Mapping[str, Mapping[str, str]],
) -> None:
    _copy_tree(addon_dir, root / "addons" / "rlgodot", frozenset())
    for name, folder in mounts.items():
        _copy_tree(Path(folder), root / "envs" / name, _IGNORED_IN_MOUNTS)
    base = (addon_dir / "project_base.godot").read_text(encoding="utf-8")
    (root / "project.godot").write_text(merge_project_settings(base, settings), encoding="utf-8")


def _import(
    root: Path,
    godot: GodotBinary,
    hint: str = "Fix the errors above in the addon or the plugin's scene.",
) -> None:
    args = [*godot.command, "--headless", "--path", str(root), "--import"]
    try:
        result = _spawn.run(args, timeout=IMPORT_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise ProjectError(
            f"importing the project in {root} took over {IMPORT_TIMEOUT:g} s; output tail:\n"
            f"{_tail(exc.output)}"
        ) from exc
    except OSError as exc:
        raise ProjectError(f"cannot run {godot.command[0]} to import {root}: {exc}") from exc
    if result.returncode != 0 or not (root / ".godot").is_dir():
        raise ProjectError(
            f"'{' '.join(args)}' failed (exit code {result.returncode}); output tail:\n"
            f"{_tail(result.stdout)}\n{hint}"
        )


def _tail(output: str | bytes | None, lines: int = 40) -> str:
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    return "\n".join((output or "(no output)").strip().splitlines()[-lines:])


def _walk(
    root: Path, ignored: frozenset[str], godot_visible: bool = False
) -> Iterator[tuple[str, Path]]:
    """Yield ``(relative posix path, path)`` of every file, sorted, skipping ignored names.

    ``godot_visible``: also skip what Godot's importer never sees (hidden names, and folders
    with a ``.gdignore`` file).
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        base = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _IGNORED_NAMES
            and not (godot_visible and (d.startswith(".") or (base / d / ".gdignore").exists()))
        )
        for name in sorted(filenames):
            if name in _IGNORED_NAMES or name in ignored or name.endswith(".pyc"):
                continue
            if godot_visible and name.startswith("."):
                continue
            path = base / name
            yield path.relative_to(root).as_posix(), path


def _hash_tree(
    digest: hashlib._Hash,
    root: Path,
    label: str,
    ignored: frozenset[str],
    godot_visible: bool = False,
) -> None:
    for relative, path in _walk(root, ignored, godot_visible):
        stat = path.stat()
        digest.update(f"\0{label}/{relative}\0{stat.st_size}\0".encode())
        if stat.st_size <= SMALL_FILE_BYTES:
            digest.update(path.read_bytes())
        else:  # big assets: reading them on every launch would defeat the cache
            digest.update(str(stat.st_mtime_ns).encode())


def _copy_tree(source: Path, destination: Path, ignored: frozenset[str]) -> None:
    for relative, path in _walk(source, ignored):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


class _locked:
    """An exclusive ``flock`` on a file, released when the holder exits or dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc_info: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _remove_stale(projects: Path, key: str) -> None:
    """Delete temporary build dirs of ``key`` left by a builder that died (we hold the lock)."""
    for leftover in projects.glob(f".tmp-{key}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def addon_dir() -> Path:
    """The Godot addon shipped inside the installed ``rlgodot`` package."""
    return Path(str(importlib.resources.files("rlgodot.godot") / "addons" / "rlgodot"))
