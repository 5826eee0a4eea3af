"""A private virtual X display (Xvfb) for a rendering Godot on a machine without a screen.

Godot cannot render with ``--headless``; under Xvfb it draws with Mesa's software OpenGL. Xvfb
picks a free display number itself (``-displayfd``: it writes the number to a pipe once it
accepts connections), so concurrent sessions never race for one. It is started through
:mod:`._spawn`, so it dies with Python even on SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import IO, Final

from rlgodot.core.errors import DisplayUnavailable
from rlgodot.core.runtime.launcher import _spawn

SCREEN_SIZE: Final = (1280, 720)
"""Screen of a private display: the window size of the assembled project."""
INSTALL_HINT: Final = "install it: apt-get install xvfb libgl1-mesa-dri, or set DISPLAY"


def has_display() -> bool:
    """True when this environment names a display a Godot window can open on (X11 or Wayland)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class VirtualDisplay:
    """One private Xvfb server. Use :meth:`start`; end it with :meth:`stop`.

    Attributes:
        name: The X display name to set as ``DISPLAY`` (``":N"``).
        popen: The Xvfb process.
    """

    def __init__(self, popen: subprocess.Popen[bytes], name: str, log: IO[bytes]) -> None:
        self.popen = popen
        self.name = name
        self._log = log

    @classmethod
    def start(
        cls, size: tuple[int, int] = SCREEN_SIZE, *, timeout: float = 10.0
    ) -> VirtualDisplay:
        """Start Xvfb on a free display number and wait until it accepts connections.

        Args:
            size: ``(width, height)`` of its one screen (24-bit colour).
            timeout: Seconds to wait for it to be ready.

        Raises:
            DisplayUnavailable: No ``Xvfb`` on PATH, or it exited or stayed silent past
                ``timeout`` (it is then killed); the message has its output.
        """
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise DisplayUnavailable(
                f"rendering needs a display and there is no Xvfb on PATH; {INSTALL_HINT}"
            )
        read_fd, write_fd = os.pipe()
        log = tempfile.TemporaryFile()  # noqa: SIM115 - its output for messages; stop() closes it
        args = [
            xvfb,
            "-displayfd", str(write_fd),
            "-screen", "0", f"{int(size[0])}x{int(size[1])}x24",
            "-nolisten", "tcp",
        ]  # fmt: skip
        try:
            popen = _spawn.popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
            )
        except OSError as exc:
            os.close(read_fd)
            log.close()
            raise DisplayUnavailable(f"cannot start {xvfb}: {exc}; {INSTALL_HINT}") from exc
        finally:
            os.close(write_fd)  # the child has its copy: EOF on read_fd now means it exited
        display = cls(popen, "", log)
        try:
            display.name = f":{display._read_number(read_fd, timeout)}"
        except BaseException:
            display.stop()
            raise
        finally:
            os.close(read_fd)
        return display

    @property
    def pid(self) -> int:
        """The Xvfb process id."""
        return self.popen.pid

    def stop(self, timeout: float = 3.0) -> None:
        """Terminate Xvfb and reap it; idempotent, never raises."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout)
        self._log.close()

    def __enter__(self) -> VirtualDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.popen.poll() is None else f"exited {self.popen.returncode}"
        return f"<VirtualDisplay {self.name or '?'} (Xvfb pid {self.pid}, {state})>"

    def _read_number(self, fd: int, timeout: float) -> int:
        """The display number Xvfb writes to ``fd`` once it is ready."""
        deadline = time.monotonic() + timeout
        data = b""
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DisplayUnavailable(
                    f"Xvfb (pid {self.pid}) was not ready within {timeout:g} s; its output:\n"
                    f"{self._output()}"
                )
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 64)
            if not chunk:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(1.0)
                raise DisplayUnavailable(
                    f"Xvfb (pid {self.pid}) exited before it was ready (exit code "
                    f"{self.popen.poll()}); its output:\n{self._output()}\nIf it cannot start "
                    "here, run under a display instead (set DISPLAY)"
                )
            data += chunk
        try:
            return int(data.split(b"\n", 1)[0])
        except ValueError:
            raise DisplayUnavailable(
                f"Xvfb (pid {self.pid}) announced {data!r} instead of a display number"
            ) from None

    def _output(self, limit: int = 2000) -> str:
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip()
        return text[-limit:] or "(no output)"
