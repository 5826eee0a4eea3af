"""Start child processes that cannot outlive us.

Two facts shape this (both measured with Ray RLlib runners, see docs/DISTRIBUTED.md):

- ``close()`` and ``atexit`` do not run on SIGKILL, so the child gets
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills it when its parent goes away. It also
  stays in our process group (no ``setsid``), so a supervisor that kills the group takes it too.
- The parent-death signal fires when the *thread* that forked the child exits, not the
  process. A child spawned from a short-lived worker thread would be killed as soon as that
  thread ends. So every child is forked from one daemon thread that lives as long as the
  interpreter.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

_PR_SET_PDEATHSIG = 1

_libc: Any = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _prctl = _libc.prctl  # resolved here: the child after fork must do as little as possible
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        _libc = None


def _make_preexec(parent_pid: int, cpu: int | None) -> Callable[[], None] | None:
    """Return the function the child runs between fork and exec."""
    if _libc is None and cpu is None:
        return None

    def preexec() -> None:
        if _libc is not None:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            # The parent may have died between fork and prctl: then nobody would kill us.
            if os.getppid() != parent_pid:
                os._exit(1)
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return preexec


class _Spawner:
    """One long-lived daemon thread that forks every child (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[Any]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._pid = 0

    def call(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            # A forked copy of this interpreter has no spawner thread: start a new one.
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="rlgodot-spawner", daemon=True
                )
                self._thread.start()
                self._pid = os.getpid()
            reply: queue.SimpleQueue[Any] = queue.SimpleQueue()
            self._queue.put((fn, reply))
        ok, value = reply.get()
        if ok:
            return value
        raise value

    @staticmethod
    def _run(jobs: queue.SimpleQueue[Any]) -> None:
        while True:
            fn, reply = jobs.get()
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # handed back to the caller's thread
                reply.put((False, exc))


_SPAWNER = _Spawner()


def popen(
    args: Sequence[str],
    *,
    cpu: int | None = None,
    **kwargs: Any,
) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` with a parent-death SIGKILL and optional pinning to one CPU.

    Args:
        args: The command line.
        cpu: Pin the child (and every thread it starts) to this CPU.
        **kwargs: Passed to ``subprocess.Popen`` (not ``preexec_fn`` / ``start_new_session``).
    """
    preexec = _make_preexec(os.getpid(), cpu)
    return _SPAWNER.call(lambda: subprocess.Popen(list(args), preexec_fn=preexec, **kwargs))


def run(args: Sequence[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` (text, output captured) for a child that must die with us.

    Raises:
        subprocess.TimeoutExpired: After killing the child, with the output so far.
    """
    proc = popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        **kwargs,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise subprocess.TimeoutExpired(proc.args, timeout, output=out) from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, None)
