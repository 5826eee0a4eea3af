"""CPU instructions Godot spends on N Python-driven steps: a before/after measure noise cannot move.

Usage: python benchmarks/step_instructions.py [--env motorcycle] [--n-envs 64] [--steps 60]

Wall-clock throughput on a shared 2-vCPU VM moves by +-15 % from run to run, more than the
changes worth measuring. This runs the Godot process of a headless session under Valgrind's
callgrind with instrumentation off, turns it on (``callgrind_control -i on``) for ``--steps``
steps with fixed random actions, off again, and prints the instructions executed in between:
the same inputs give the same count to a few parts per million. Run it in two checkouts (each
with its own install) and compare. Needs ``valgrind`` (Debian package); takes a few minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from rlgodot.core.envs.batch import BatchTranslator
from rlgodot.core.envs.launch import prepare_project
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin.registry import get_registry
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.process import GodotCommand
from rlgodot.core.runtime.protocol.messages import SessionConfig
from rlgodot.core.runtime.session import GodotSession

VALGRIND_TIMEOUT = 900.0  # seconds for launch and for each request: Godot runs ~50x slower


def main() -> None:
    """Measure and print the instruction count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="motorcycle")
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")

    spec = get_registry().get(args.env)
    godot = find_godot()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        valgrind = ("valgrind", "--tool=callgrind", "--trace-children=yes", "--instr-atstart=no",
                    f"--callgrind-out-file={out}.%p")
        command = GodotCommand(dataclasses.replace(godot, command=valgrind + godot.command),
                               prepare_project(spec, godot), spec.scene_res_path,
                               physics_hz=spec.physics_hz)
        config = SessionConfig(n_envs=args.n_envs, action_repeat=spec.action_repeat,
                               max_episode_steps=spec.max_episode_steps,
                               options=spec.default_options("scene"))
        session = GodotSession.launch(command, n_envs=args.n_envs, config=config,
                                      ready_timeout=VALGRIND_TIMEOUT, timeout=VALGRIND_TIMEOUT)
        translator = BatchTranslator(spec, args.n_envs, "same_step")
        rng = np.random.default_rng(0)
        actions = [translator.encode(random_actions(spec.action_space, args.n_envs, rng))
                   for _ in range(args.steps)]
        try:
            session.reset(seeds=list(range(args.n_envs)))
            for k in range(args.warmup):
                session.step(actions[k % len(actions)])
            pid = str(session.processes[0].popen.pid)
            subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
            for k in range(args.steps):
                session.step(actions[k])
            subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
        finally:
            session.close(timeout=VALGRIND_TIMEOUT)
        totals = [int(m.group(1)) for path in Path(tmp).glob("callgrind.out.*")
                  for m in re.finditer(r"^totals: (\d+)", path.read_text(), re.M)]
    instructions = max(totals)
    print(f"{spec.id}: {args.n_envs} instances, {args.steps} steps: {instructions:,} instructions "
          f"in Godot ({instructions / args.steps / args.n_envs:,.0f} per instance-step)")


if __name__ == "__main__":
    main()
