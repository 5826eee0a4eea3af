"""Start one Godot process serving a scene, learn its port, and always stop it.

Godot prints ``RLGODOT_LISTENING <port>`` once it listens (docs/PROTOCOL.md). A daemon thread
drains its merged stdout/stderr into a bounded tail buffer: the pipe never fills up (a full
pipe would block Godot in ``print``), and the tail is what error messages quote.

Each spawned process gets a fresh random secret in its environment (``RLGODOT_TOKEN``, not on
the command line, so ``ps`` does not show it); the client of that process sends it in its hello
and Godot refuses any other connection (docs/PROTOCOL.md).

Every live process is in a module registry that ``atexit`` empties, and each child gets a
parent-death SIGKILL (see :mod:`._spawn`), so Godot does not outlive Python even on SIGKILL.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rlgodot.core.errors import GodotLaunchError
from rlgodot.core.runtime.launcher import _spawn
from rlgodot.core.runtime.launcher.binary import GodotBinary
from rlgodot.core.runtime.protocol.messages import TOKEN_ENV

BOOTSTRAP_SCENE = "res://addons/rlgodot/sim/bootstrap.tscn"
TAIL_LINES = 200
_LISTENING_RE = re.compile(rb"RLGODOT_LISTENING (\d+)")
_COMPILE_ERROR_RE = re.compile(rb"SCRIPT ERROR: (Parse|Compile) Error")
_EXIT_HINTS = {
    2: "bad command line or scene: check the scene path and that its root extends RLAgent",
    3: "no client connected in time (--rlgodot-accept-timeout)",
    4: "the port could not be bound: pass port=0 to let the OS choose a free one",
    5: "the client went silent in the middle of a frame (docs/PROTOCOL.md, timeouts)",
}

@dataclass(frozen=True)
class GodotCommand:
    """One Godot command line (docs/GODOT_ADDON.md): which project and scene, and how to run it.

    Attributes:
        godot: The binary (see :func:`find_godot`).
        project_dir: An imported project holding the addon: assembled (see
            :func:`assemble_project`) or the user's own (see :func:`import_project`).
        scene_res_path: The env instance scene, ``res://envs/<name>/<scene>.tscn`` in an
            assembled project, any ``res://`` scene path in a user's own.
        physics_hz: Physics ticks per simulated second; also passed as ``--fixed-fps`` so each
            frame runs exactly one tick, flat out.
        headless: No window, no rendering. Set False to render (needs a display).
        display: The X display to render on (a private Xvfb's, or one chosen by the user):
            Godot gets it as ``DISPLAY`` (without ``WAYLAND_DISPLAY``) and uses the x11
            display driver with the opengl3 renderer, which Xvfb's software OpenGL runs.
            ``None``: the display of this environment, as Godot chooses. Unused when headless.
        port: TCP port, 0 = a free one chosen by the OS (use 0 unless debugging).
        user_args: Extra arguments for the scene, appended after ``--``.
        godot_args: Extra engine arguments before ``--`` (e.g. ``--verbose``).
        play: Play mode: a window, keyboard control, real time; no port.
    """

    godot: GodotBinary
    project_dir: Path | str
    scene_res_path: str
    physics_hz: int = 60
    headless: bool = True
    display: str | None = None
    port: int = 0
    user_args: Sequence[str] = ()
    godot_args: Sequence[str] = ()
    play: bool = False

    def argv(self) -> list[str]:
        """The command line, for serve or play mode."""
        args = [*self.godot.command]
        if not self.renders:
            args.append("--headless")
        if self.display is not None and self.renders:
            args += ["--display-driver", "x11", "--rendering-driver", "opengl3"]
        args += ["--path", str(self.project_dir)]
        if not self.play:
            args += ["--fixed-fps", str(int(self.physics_hz))]
        args += [*self.godot_args, BOOTSTRAP_SCENE, "--", f"--rlgodot-scene={self.scene_res_path}"]
        if self.play:
            args.append("--rlgodot-play")
        else:
            args.append(f"--rlgodot-port={int(self.port)}")
        args.append(f"--rlgodot-physics-hz={int(self.physics_hz)}")
        args += list(self.user_args)
        return args

    @property
    def renders(self) -> bool:
        """True when Godot draws (play mode or not headless): it needs a display."""
        return self.play or not self.headless

    def environment(self) -> dict[str, str]:
        """The process environment: this one, with ``display`` as ``DISPLAY`` if it is set."""
        env = dict(os.environ)
        if self.display is not None and self.renders:
            env["DISPLAY"] = self.display
            env.pop("WAYLAND_DISPLAY", None)
        return env


_LIVE: set[GodotProcess] = set()
_LIVE_LOCK = threading.Lock()


class GodotProcess:
    """One running Godot process. Use :meth:`launch`; terminate with :meth:`terminate`.

    Attributes:
        popen: The underlying ``subprocess.Popen``.
        port: The TCP port Godot announced (None in play mode or before ready).
        args: The full command line.
        spawned_at: ``time.monotonic()`` when the process was started.
        ready_at: ``time.monotonic()`` when it announced its port (None before).
        token: The secret its hello must carry (None: Godot requires none).
    """

    def __init__(
        self, popen: subprocess.Popen[bytes], args: Sequence[str], token: str | None = None
    ) -> None:
        self.popen = popen
        self.args: tuple[str, ...] = tuple(args)
        self.token = token
        self.port: int | None = None
        self.spawned_at = time.monotonic()
        self.ready_at: float | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._ready = threading.Event()
        self._eof = threading.Event()
        self._broken = threading.Event()  # a script failed to compile: it will never listen
        self._terminated = False
        with _LIVE_LOCK:
            _LIVE.add(self)
        self._drainer = threading.Thread(
            target=self._drain, name=f"rlgodot-godot-{popen.pid}-output", daemon=True
        )
        self._drainer.start()

    # ------------------------------------------------------------------ start

    @classmethod
    def spawn(cls, command: GodotCommand, *, cpu: int | None = None) -> GodotProcess:
        """Start Godot without waiting for it to listen (see :meth:`launch`).

        Spawning is fast; waiting is not. A session spawns all its processes first and then
        waits for all of them, so they load in parallel.

        Args:
            command: What to run.
            cpu: Pin the process to this CPU (faster on small machines; measure it).

        Raises:
            GodotLaunchError: The binary could not be started.
        """
        args = command.argv()
        token = secrets.token_hex(16)
        try:
            popen = _spawn.popen(
                args,
                cpu=cpu,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={**command.environment(), TOKEN_ENV: token},
            )
        except OSError as exc:
            raise GodotLaunchError(
                f"cannot start Godot ({args[0]}): {exc}; check GODOT_BIN or run 'rlgodot doctor'"
            ) from exc
        return cls(popen, args, token)

    @classmethod
    def launch(
        cls, command: GodotCommand, *, cpu: int | None = None, ready_timeout: float = 30.0
    ) -> GodotProcess:
        """Start Godot and, unless in play mode, wait until it listens.

        Args:
            command: What to run.
            cpu: Pin the process to this CPU.
            ready_timeout: Seconds to wait for ``RLGODOT_LISTENING``.

        Raises:
            GodotLaunchError: Godot exited or stayed silent past ``ready_timeout`` (it is then
                terminated); the message has the exit code and output tail.
        """
        process = cls.spawn(command, cpu=cpu)
        if not command.play:
            process.wait_ready(ready_timeout)
        return process

    def wait_ready(self, timeout: float = 30.0) -> int:
        """Block until Godot announced its port and return it.

        Raises:
            GodotLaunchError: Godot exited first or ``timeout`` passed; it is terminated.
        """
        deadline = time.monotonic() + timeout
        while not self._ready.is_set():
            remaining = deadline - time.monotonic()
            if self._eof.is_set() or self.popen.poll() is not None:
                self._ready.wait(0.05)  # the line may be the last thing it printed
                if self._ready.is_set():
                    break
                self.terminate(1.0)
                raise GodotLaunchError(
                    f"Godot (pid {self.popen.pid}) exited before listening "
                    f"({self.exit_description()}).\nCommand: {' '.join(self.args)}\n"
                    f"Output tail:\n{self.output_tail()}\n{self._hint()}"
                )
            if self._broken.is_set():
                self._ready.wait(0.5)  # let the rest of the error reach the tail
                self.terminate(1.0)
                raise GodotLaunchError(
                    f"Godot (pid {self.popen.pid}) could not compile a script, so it will never "
                    f"listen.\nCommand: {' '.join(self.args)}\nOutput tail:\n"
                    f"{self.output_tail()}\nFix the script named above (every GDScript must be "
                    "statically typed: untyped declarations and unsafe access are errors)."
                )
            if remaining <= 0:
                self.terminate(2.0)
                raise GodotLaunchError(
                    f"Godot (pid {self.popen.pid}) did not print RLGODOT_LISTENING within "
                    f"{timeout:g} s.\nCommand: {' '.join(self.args)}\n"
                    f"Output tail:\n{self.output_tail()}\nIf the project is large, raise "
                    "ready_timeout; if the output shows script errors, fix the scene; "
                    "'rlgodot doctor' checks the setup."
                )
            self._ready.wait(min(remaining, 0.1))
        assert self.port is not None  # set together with _ready
        return self.port

    # ------------------------------------------------------------------ state

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def poll(self) -> int | None:
        """The exit code, or None while running (negative = killed by that signal)."""
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit and return its exit code.

        Raises:
            subprocess.TimeoutExpired: Still running after ``timeout``.
        """
        code = self.popen.wait(timeout)
        self._forget_if_done()
        return code

    def describe(self) -> str:
        """``Godot (pid N, port P)``, for messages."""
        port = self.port if self.port is not None else "-"
        return f"Godot (pid {self.popen.pid}, port {port})"

    def exit_description(self) -> str:
        """Say how the process ended: exit code with its meaning, or the killing signal."""
        code = self.popen.poll()
        if code is None:
            return "still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"killed by {name}"
        hint = _EXIT_HINTS.get(code)
        return f"exit code {code}" + (f": {hint}" if hint else "")

    def output_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines Godot printed (stdout and stderr merged)."""
        if self._eof.is_set():
            self._drainer.join(0.5)
        tail = list(self._tail)[-lines:]
        return "\n".join(tail) if tail else "(no output)"

    # ------------------------------------------------------------------ stop

    def terminate(self, timeout: float = 3.0, *, grace: float = 0.0) -> int | None:
        """Stop the process and reap it; idempotent, safe from any thread.

        Args:
            timeout: Seconds after SIGTERM before SIGKILL.
            grace: Seconds to let it exit by itself first (after the client said ``close``).

        Returns:
            The exit code (None only if even SIGKILL did not end it in time).
        """
        if self.popen.poll() is None and grace > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                try:
                    self.popen.wait(5.0)
                except subprocess.TimeoutExpired:
                    return None
        self._terminated = True
        self._drainer.join(1.0)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._forget_if_done()
        return self.popen.returncode

    def signal_terminate(self) -> None:
        """Send SIGTERM without waiting (to stop many processes in parallel)."""
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        try:
            self.popen.send_signal(sig)
            if sig is signal.SIGTERM:
                # A stopped process (SIGSTOP, a debugger) cannot act on SIGTERM until resumed.
                self.popen.send_signal(signal.SIGCONT)
        except ProcessLookupError:
            pass

    def _forget_if_done(self) -> None:
        if self.popen.returncode is not None:
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def __enter__(self) -> GodotProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.terminate()

    def __repr__(self) -> str:
        return f"<{self.describe()}, {self.exit_description()}>"

    # ------------------------------------------------------------------ output

    def _hint(self) -> str:
        return (
            "If the output shows a missing class or resource, the project may need a "
            "re-import (delete its cache dir); 'rlgodot doctor' checks the setup."
        )

    def _drain(self) -> None:
        stream = self.popen.stdout
        if stream is None:
            self._eof.set()
            return
        try:
            for raw in iter(stream.readline, b""):
                if not self._ready.is_set():
                    match = _LISTENING_RE.search(raw)
                    if match:
                        self.port = int(match.group(1))
                        self.ready_at = time.monotonic()
                        self._ready.set()
                    elif _COMPILE_ERROR_RE.search(raw):
                        self._broken.set()
                self._tail.append(raw[:2000].decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):  # pipe closed by terminate()
            pass
        finally:
            self._eof.set()


def live_processes() -> list[GodotProcess]:
    """Godot processes started by this interpreter and not yet reaped."""
    with _LIVE_LOCK:
        return list(_LIVE)


def live_count() -> int:
    """How many Godot processes this interpreter started and has not reaped yet."""
    with _LIVE_LOCK:
        return len(_LIVE)


def terminate_all(timeout: float = 3.0) -> None:
    """Terminate every live Godot process (registered with ``atexit``)."""
    processes = live_processes()
    for process in processes:  # signal all first, so they stop in parallel
        process.signal_terminate()
    for process in processes:
        with contextlib.suppress(Exception):  # best effort at exit
            process.terminate(timeout)


atexit.register(terminate_all)


def cpu_for(index: int) -> int:
    """The CPU to pin process ``index`` to: round robin over the CPUs we may run on."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[index % len(cpus)]
