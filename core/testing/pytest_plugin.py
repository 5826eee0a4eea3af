"""pytest plugin: fixtures and parametrisation for testing env plugins against real Godot."""

from __future__ import annotations

import os
import shutil

import pytest

from rlgodot.core.errors import RLGodotError
from rlgodot.core.runtime.launcher.binary import GodotBinary


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--rlgodot-env`` and ``--rlgodot-steps``."""
    group = parser.getgroup("rlgodot")
    group.addoption(
        "--rlgodot-env",
        action="append",
        default=[],
        help="env id(s) that rlgodot_env_id is parametrised over (default: all installed)",
    )
    group.addoption(
        "--rlgodot-steps",
        type=int,
        default=2000,
        help="random steps per conformance check (default 2000)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``rlgodot_env_id`` over envs and ``rlgodot_check_name`` over checks."""
    if "rlgodot_env_id" in metafunc.fixturenames:
        env_ids = metafunc.config.getoption("--rlgodot-env") or _installed_env_ids()
        metafunc.parametrize("rlgodot_env_id", env_ids, ids=env_ids)
    if "rlgodot_check_name" in metafunc.fixturenames:
        from rlgodot.core.jobs.conformance import CHECKS

        metafunc.parametrize("rlgodot_check_name", list(CHECKS), ids=list(CHECKS))


def _installed_env_ids() -> list[str]:
    from rlgodot.core.plugin.registry import get_registry

    return list(get_registry().specs())


@pytest.fixture(scope="session")
def godot_binary() -> GodotBinary:
    """The Godot used by the tests. Missing Godot skips locally but fails under CI (CI=true)."""
    from rlgodot.core.runtime.launcher.binary import find_godot

    try:
        return find_godot()
    except RLGodotError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have Godot: {exc}")
        pytest.skip(f"no usable Godot: {exc}")


@pytest.fixture
def rlgodot_steps(request: pytest.FixtureRequest) -> int:
    """Random steps per conformance check (``--rlgodot-steps``)."""
    return int(request.config.getoption("--rlgodot-steps"))


def conformance_test(
    godot_binary: GodotBinary, rlgodot_env_id: str, rlgodot_check_name: str, rlgodot_steps: int
) -> None:
    """One conformance check on one env; import it as ``test_conformance`` to collect it.

    An env whose observation has an image renders: without Xvfb and without ``DISPLAY`` its
    checks skip, except under ``CI=true`` where they fail.
    """
    from rlgodot.core.jobs.conformance import run_check
    from rlgodot.core.plugin.registry import get_registry

    if get_registry().get(rlgodot_env_id).image_space is not None and not (
        shutil.which("Xvfb") or os.environ.get("DISPLAY")
    ):
        if os.environ.get("CI"):
            pytest.fail(f"CI must have Xvfb to render {rlgodot_env_id}'s camera images")
        pytest.skip(f"{rlgodot_env_id} renders camera images: no Xvfb (apt-get install xvfb)")

    result = run_check(rlgodot_env_id, rlgodot_check_name, rlgodot_steps)
    assert result.passed, f"{result.env_id} / {result.name}: {result.detail}"
