"""Check, before any work starts, that an output file (a video, a picture) can be written."""

from __future__ import annotations

from pathlib import Path

from rlgodot.core.errors import RLGodotError


def check_output_file(
    path: Path, suffix: str, what: str, error: type[RLGodotError], note: str = ""
) -> Path:
    """Make ``path``'s folder and check a ``suffix`` file can be written there.

    Leaves no file behind (an existing one is left as it is, until the caller writes it).

    Args:
        path: The file to write.
        suffix: The suffix it must have (``".mp4"``).
        what: What it is, for the messages (``"video"``).
        error: The exception to raise.
        note: Added to the wrong-suffix message (``" (the GIF goes beside it)"``).

    Raises:
        RLGodotError: ``error``: another suffix, or the folder cannot be made or written.
    """
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise error(f"{what} path {path} must end in {suffix}{note}; pass e.g. "
                    f"{path.with_suffix(suffix)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        with path.open("ab"):  # a probe: an existing file keeps its contents
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise error(
            f"cannot write the {what} {path}: {exc.strerror or exc}; pass a path in a folder "
            "you can write to"
        ) from exc
    return path
