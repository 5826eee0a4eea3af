"""ObservationTerms: the expression language, its canonical text for Godot, its numpy evaluation,
and parity of the bundled envs' declared observations with the numpy decoders they replaced."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from rlgodot.core import get_registry
from rlgodot.core.envs.batch import EnvBatch
from rlgodot.core.errors import PluginError
from rlgodot.core.jobs.models import load_model
from rlgodot.core.jobs.random_actions import random_actions
from rlgodot.core.plugin import Decoder, ObservationTerms
from rlgodot.core.plugin.observation import FUNCTIONS
from rlgodot.core.plugin.observation_numpy import NUMPY_FUNCTIONS


def _spec(env: str):
    return get_registry().get(env)


# --- the language ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("term", "problem"),
    [
        ("x ** 2", "'**' (use pow(x, y))"),
        ("x // 2", "'//'"),
        ("x % 2", "'%'"),
        ("x.real", "attribute access"),
        ("x < 1", "comparisons"),
        ("x and y", "'and' / 'or'"),
        ("x if y else 1", "'x if c else y'"),
        ("x[0]", "indexing"),
        ("+x", "unary '+'"),
        ("not x", "'not' / '~'"),
        ("'x'", "the literal 'x'"),
        ("True", "the literal True"),
        ("1e999", "the non-finite literal inf"),
        ("1" + "0" * 400, "the non-finite literal 1000"),
        ("hypot(x, y)", "the function 'hypot'"),
        ("min(x)", "min() with 1 arguments (it takes a, b)"),
        ("clamp(x, 0)", "clamp() with 2 arguments (it takes x, lo, hi)"),
        ("max(x, b=1)", "keyword or * arguments in max()"),
        ("np.sin(x)", "calling anything but a function name"),
        ("PI * x", "the name 'PI'"),
        ("lambda: 1", "'Lambda'"),
        ("sin(x", "is not an expression"),
    ],
)
def test_terms_outside_the_language_are_refused_in_one_line(term, problem):
    with pytest.raises(PluginError) as caught:
        ObservationTerms(("x", term))
    message = str(caught.value)
    assert "\n" not in message
    assert f"observation term 1 ({term!r})" in message
    assert problem in message
    assert "allowed: float literals" in message and "clamp(x, lo, hi)" in message


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"terms": ()}, "at least one term"),
        ({"terms": ("x",), "low": 1.0, "high": 1.0}, "finite low < high"),
        ({"terms": ("x",), "high": math.inf}, "finite low < high"),
        ({"terms": ("x",), "constants": {"K": math.nan}}, "constants must be finite numbers"),
        ({"terms": ("x",), "constants": {"K": "2"}}, "constants must be finite numbers"),
        ({"terms": ("x",), "constants": {"sin": 1.0}}, "not a usable name"),
        ({"terms": ("x",), "constants": {"TAU": 6.28}}, "not a usable name"),
    ],
)
def test_bad_bounds_and_constants_are_refused(kwargs, problem):
    with pytest.raises(PluginError, match=problem):
        ObservationTerms(**kwargs)


def test_every_function_of_the_language_has_its_numpy_twin():
    assert set(FUNCTIONS) == set(NUMPY_FUNCTIONS)
    names = ("x", "y", "z")
    states = np.array([[0.3, -0.7, 2.0]], dtype=np.float32)
    for name, params in FUNCTIONS.items():
        term = f"{name}({', '.join(names[:len(params)])})"
        expected = NUMPY_FUNCTIONS[name](*(states[0, :len(params)].astype(np.float64)))
        got = ObservationTerms((term,), low=-10.0, high=10.0).evaluate(states, names)[0, 0]
        assert got == np.float32(np.nan_to_num(expected)), term


def test_names_must_be_state_names_or_constants():
    terms = ObservationTerms(("a / K", "sin(b)"), constants={"K": 2.0})
    terms.check(("a", "b"))
    with pytest.raises(PluginError) as caught:
        terms.check(("a", "c"))
    message = str(caught.value)
    assert "observation term 1 ('sin(b)') uses the unknown name 'b'" in message
    assert "state names (a, c) and the constants (K)" in message
    with pytest.raises(PluginError, match=r"constants \['a'\] are also state names"):
        ObservationTerms(("a",), constants={"a": 1.0}).check(("a",))


def test_the_spec_checks_its_observation_against_names_and_space():
    ball = _spec("ball")
    with pytest.raises(PluginError, match="env 'ball-v0': observation term 0 .* unknown name 'z'"):
        dataclasses.replace(ball, observation=ObservationTerms(("z",) * 6))
    with pytest.raises(PluginError, match=r"has 1 terms clipped to \[-1.0, 1.0\].*make them agree"):
        dataclasses.replace(ball, observation=ObservationTerms(("ball_x",)))
    with pytest.raises(PluginError, match=r"clipped to \[0.0, 1.0\]"):
        dataclasses.replace(ball, observation=ObservationTerms(("ball_x",) * 6, low=0.0))


# --- canonical text ----------------------------------------------------------------------------

def test_canonical_text_has_float_literals_and_inlined_constants():
    terms = ObservationTerms(
        ("vx / 15", "x / max(L, 1)", "-K * vx", "vx - K", "-(-vx)", "clamp(vx, -1, 1) + 0.5",
         "atan2(vy, vx) / HALF_TURN", "2"),
        constants={"K": -2.5, "HALF_TURN": math.pi},
    )
    assert terms.canonical() == [
        "vx / 15.0",
        "x / max(L, 1.0)",
        "2.5 * vx",
        "vx - -2.5",
        "vx",
        "clamp(vx, -1.0, 1.0) + 0.5",
        f"atan2(vy, vx) / {math.pi!r}",
        "2.0",
    ]


def test_canonical_text_evaluates_like_the_terms():
    names = ("vx", "vy", "x", "L")
    terms = ObservationTerms(
        ("vx / 15", "x / max(L, 1)", "-K * vx", "vx - K", "atan2(vy, vx) / HALF_TURN"),
        constants={"K": -2.5, "HALF_TURN": math.pi}, low=-10.0, high=10.0,
    )
    again = ObservationTerms(tuple(terms.canonical()), low=-10.0, high=10.0)
    assert again.canonical() == terms.canonical()
    states = np.random.default_rng(0).uniform(-3, 3, (50, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.evaluate(states, names), terms.evaluate(states, names))


# --- evaluation --------------------------------------------------------------------------------

def test_evaluate_maps_nan_to_zero_and_infinities_to_the_bounds_then_clips():
    terms = ObservationTerms(
        ("a", "1 / a", "log(a)", "sqrt(a)", "a * 10", "floor(a) + sign(a)", "1"),
        low=-2.0, high=3.0,
    )
    states = np.array([[np.nan], [0.0], [-0.0], [np.inf], [-np.inf], [-1.0], [0.25]],
                      dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nan/inf arithmetic warns nothing
        obs = terms.evaluate(states, ("a",))
    assert obs.dtype == np.float32 and obs.shape == (7, 7) and obs.flags.c_contiguous
    expected = np.array([
        # a     1/a   log   sqrt  a*10  floor+sign  1
        [0.0,   0.0,  0.0,  0.0,  0.0,  0.0,   1.0],   # NaN -> 0
        [0.0,   3.0, -2.0,  0.0,  0.0,  0.0,   1.0],   # 1/0 = inf, log 0 = -inf
        [0.0,  -2.0, -2.0,  0.0,  0.0,  0.0,   1.0],   # 1/-0 = -inf
        [3.0,   0.0,  3.0,  3.0,  3.0,  3.0,   1.0],   # inf -> high
        [-2.0, -0.0,  0.0,  0.0, -2.0, -2.0,   1.0],   # log, sqrt of -inf are NaN -> 0
        [-1.0, -1.0,  0.0,  0.0, -2.0, -2.0,   1.0],   # clipped to low
        [0.25,  3.0, math.log(0.25), 0.5, 2.5, 1.0, 1.0],
    ], dtype=np.float32)
    np.testing.assert_array_equal(obs, expected)


def test_evaluate_computes_in_double_precision():
    # a * a - 1 - 2**-22 is 2**-46 in float64 but 0 in float32; scaled by 2**46 it is 1.
    terms = ObservationTerms(("(a * a - 1 - B) * C",), constants={"B": 2.0**-22, "C": 2.0**46},
                             low=-10.0, high=10.0)
    states = np.array([[1.0 + 2.0**-23]], dtype=np.float32)
    assert terms.evaluate(states, ("a",))[0, 0] == 1.0


def test_evaluate_reads_columns_by_name_and_takes_empty_batches():
    terms = ObservationTerms(("b - a", "min(a, b)", "max(a, b)", "clamp(c, 0, 0.5)",
                              "pow(b, 2)", "abs(a)"))
    names = ("a", "c", "b")
    states = np.array([[0.5, 0.9, -0.25]], dtype=np.float32)
    np.testing.assert_allclose(terms.evaluate(states, names),
                               [[-0.75, -0.25, 0.5, 0.5, 0.0625, 0.5]], rtol=1e-7)
    empty = terms.evaluate(np.zeros((0, 3), dtype=np.float32), names)
    assert empty.shape == (0, 6) and empty.dtype == np.float32


def test_the_spec_decoder_evaluates_the_declared_observation():
    spec = _spec("motorcycle")
    decoder = spec.create_decoder(spec.default_options("reward"))
    states = np.random.default_rng(1).normal(size=(8, len(spec.state_names))).astype(np.float32)
    np.testing.assert_array_equal(decoder.observations(states),
                                  spec.observation.evaluate(states, spec.state_names))
    with pytest.raises(NotImplementedError, match="declare EnvSpec.observation"):
        Decoder().observations(states)


def test_a_decoder_that_overrides_observations_still_works():
    class Raw(Decoder):
        def observations(self, states):
            return states[:, :6]

    spec = dataclasses.replace(_spec("ball"), observation=None, make_decoder=Raw)
    states = np.ones((3, len(spec.state_names)), dtype=np.float32)
    decoder = spec.create_decoder({})
    assert decoder.observe is None
    np.testing.assert_array_equal(decoder.observations(states), states[:, :6])


def test_discrete_variants_share_their_observation():
    for env in ("ball", "motorcycle", "parking3d"):
        assert _spec(env).observation == _spec(f"{env}-discrete").observation


# --- parity with the numpy decoders the terms replaced -----------------------------------------
# The old hand-written observations() of each bundled env's first version, verbatim but for the
# index constants.

def _old_ball(states: np.ndarray) -> np.ndarray:
    obs = np.empty((states.shape[0], 6), dtype=np.float32)
    obs[:, 0:2] = states[:, 0:2] / 5.0
    obs[:, 2:4] = states[:, 2:4] / 5.0
    obs[:, 4:6] = (states[:, 4:6] - states[:, 0:2]) / 10.0
    return np.clip(obs, -1.0, 1.0, out=obs)


def _old_motorcycle(states: np.ndarray) -> np.ndarray:
    s = {name: i for i, name in enumerate(_spec("motorcycle-v0").state_names)}
    look = s["look_0"]
    obs = np.empty((states.shape[0], 26), dtype=np.float32)
    angle = states[:, s["angle"]]
    length = np.maximum(states[:, s["course_length"]], 1.0)
    obs[:, 0] = states[:, s["vx"]] / 15.0
    obs[:, 1] = states[:, s["vy"]] / 15.0
    obs[:, 2] = np.sin(angle)
    obs[:, 3] = np.cos(angle)
    obs[:, 4] = states[:, s["angular_velocity"]] / 10.0
    obs[:, 5] = states[:, s["rear_spin"]] / 60.0
    obs[:, 6] = states[:, s["rear_contact"]]
    obs[:, 7] = states[:, s["front_contact"]]
    obs[:, 8] = states[:, s["head_clearance"]] / 3.0
    obs[:, 9] = states[:, s["wind"]] / 5.0
    obs[:, 10] = states[:, s["on_oil"]]
    obs[:, 11] = states[:, s["oil_ahead"]] / 30.0
    obs[:, 12] = states[:, s["x"]] / length
    obs[:, 13] = (length - states[:, s["x"]]) / 200.0
    obs[:, 14:] = states[:, look:look + 12] / 4.0
    np.nan_to_num(obs, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(obs, -1.0, 1.0, out=obs)


def _old_parking3d(states: np.ndarray) -> np.ndarray:
    cx, cz, ch, speed, lat, yaw, steer, tx, tz, th, herr, out = range(12)
    ray0 = 14
    obs = np.empty((states.shape[0], 23), dtype=np.float32)
    dx = states[:, tx] - states[:, cx]
    dz = states[:, tz] - states[:, cz]
    c, s = np.cos(states[:, ch]), np.sin(states[:, ch])
    obs[:, 0] = (-dx * c + dz * s) / 15.0
    obs[:, 1] = (dx * s + dz * c) / 15.0
    obs[:, 2] = np.hypot(dx, dz) / 15.0
    rel = states[:, th] - states[:, ch]
    obs[:, 3] = np.cos(rel)
    obs[:, 4] = np.sin(rel)
    obs[:, 5] = states[:, herr] / np.pi
    obs[:, 6] = states[:, speed] / 5.0
    obs[:, 7] = states[:, lat] / 5.0
    obs[:, 8] = states[:, yaw] / 2.0
    obs[:, 9] = states[:, steer]
    obs[:, 10] = states[:, out] / 3.0
    obs[:, 11:] = states[:, ray0:ray0 + 12] / 8.0
    np.nan_to_num(obs, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(obs, -1.0, 1.0, out=obs)


OLD = {"ball-v0": _old_ball, "motorcycle-v0": _old_motorcycle, "parking3d-v0": _old_parking3d}
N_ENVS = 16
STEPS = 200


@pytest.fixture(scope="module")
def recorded(godot_binary) -> dict[str, np.ndarray]:
    """Raw states (every step's, terminal ones included) of random rollouts, per env."""
    states: dict[str, np.ndarray] = {}
    for env in OLD:
        spec = _spec(env)
        rng = np.random.default_rng(3)
        batch = EnvBatch(spec, N_ENVS, "same_step")
        try:
            seen = [batch.session.reset(list(range(100, 100 + N_ENVS))).states]
            for _ in range(STEPS):
                wire = batch.encode(random_actions(spec.action_space, N_ENVS, rng))
                step = batch.session.step(wire)
                seen += [step.states, step.terminal_states]
        finally:
            batch.close()
        states[env] = np.concatenate(seen)
    return states


@pytest.mark.godot
@pytest.mark.parametrize("env", sorted(OLD))
def test_declared_observation_equals_the_old_numpy_decoder(recorded, env):
    spec = _spec(env)
    states = recorded[env]
    assert len(states) >= 3000
    new = spec.create_decoder(spec.default_options("reward")).observations(states)
    old = OLD[env](states)
    assert new.shape == old.shape and new.dtype == np.float32
    assert np.abs(new - old).max() <= 1e-6


@pytest.mark.godot
@pytest.mark.parametrize("env_id", sorted(OLD) + [i.replace("-v0", "-discrete-v0") for i in OLD])
def test_shipped_models_act_the_same_on_the_declared_observation(recorded, env_id):
    spec = _spec(env_id)
    model, _ = load_model(spec.model)
    first = spec.id.replace("-discrete", "")
    states = recorded[first]
    old_actions, _ = model.predict(OLD[first](states), deterministic=True)
    new_actions, _ = model.predict(spec.observation.evaluate(states, spec.state_names),
                                   deterministic=True)
    if spec.action_space.shape:
        np.testing.assert_allclose(new_actions, old_actions, atol=1e-5)
    else:
        np.testing.assert_array_equal(new_actions, old_actions)


@pytest.mark.parametrize("env", ["ball", "motorcycle", "parking3d", "synthetic"])
def test_batched_columns_and_shared_subterms_change_no_bit(env):
    """The compiled terms (runs of scaled columns in one division, repeated operations computed
    once) equal each term evaluated on its own, bit for bit."""
    if env == "synthetic":
        names = ("a", "b", "c", "d")
        terms = ObservationTerms(
            ("a", "-b", "c / -3", "d / 7", "b / 2", "c", "a * a - b * (a * a)", "a * a / K", "-d"),
            constants={"K": 3.0}, low=-5.0, high=5.0,
        )
    else:
        names, terms = _spec(env).state_names, _spec(env).observation
    states = np.random.default_rng(2).normal(0, 4, (256, len(names))).astype(np.float32)
    alone = np.concatenate([
        dataclasses.replace(terms, terms=(term,)).evaluate(states, names) for term in terms.terms
    ], axis=1)
    np.testing.assert_array_equal(terms.evaluate(states, names), alone)
