"""Video files from rendered frames: an H.264 MP4 for people, a short looping GIF for READMEs.

The encoder is the ffmpeg inside the ``imageio-ffmpeg`` wheel (a static build with libx264 for
Linux, macOS and Windows, maintained by the imageio project): ``pip install rlgodot`` brings it,
with no system package and no root.

The MP4 plays in every browser: H.264 (libx264), yuv420p, even width and height (an odd side is
padded by one pixel), the index at the front (``+faststart``) so it starts before it is fully
downloaded. Frames are streamed to ffmpeg as they come, so a long recording never sits in memory.

The loop is a GIF (ffmpeg ``palettegen``/``paletteuse``: one palette per loop, fitted to its
frames). The bundled ffmpeg also has libwebp, and measured on the shipped agents' first 8 s
(480 px wide, 15 fps) an animated lossy WebP (q 75) is 3-5x smaller with the HUD still legible:
motorcycle 263 KB vs 816 KB GIF, parking3d 120 KB vs 597 KB; lossless WebP is larger than the
GIF (1064 KB, 757 KB). The GIF is kept because its size is well within a README's budget and
it is the one format every viewer animates, TensorBoard included (its image tab, which shows
the ``train --video-every`` loops, serves GIF but not WebP): one format, one code path.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Generator, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from rlgodot.core.errors import VideoError
from rlgodot.core.jobs.output_file import check_output_file

MP4_SUFFIX = ".mp4"
LOOP_SUFFIX = ".gif"


def ffmpeg_exe() -> str:
    """The bundled ffmpeg binary (from the ``imageio-ffmpeg`` wheel).

    Raises:
        VideoError: The wheel is missing or has no binary for this platform.
    """
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise VideoError(
            f"no ffmpeg to encode video ({exc}); pip install imageio-ffmpeg"
        ) from exc


def loop_path(video: Path) -> Path:
    """Where the looping GIF of ``video`` goes: the same name with ``.gif``."""
    return Path(video).with_suffix(LOOP_SUFFIX)


def check_video_path(path: Path) -> Path:
    """Make ``path``'s folder and check an MP4 can be written there, before any frame exists.

    Raises:
        VideoError: Not a ``.mp4`` name, or the folder cannot be made or written.
    """
    return check_output_file(path, MP4_SUFFIX, "video", VideoError, " (the GIF goes beside it)")


class Mp4Writer:
    """An H.264 MP4 written frame by frame; a context manager.

    Args:
        path: The ``.mp4`` to write (checked with :func:`check_video_path`).
        fps: Frames per second of playback.

    Attributes:
        frames: Frames written so far.
        size: ``(width, height)`` of the frames, set by the first one.
    """

    def __init__(self, path: Path, fps: float) -> None:
        if not fps > 0:
            raise VideoError(f"video fps must be positive, got {fps}")
        self.path = check_video_path(path)
        self.fps = float(fps)
        self.frames = 0
        self.size: tuple[int, int] | None = None
        self._encoder: Generator[None, Any, None] | None = None

    def write(self, frame: np.ndarray) -> None:
        """Append one frame: HxWx3 uint8 RGB, the same size as the first.

        Raises:
            VideoError: A frame of another shape, type or size; ffmpeg failed.
        """
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise VideoError(
                f"frame {self.frames} of {self.path} has shape {frame.shape} dtype {frame.dtype}; "
                "frames must be HxWx3 uint8 RGB (what render() returns in rgb_array mode)"
            )
        size = (frame.shape[1], frame.shape[0])
        if self._encoder is None:
            self.size = size
            self._encoder = self._start(size)
        elif size != self.size:
            raise VideoError(
                f"frame {self.frames} of {self.path} is {size[0]}x{size[1]} but the video is "
                f"{self.size[0]}x{self.size[1]}; keep the render size fixed while recording"
            )
        try:
            self._encoder.send(np.ascontiguousarray(frame))
        except OSError as exc:
            raise VideoError(
                f"ffmpeg stopped while writing {self.path}: {str(exc).splitlines()[0]}; check "
                "free disk space"
            ) from exc
        self.frames += 1

    def _start(self, size: tuple[int, int]) -> Generator[None, Any, None]:
        import imageio_ffmpeg

        ffmpeg_exe()  # the one clear error when there is no binary
        encoder = imageio_ffmpeg.write_frames(
            str(self.path), size, fps=self.fps, codec="libx264", pix_fmt_out="yuv420p",
            macro_block_size=1, quality=None, ffmpeg_log_level="error",
            output_params=["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-crf", "23",
                           "-preset", "medium", "-movflags", "+faststart", "-f", "mp4"],
        )
        encoder.send(None)
        return encoder

    def close(self) -> None:
        """Finish the file (idempotent).

        Raises:
            VideoError: No frame was written (so no file either: an MP4 without frames plays
                nowhere); ffmpeg failed.
        """
        encoder, self._encoder = self._encoder, None
        if encoder is None:
            if self.frames == 0:
                raise VideoError(f"no frames to write to {self.path}")
            return
        try:
            encoder.close()
        except (OSError, RuntimeError) as exc:
            raise VideoError(
                f"ffmpeg failed to finish {self.path}: {str(exc).splitlines()[0]}"
            ) from exc

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
            return
        # The first error wins; the frames written so far still make a (shorter) valid video.
        with contextlib.suppress(VideoError):
            self.close()


def write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write ``frames`` (HxWx3 uint8) to an H.264 MP4 at ``path``; return how many.

    ``frames`` may be a generator: each frame is encoded as it comes.

    Raises:
        VideoError: See :class:`Mp4Writer`.
    """
    with Mp4Writer(path, fps) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.frames


def write_loop(
    video: Path,
    path: Path | None = None,
    *,
    seconds: float | None = 8.0,
    width: int = 480,
    fps: float = 15.0,
) -> Path:
    """A looping GIF of the start of an MP4: for READMEs, and TensorBoard.

    Args:
        video: The MP4 (from :func:`write_mp4`).
        path: The GIF; default :func:`loop_path` of ``video``.
        seconds: Length from the start; None for the whole video.
        width: Width in pixels (height keeps the aspect ratio); never upscaled.
        fps: At most this many frames per second (fewer frames, smaller file).

    Raises:
        VideoError: ffmpeg failed; the message quotes its last line.
    """
    path = Path(path) if path is not None else loop_path(video)
    shrink = f"scale='min({int(width)},iw)':-2:flags=lanczos"
    graph = (f"fps='min({fps},source_fps)',{shrink},split[a][b];"
             "[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=4")
    length = ["-t", f"{seconds:g}"] if seconds is not None else []
    command = [ffmpeg_exe(), "-y", "-v", "error", *length, "-i", str(video),
               "-filter_complex", graph, "-loop", "0", "-f", "gif", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise VideoError(f"could not make the GIF {path} from {video}: {lines[-1]}")
    return path
