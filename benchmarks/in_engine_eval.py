"""Success rate of each shipped model evaluated in Python (SB3) and inside Godot (RLPolicy).

Usage: python benchmarks/in_engine_eval.py [--episodes 100] [--seed 0]

The same instances, seeds and episode shares both ways (``rlgodot eval`` and ``rlgodot eval
--in-engine``), so the two columns compare episode for episode, up to float32 rounding of the
network in Godot. Prints a Markdown table and one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import time

from rlgodot.core.jobs.config import EvalConfig
from rlgodot.core.jobs.evaluate import evaluate

SHIPPED = ("ball-v0", "ball-discrete-v0", "motorcycle-v0", "motorcycle-discrete-v0",
           "parking3d-v0", "parking3d-discrete-v0")


def main() -> None:
    """Evaluate every shipped model both ways and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    print("| env | Python success | in Godot success | Python mean return | in Godot mean return |")
    print("|---|---|---|---|---|")
    for env in SHIPPED:
        results = {}
        for in_engine in (False, True):
            start = time.perf_counter()
            result = evaluate(EvalConfig(env=env, episodes=args.episodes, seed=args.seed,
                                         in_engine=in_engine))
            results[in_engine] = (result, time.perf_counter() - start)
        (python, _), (engine, _) = results[False], results[True]
        rows.append({"env": env, "python": python.success_rate, "in_engine": engine.success_rate,
                     "python_return": python.mean_return, "in_engine_return": engine.mean_return})
        print(f"| {env} | {python.success_rate:.0%} | {engine.success_rate:.0%} | "
              f"{python.mean_return:.3f} | {engine.mean_return:.3f} |", flush=True)
    print(json.dumps({"episodes": args.episodes, "seed": args.seed, "rows": rows}))


if __name__ == "__main__":
    main()
