"""Argument checks of the client, done before anything is sent.

A bad action or reset argument then fails in the caller's frame with a message about the
caller's values, instead of as a remote error one round trip later (or, worse, as a valid
request that does something else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rlgodot.core.errors import InvalidAction, InvalidOption, LayoutMismatch
from rlgodot.core.runtime.protocol.messages import MAX_SEED, ServerInfo


def check_actions(actions: Any, n: int, action_size: int) -> np.ndarray:
    """Return ``actions`` as an ``(n, A)`` float32 array of finite values.

    Raises:
        InvalidAction: Not convertible to float32, wrong shape, or NaN/inf values.
    """
    try:
        array = np.asarray(actions, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidAction(f"actions must be numeric, convertible to float32: {exc}") from exc
    if array.shape != (n, action_size):
        raise InvalidAction(
            f"expected actions of shape ({n}, {action_size}) (one row of {action_size} floats "
            f"per instance), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
        raise InvalidAction(
            f"actions must be finite; rows {rows[:10].tolist()} hold NaN or inf "
            "(or values beyond float32 range)"
        )
    return array


def reset_message(
    seeds: Sequence[int] | None,
    options: Mapping[str, Any] | None,
    indices: Sequence[int] | None,
    n: int,
) -> dict[str, Any]:
    """Build and check a ``reset`` request for a server of ``n`` instances.

    Raises:
        InvalidOption: Indices out of range or repeated, seeds of the wrong count or range,
            options not a mapping.
    """
    message: dict[str, Any] = {"type": "reset"}
    count = n
    if indices is not None:
        index_list = check_indices(indices, n)
        message["indices"] = index_list
        count = len(index_list)
    if seeds is not None:
        seed_list = [_int(s, "seed") for s in seeds]
        if len(seed_list) != count:
            raise InvalidOption(
                f"expected {count} seeds (one per reset instance), got {len(seeds)}"
            )
        bad = [s for s in seed_list if not 0 <= s <= MAX_SEED]
        if bad:
            raise InvalidOption(f"seeds must be in 0..2**63-1, got {bad[:5]}")
        message["seeds"] = seed_list
    if options is not None:
        if not isinstance(options, Mapping):
            raise InvalidOption(f"reset options must be a mapping, got {type(options).__name__}")
        message["options"] = dict(options)
    return message


def check_indices(indices: Sequence[int], n: int, request: str = "reset") -> list[int]:
    """Return ``indices`` as distinct ints in ``0..n-1``.

    Args:
        indices: Instance indices.
        n: Instances of the server (or pool).
        request: The request they are for, named in the message.

    Raises:
        InvalidOption: An index is out of range, repeated, or not an int.
    """
    index_list = [_int(i, "index") for i in indices]
    bad = [i for i in index_list if not 0 <= i < n]
    if bad:
        raise InvalidOption(f"{request} indices {bad[:10]} are outside 0..{n - 1}")
    if len(set(index_list)) != len(index_list):
        raise InvalidOption(f"{request} indices must be distinct, got {index_list[:20]}")
    return index_list


def check_captions(captions: Sequence[str], n: int) -> list[str]:
    """Return ``captions`` as a list of exactly ``n`` strings (one per instance).

    Raises:
        InvalidOption: Not a sequence of ``n`` strings.
    """
    if isinstance(captions, str) or not isinstance(captions, Sequence):
        raise InvalidOption(
            f"captions must be a sequence of {n} strings (one per instance, \"\" clears), "
            f"got {type(captions).__name__}"
        )
    listed = list(captions)
    if len(listed) != n or not all(isinstance(c, str) for c in listed):
        raise InvalidOption(
            f"captions must be exactly {n} strings (one per instance, \"\" clears), got "
            f"{len(listed)} values of types {sorted({type(c).__name__ for c in listed})}"
        )
    return listed


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidOption(f"each {what} must be an int, got {value!r}")
    return int(value)


def check_layout(
    info: ServerInfo,
    expect_state_names: Sequence[str] | None,
    expect_action_size: int | None,
    peer: str,
    expect_image_shape: Sequence[int] | None = None,
) -> None:
    """Refuse a layout the server should have refused already (an older or buggy server)."""
    if expect_state_names is not None and list(info.state_names) != list(expect_state_names):
        raise LayoutMismatch(
            f"{peer}: scene {info.scene} declares state_names {list(info.state_names)}, "
            f"the env expects {list(expect_state_names)}"
        )
    if expect_action_size is not None and info.action_size != expect_action_size:
        raise LayoutMismatch(
            f"{peer}: scene {info.scene} declares action_size {info.action_size}, "
            f"the env expects {expect_action_size}"
        )
    shape = () if info.image is None else info.image.shape
    if expect_image_shape is not None and shape != tuple(expect_image_shape):
        raise LayoutMismatch(
            f"{peer}: scene {info.scene} has camera image shape {shape or 'none'}, the env "
            f"expects {tuple(expect_image_shape) or 'none'}"
        )
