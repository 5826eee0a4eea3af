"""Saving and loading trained models with the metadata needed to run them again.

A model is SB3's ``.zip`` plus a ``.json`` sidecar naming the algorithm, env id and options, so
``rlgodot eval --model PATH`` needs nothing else. Loading a ``.zip`` unpickles it, which runs
code: load only models from a source you trust.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any

import gymnasium as gym
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import VecTransposeImage

from rlgodot.core.errors import RLGodotError
from rlgodot.core.plugin.spec import EnvSpec, LinearSchedule

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "dqn": DQN}


def sidecar_path(model_path: Path) -> Path:
    """``model.zip`` -> ``model.json``."""
    return Path(model_path).with_suffix(".json")


ROLLOUT_STATE = ("_last_obs", "_last_original_obs", "_last_episode_starts")
"""What SB3 would pickle of the env's last step (for a pixel env, a batch of images): left out
of saved models. A model loaded to continue training resets its new env instead."""


def save_model(model: BaseAlgorithm, path: Path, metadata: dict[str, Any]) -> Path:
    """Save ``model`` to ``path`` (.zip) and its metadata beside it; return the zip path.

    The zip holds no :data:`ROLLOUT_STATE`.
    """
    path = Path(path).with_suffix(".zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path, exclude=list(ROLLOUT_STATE))
    text = json.dumps(plain(metadata), indent=2, sort_keys=True)
    sidecar_path(path).write_text(text + "\n")
    return path


def plain(value: Any) -> Any:
    """``value`` in JSON types, for sidecars and config files.

    Numbers, bools, None, lists and dicts stay; paths become strings, tuples lists, numpy
    scalars numbers, a ``LinearSchedule(x)`` ``"lin_x"`` (RL Zoo's notation), a class its dotted
    path (``"torch.nn.ReLU"``, which training reads back), anything else its ``repr``.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, LinearSchedule):
        return f"lin_{value.start}"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def read_metadata(path: Path) -> dict[str, Any]:
    """The sidecar metadata of a saved model ({} if there is none).

    A checkpoint (``<run>/checkpoints/ppo_50000_steps.zip``) has no sidecar of its own; it
    shares its run's: ``<run>/model.json`` when the run finished, else the ``<run>/run.json``
    written when it started (a run that was interrupted).
    """
    path = Path(path)
    run_dir = path.parent.parent
    for sidecar in (sidecar_path(path), run_dir / "model.json", run_dir / "run.json"):
        if sidecar.is_file():
            return json.loads(sidecar.read_text())
    return {}


# Learning-rate schedules are pickled objects that may live in a plugin module; acting needs
# none of them, so loading replaces them and a model stays loadable after its plugin moved.
INFERENCE_OBJECTS: dict[str, Any] = {
    "learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0,
}


def load_model(path: Path, algo: str | None = None) -> tuple[BaseAlgorithm, dict[str, Any]]:
    """Load a saved model on the CPU for acting; ``algo`` overrides the sidecar's.

    The learning-rate schedule is not restored (training sets its own from its config).
    Unpickling runs code: pass only models from a source you trust.

    Raises:
        RLGodotError: The file is missing (or is a directory holding no model) or the
            algorithm cannot be told.
    """
    path = Path(path)
    if path.is_dir():
        inside = path / "model.zip"
        hint = f"pass {inside}" if inside.is_file() else "pass a model .zip from 'rlgodot train'"
        raise RLGodotError(
            f"{path} is a directory holding no model (no .zip file, no RLlib checkpoint); {hint}"
        )
    if not path.is_file():
        raise RLGodotError(f"model file {path} does not exist; train one with 'rlgodot train'")
    metadata = read_metadata(path)
    name = (algo or metadata.get("algo") or "").lower()
    if name not in ALGORITHMS:
        raise RLGodotError(
            f"cannot tell the algorithm of {path} (no {sidecar_path(path).name} sidecar); "
            f"pass --algo ({'|'.join(ALGORITHMS)}) to 'rlgodot eval'"
        )
    return ALGORITHMS[name].load(path, device="cpu", custom_objects=INFERENCE_OBJECTS), metadata


def shipped_model_path(spec: EnvSpec) -> Path:
    """The plugin's own model; never a file outside the plugin's package (pickle runs code).

    The package is the folder holding the spec's ``godot_dir``, or for a ``project`` spec the
    Godot project itself.

    Raises:
        RLGodotError: The plugin ships no model, or names one outside its package.
    """
    if spec.model is None:
        raise RLGodotError(
            f"{spec.id} ships no trained model; pass --model PATH (from 'rlgodot train') "
            "or --random for the random baseline"
        )
    if spec.project is not None:
        package = Path(spec.project).resolve()
    else:
        assert spec.godot_dir is not None  # EnvSpec: exactly one of godot_dir and project
        package = Path(spec.godot_dir).resolve().parent
    path = Path(spec.model).resolve()
    if not path.is_relative_to(package):
        raise RLGodotError(
            f"{spec.id} names a shipped model outside its plugin package ({path} is not under "
            f"{package}); it is not loaded automatically: pass --model PATH if you trust it"
        )
    return path


def load_env_model(
    spec: EnvSpec, model: Path, algo: str | None = None
) -> tuple[BaseAlgorithm, dict[str, Any]]:
    """Load an SB3 model to act on ``spec``'s env and refuse one trained for another env.

    Args:
        spec: The env the model is to act on.
        model: The model ``.zip`` (see :func:`load_model`).
        algo: The algorithm of a model without a sidecar.

    Returns:
        The model and its sidecar metadata.

    Raises:
        RLGodotError: The model cannot be loaded, was trained on another env, or its spaces
            are not the env's.
    """
    agent, metadata = load_model(model, algo)
    trained_on = metadata.get("env_id")
    if trained_on and trained_on != spec.id:
        raise RLGodotError(f"model {model} was trained on {trained_on}, not {spec.id}")
    check_model_spaces(agent.observation_space, agent.action_space, spec, Path(model))
    return agent, metadata


def _space_text(space: gym.Space[Any]) -> str:
    if isinstance(space, gym.spaces.Box):
        return f"Box{space.shape}"
    if isinstance(space, gym.spaces.Discrete):
        return f"Discrete({space.n})"
    return str(space)


def stored_space(space: gym.Space[Any]) -> gym.Space[Any]:
    """``space`` as an SB3 model stores it: channels-last images channels-first.

    SB3 wraps an env whose observation has channels-last images in ``VecTransposeImage`` (so
    does a ``Dict``, image by image), and its model keeps the transposed space; ``predict``
    transposes channels-last observations itself.
    """
    if isinstance(space, gym.spaces.Dict):
        return gym.spaces.Dict({key: stored_space(sub) for key, sub in space.spaces.items()})
    if is_image_space(space) and not is_image_space_channels_first(space):
        assert isinstance(space, gym.spaces.Box)  # is_image_space: a uint8 Box
        return VecTransposeImage.transpose_space(space)
    return space


def check_model_spaces(
    observation_space: gym.Space[Any], action_space: gym.Space[Any], spec: EnvSpec,
    path: Path | str,
) -> None:
    """Refuse a model (``path`` or another name for it, with these spaces) not fit for ``spec``.

    Raises:
        RLGodotError: A space differs; the message names both.
    """
    pairs = (("observation", observation_space, spec.observation_space),
             ("action", action_space, spec.action_space))
    for kind, theirs, ours in pairs:
        if theirs != ours and theirs != stored_space(ours):
            raise RLGodotError(
                f"model {path} has {kind} space {_space_text(theirs)} but {spec.id} has "
                f"{_space_text(ours)}: use a model trained on {spec.id} or an env with the same "
                "spaces"
            )
