"""``rlgodot eval --in-engine``: the exported policy acting inside Godot matches the Python eval.

Both evaluations run the same instances, seeds and episode shares; the network differs only by
float32 rounding (torch vs Godot's RLPolicy), so the episodes match one for one in practice.
The 100-episode comparison of every shipped model is ``benchmarks/in_engine_eval.py``.
"""

from __future__ import annotations

import pytest

from rlgodot.core.errors import InvalidOption
from rlgodot.core.jobs.config import EvalConfig
from rlgodot.core.jobs.evaluate import evaluate


@pytest.mark.parametrize("env", ["ball-v0", "ball-discrete-v0", "motorcycle-v0"])
def test_in_engine_eval_reproduces_the_python_eval(godot_binary, env):
    python = evaluate(EvalConfig(env=env, episodes=16, seed=3))
    engine = evaluate(EvalConfig(env=env, episodes=16, seed=3, in_engine=True))
    assert engine.episodes == python.episodes == 16
    assert engine.policy.endswith("(in Godot)")
    assert abs(engine.success_rate - python.success_rate) <= 1 / 16
    assert engine.mean_return == pytest.approx(python.mean_return, rel=0.05, abs=0.2)


def test_in_engine_refuses_what_it_cannot_do():
    with pytest.raises(InvalidOption, match="--in-engine"):
        evaluate(EvalConfig(env="ball", episodes=1, in_engine=True, random_policy=True))
    with pytest.raises(InvalidOption, match="deterministic"):
        evaluate(EvalConfig(env="ball", episodes=1, in_engine=True, deterministic=False))
