"""Find a usable Godot 4 binary, or provision one into the cache.

Lookup order: ``GODOT_BIN`` (an explicit choice: if it is wrong that is an error, never
silently skipped), then ``godot`` and ``godot4`` on PATH, then the launcher that
:func:`provision_godot` writes into the cache. A PATH entry that is too old (e.g. Godot 3
installed as ``godot``) is skipped with a warning, so a newer one later in the order wins.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from rlgodot.core.errors import GodotNotFound, GodotVersionError

log = logging.getLogger(__name__)

MIN_VERSION = (4, 3, 0)
VERSION_TIMEOUT = 15.0
PROVISION_TIMEOUT = 1800.0
PROVISION_SCRIPT = Path(__file__).with_name("provision_godot.sh")
_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_HINT = (
    "Install Godot >= 4.3 and set GODOT_BIN=/path/to/godot (or put 'godot' on PATH), "
    "or let rlgodot provision one: 'make setup' or 'rlgodot doctor --provision'."
)


@dataclasses.dataclass(frozen=True)
class GodotBinary:
    """A Godot binary whose version was checked.

    Attributes:
        command: argv prefix that runs Godot (a path, or a command with arguments from
            ``GODOT_BIN``).
        version: ``(major, minor, patch)``.
        version_text: The full ``--version`` output line, e.g. ``4.6.3.stable.debian...``.
        source: Where it was found: ``"GODOT_BIN"``, ``"PATH"`` or ``"cache"``.
    """

    command: tuple[str, ...]
    version: tuple[int, int, int]
    version_text: str
    source: str

    def __str__(self) -> str:
        return f"Godot {self.version_text} ({shlex.join(self.command)}, from {self.source})"


def cache_dir() -> Path:
    """The cache directory: ``$RLGODOT_CACHE_DIR`` or ``${XDG_CACHE_HOME:-~/.cache}/rlgodot``."""
    explicit = os.environ.get("RLGODOT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rlgodot"


def provisioned_launcher() -> Path:
    """Where :func:`provision_godot` puts its launcher script."""
    return cache_dir() / "bin" / "godot"


def find_godot() -> GodotBinary:
    """Return the first usable Godot >= 4.3 in lookup order.

    Raises:
        GodotNotFound: ``GODOT_BIN`` names something that does not exist, or nothing was
            found anywhere.
        GodotVersionError: ``GODOT_BIN`` is too old or unreadable, or every candidate found
            was.
    """
    env_value = os.environ.get("GODOT_BIN", "").strip()
    if env_value:
        return check_godot(_command_from_env(env_value), "GODOT_BIN")

    rejected: list[str] = []
    candidates: list[tuple[tuple[str, ...], str]] = []
    for name in ("godot", "godot4"):
        path = shutil.which(name)
        if path:
            candidates.append(((path,), "PATH"))
    launcher = provisioned_launcher()
    if launcher.is_file() and os.access(launcher, os.X_OK):
        candidates.append(((str(launcher),), "cache"))
    for command, source in candidates:
        try:
            return check_godot(command, source)
        except GodotVersionError as exc:
            log.warning("skipping %s: %s", command[0], exc)
            rejected.append(str(exc))
    if rejected:
        raise GodotVersionError(
            "no usable Godot found; rejected:\n  " + "\n  ".join(rejected) + f"\n{_HINT}"
        )
    raise GodotNotFound(
        "no Godot found: GODOT_BIN is not set, neither 'godot' nor 'godot4' is on PATH, and "
        f"nothing is provisioned at {launcher}. {_HINT}"
    )


def check_godot(command: tuple[str, ...], source: str = "GODOT_BIN") -> GodotBinary:
    """Run ``command --version`` and check that it is Godot >= 4.3.

    Raises:
        GodotNotFound: The command cannot be executed.
        GodotVersionError: It does not print a version, or the version is below 4.3.
    """
    origin = f"{shlex.join(command)} (from {source})"
    memo_key = _memo_key(command)
    if memo_key is not None and memo_key in _CHECKED:
        return dataclasses.replace(_CHECKED[memo_key], source=source)
    try:
        result = subprocess.run(
            [*command, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=VERSION_TIMEOUT,
        )
    except FileNotFoundError as exc:
        raise GodotNotFound(f"{origin} does not exist. {_HINT}") from exc
    except PermissionError as exc:
        raise GodotNotFound(f"{origin} is not executable (chmod +x it?). {_HINT}") from exc
    except OSError as exc:
        raise GodotNotFound(f"{origin} cannot be run: {exc}. {_HINT}") from exc
    except subprocess.TimeoutExpired as exc:
        raise GodotVersionError(
            f"{origin} did not answer '--version' within {VERSION_TIMEOUT:g} s; is it Godot? "
            f"{_HINT}"
        ) from exc
    output = (result.stdout or "") + (result.stderr or "")
    version, text = parse_version(output)
    if version is None:
        head = output.strip()[:300] or "(no output)"  # what a program says first names it
        raise GodotVersionError(
            f"{origin} printed no Godot version for '--version' (exit code {result.returncode}): "
            f"{head!r}. {_HINT}"
        )
    if version < MIN_VERSION:
        raise GodotVersionError(f"{origin} is Godot {text}; rlgodot needs 4.3 or newer. {_HINT}")
    binary = GodotBinary(tuple(command), version, text, source)
    if memo_key is not None:
        _CHECKED[memo_key] = binary
    return binary


# Every env launch looks Godot up; running `--version` each time would cost ~40 ms. A binary
# is re-checked when its file changes (path, size, mtime).
_CHECKED: dict[tuple[object, ...], GodotBinary] = {}


def _memo_key(command: tuple[str, ...]) -> tuple[object, ...] | None:
    try:
        stat = os.stat(command[0])
    except OSError:
        return None
    return (command, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def parse_version(output: str) -> tuple[tuple[int, int, int] | None, str]:
    """Return ``((major, minor, patch), line)`` from ``godot --version`` output.

    Godot prints e.g. ``4.3.stable.official.77dcf97d8`` (no patch number means 0) or
    ``4.6.3.stable.debian4.6.3+ds-3``; engine warnings may precede it, so the first line that
    starts with a version wins.
    """
    for line in output.splitlines():
        line = line.strip()
        match = _VERSION_RE.match(line)
        if match:
            major, minor, patch = match.groups()
            return (int(major), int(minor), int(patch or 0)), line
    return None, ""


def provision_godot(target: Path | None = None, *, quiet: bool = False) -> GodotBinary:
    """Provision Debian's Godot 4 into the cache (a private root built with mmdebstrap).

    Takes about 15 s plus the download on first use and is instant when already done. It
    runs ``provision_godot.sh`` shipped next to this module; its progress goes to stderr.

    Args:
        target: Cache directory to provision into (default :func:`cache_dir`).
        quiet: Hide the script's progress output (it is shown on failure anyway).

    Returns:
        The provisioned binary.

    Raises:
        GodotNotFound: Provisioning failed (message carries the script's output tail).
    """
    directory = Path(target) if target is not None else cache_dir()
    try:
        result = subprocess.run(
            ["bash", str(PROVISION_SCRIPT), str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if quiet else None,
            text=True,
            timeout=PROVISION_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise GodotNotFound(
            f"provisioning Godot into {directory} took over {PROVISION_TIMEOUT:g} s. {_HINT}"
        ) from exc
    if result.returncode != 0:
        tail = (result.stderr or "")[-2000:] if quiet else "(see its output above)"
        raise GodotNotFound(
            f"provisioning Godot into {directory} failed (exit code {result.returncode}): "
            f"{tail}\nInstall Godot >= 4.3 yourself and set GODOT_BIN=/path/to/godot."
        )
    lines = result.stdout.strip().splitlines()
    launcher = lines[-1] if lines else str(directory / "bin" / "godot")
    if not quiet:
        print(f"rlgodot: Godot provisioned at {launcher}", file=sys.stderr)
    return check_godot((launcher,), "cache")


def _command_from_env(value: str) -> tuple[str, ...]:
    """Interpret GODOT_BIN: a path (spaces allowed) or a command line with arguments."""
    if Path(value).expanduser().exists():
        return (str(Path(value).expanduser()),)
    parts = tuple(shlex.split(value))
    if not parts:
        raise GodotNotFound(f"GODOT_BIN={value!r} is empty. {_HINT}")
    resolved = shutil.which(parts[0]) if os.sep not in parts[0] else None
    if resolved is None and not Path(parts[0]).expanduser().exists():
        raise GodotNotFound(
            f"GODOT_BIN={value!r}: {parts[0]!r} does not exist and is not on PATH. {_HINT}"
        )
    return ((resolved or str(Path(parts[0]).expanduser())), *parts[1:])
