"""Env options: check a user's options against the spec and split them by where they go."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rlgodot.core.errors import InvalidOption
from rlgodot.core.plugin.spec import EnvSpec, Option


def split_options(
    spec: EnvSpec, options: Mapping[str, Any] | None, *, allow_reward: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ``options`` against the spec and split them into (scene, reward) options.

    Only the given scene options are returned (the session sends every scene option's default
    at hello, so a scene always sees complete options); reward options come with defaults.

    Raises:
        InvalidOption: Unknown name, wrong type, or a reward option where it cannot change.
    """
    scene: dict[str, Any] = {}
    reward = spec.default_options("reward")
    for name, value in (options or {}).items():
        option = spec.options.get(name)
        if option is None:
            known = ", ".join(sorted(spec.options)) or "none"
            raise InvalidOption(
                f"{spec.id} has no option {name!r}. Its options: {known} "
                f"(see 'rlgodot list-envs --env {spec.name}')"
            )
        _check_type(spec, name, option.default, value)
        _check_range(spec, name, option, value)
        if option.target == "reward":
            if not allow_reward:
                raise InvalidOption(
                    f"{spec.id}: {name!r} is a reward option; it is fixed when the env is "
                    "created (make_env(..., options=...)), not per reset"
                )
            reward[name] = value
        else:
            scene[name] = value
    return scene, reward


def _check_type(spec: EnvSpec, name: str, default: Any, value: Any) -> None:
    if default is None:
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and isinstance(default, int) and not isinstance(default, bool):
            ok = float(value).is_integer()
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list | tuple)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise InvalidOption(
            f"{spec.id}: option {name!r} must be like {default!r} "
            f"({type(default).__name__}), got {value!r}"
        )


def _check_range(spec: EnvSpec, name: str, option: Option, value: Any) -> None:
    """Refuse non-finite numbers and values outside the option's declared range or choices."""
    allowed = option.describe_range()
    hint = f"; see 'rlgodot list-envs --env {spec.name}'"
    if option.choices is not None and value not in option.choices:
        raise InvalidOption(f"{spec.id}: option {name!r} must be {allowed}, got {value!r}{hint}")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if not math.isfinite(value):
        raise InvalidOption(f"{spec.id}: option {name!r} must be finite, got {value!r}")
    too_low = option.low is not None and value < option.low
    too_high = option.high is not None and value > option.high
    if too_low or too_high:
        raise InvalidOption(f"{spec.id}: option {name!r} must be {allowed}, got {value!r}{hint}")
