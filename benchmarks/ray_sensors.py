"""In-engine cost of the addon's ray sensors (RaySensor2D, RaySensor3D), per sense() and per ray.

Usage: python benchmarks/ray_sensors.py [--n-envs 64] [--rays 8 32 128] [--repeats 5]

The scene (benchmarks/sensor_bench/) gives each instance a walled 2D room and a walled 3D room
with four pillars, each with a turret carrying one sensor (2D: 300 px, 3D: 6 m; about a third of
the rays hit something). Random actions turn the turrets. One headless Godot process, pinned to
a core, runs ``--n-envs`` instances with action repeat 1, so get_state() (the sensing) runs
every physics tick, the most a scene would sense. For each ray count, the addon's ``bench``
request (random actions, no I/O) runs the scene four ways, interleaved and repeated: no
sensing, the 2D sensor only, the 3D sensor only, both; each run about ``--seconds`` long.

The clock is the Godot process's CPU time (``/proc/PID/task/*/schedstat``, nanoseconds on a
CPU), not the wall clock: on a VM shared with other jobs the process waits for a core a varying
share of the time, which a wall clock counts and CPU time does not. Figures are medians over
the repetitions: scene ticks per CPU second, the microseconds one sense() costs (the CPU time a
tick gains from sensing, per instance) and per ray; the wall-clock ticks/s are in the JSON.
Under Godot's own 3D physics and under Jolt (parking3d's engine).

Then where a ray's time goes: ``sensor_bench/ray_cost_split.gd`` times, in a headless Godot,
``intersect_ray()`` alone against ``RaySensor3D.sense()`` with every ray hitting (the engine
builds a Dictionary per hit) or every ray missing; median of 3 runs per engine. Prints two
tables, then one JSON object per row.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
from pathlib import Path
from typing import Any

from rlgodot.core.runtime.launcher import GodotBinary, GodotCommand, assemble_project
from rlgodot.core.runtime.launcher.binary import find_godot
from rlgodot.core.runtime.launcher.project import addon_dir
from rlgodot.core.runtime.protocol.messages import SessionConfig
from rlgodot.core.runtime.session import GodotSession

SCENE_DIR = Path(__file__).resolve().parent / "sensor_bench"
SCENE = "res://envs/sensor_bench/sensor_bench.tscn"
ENGINES = {"GodotPhysics3D": {}, "Jolt": {"physics": {"3d/physics_engine": '"Jolt Physics"'}}}
SENSING = {"none": 0, "2d": 1, "3d": 2, "both": 3}
CALIBRATION_STEPS = 30
SPLIT_SCRIPT = "res://envs/sensor_bench/ray_cost_split.gd"
SPLIT_RUNS = 3


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of process ``pid`` so far, in seconds."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def ticks_per_second(
    session: GodotSession, rays: int, sensing: int, seconds: float
) -> tuple[float, float]:
    """Scene ticks per CPU second and per wall second of a ``bench`` of about ``seconds``."""
    session.reset(seeds=list(range(session.info.n_envs)),
                  options={"rays": rays, "sensing": sensing})
    probe = session.bench(CALIBRATION_STEPS, timeout=120.0)[0]
    steps = max(CALIBRATION_STEPS, math.ceil(seconds * probe["steps"] / probe["seconds"]))
    pid = session.processes[0].popen.pid
    cpu_before = cpu_seconds(pid)
    result = session.bench(steps, timeout=120.0 + 10.0 * seconds)[0]
    cpu = cpu_seconds(pid) - cpu_before
    return result["steps"] / cpu, result["steps"] / result["seconds"]


def bench_project(godot: GodotBinary, engine: str) -> Path:
    """The assembled, imported project of the bench scene under ``engine``."""
    return assemble_project(addon_dir(), {"sensor_bench": SCENE_DIR}, ENGINES[engine], godot)


def cost_split(godot: GodotBinary, engine: str) -> dict[str, Any]:
    """Median microseconds per ray of ray_cost_split.gd's four loops, pinned to one core."""
    runs: list[dict[str, float]] = []
    for _ in range(SPLIT_RUNS):
        proc = subprocess.run(
            ["taskset", "-c", "0", *godot.command, "--headless", "--path",
             str(bench_project(godot, engine)), "--script", SPLIT_SCRIPT],
            capture_output=True, text=True, timeout=300, check=True,
        )
        line = next(s for s in proc.stdout.splitlines() if "ray_cost_split" in s)
        words = line.split()[2:]
        runs.append({words[k]: float(words[k + 1]) for k in range(0, len(words), 2)})
    return {"engine_3d": engine, **{key: statistics.median(run[key] for run in runs)
                                    for key in runs[0]}}


def measure(godot: GodotBinary, engine: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per ray count: median ticks/s of each sensing mode and the cost per sense()."""
    project = bench_project(godot, engine)
    config = SessionConfig(n_envs=args.n_envs, action_repeat=1, max_episode_steps=0,
                           options={"rays": 1, "sensing": 0})
    rows = []
    with GodotSession.launch(GodotCommand(godot, project, SCENE), n_envs=args.n_envs,
                             config=config, pin_cpus=True) as session:
        for rays in args.rays:
            runs: dict[str, list[float]] = {mode: [] for mode in SENSING}
            wall: dict[str, list[float]] = {mode: [] for mode in SENSING}
            for _ in range(args.repeats):
                for mode, sensing in SENSING.items():
                    per_cpu_s, per_wall_s = ticks_per_second(session, rays, sensing, args.seconds)
                    runs[mode].append(per_cpu_s)
                    wall[mode].append(per_wall_s)
            tps = {mode: statistics.median(values) for mode, values in runs.items()}

            def sense_us(mode: str, tps: dict[str, float] = tps) -> float:
                return (1.0 / tps[mode] - 1.0 / tps["none"]) / args.n_envs * 1e6

            rows.append({
                "engine_3d": engine, "n_envs": args.n_envs, "rays": rays,
                "ticks_per_cpu_s": {mode: round(value, 1) for mode, value in tps.items()},
                "ticks_per_wall_s": {mode: round(statistics.median(values), 1)
                                     for mode, values in wall.items()},
                "sense_2d_us": round(sense_us("2d"), 2),
                "ray_2d_us": round(sense_us("2d") / rays, 3),
                "sense_3d_us": round(sense_us("3d"), 2),
                "ray_3d_us": round(sense_us("3d") / rays, 3),
            })
    return rows


def main() -> None:
    """Measure under both 3D physics engines; print a table, then the JSON rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--rays", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5,
                        help="length of each bench run")
    args = parser.parse_args()
    godot = find_godot()
    rows = [row for engine in ENGINES for row in measure(godot, engine, args)]
    print(f"{'3D engine':<15} {'rays':>5} {'ticks/CPU s none':>17} {'2D':>9} {'3D':>9} {'both':>9} "
          f"{'us/sense 2D':>12} {'us/ray 2D':>10} {'us/sense 3D':>12} {'us/ray 3D':>10}")
    for r in rows:
        t = r["ticks_per_cpu_s"]
        print(f"{r['engine_3d']:<15} {r['rays']:>5} {t['none']:>17,.0f} {t['2d']:>9,.0f} "
              f"{t['3d']:>9,.0f} {t['both']:>9,.0f} {r['sense_2d_us']:>12.1f} "
              f"{r['ray_2d_us']:>10.3f} {r['sense_3d_us']:>12.1f} {r['ray_3d_us']:>10.3f}")
    splits = [cost_split(godot, engine) for engine in ENGINES]
    print(f"\n{'3D engine':<15} {'intersect_ray us: hit':>22} {'miss':>6} "
          f"{'sense() us per ray: hit':>24} {'miss':>6}")
    for r in splits:
        print(f"{r['engine_3d']:<15} {r['intersect_ray_hit_us']:>22.2f} "
              f"{r['intersect_ray_miss_us']:>6.2f} {r['sense_hit_us']:>24.2f} "
              f"{r['sense_miss_us']:>6.2f}")
    for r in rows + splits:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
