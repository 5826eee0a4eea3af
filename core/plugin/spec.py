"""What a plugin declares about one env: :class:`EnvSpec` and its parts.

A spec is plain data plus a decoder factory. The core turns it into a Godot session (scene,
layout, stepping settings), Gymnasium spaces and SB3 defaults; the plugin never sees a socket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import gymnasium as gym
import numpy as np

from rlgodot.core.errors import PluginError
from rlgodot.core.plugin.observation import ObservationTerms

if TYPE_CHECKING:
    from rlgodot.core.plugin.decoder import Decoder

ENV_ID_PATTERN = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_-]*?)-v(?P<version>\d+)$")
SCENE_SUFFIXES = (".tscn", ".scn")
IMAGE_KEY: Final = "image"
"""Key of the camera image in a ``Dict`` observation space."""
VECTOR_KEY: Final = "vector"
"""Key of the vector (the ``ObservationTerms``) in a ``Dict`` observation space."""


@dataclass(frozen=True)
class Option:
    """One env option, settable per env and (for scene options) per reset.

    Attributes:
        default: The value used when the option is not given. Its type is the option's type.
        help: One line for ``rlgodot list-envs`` and ``--help``: meaning, unit, range.
        target: ``"scene"`` options are sent to Godot (they fill the agent script's
            ``@export`` property of the same name) and may change at every reset; ``"reward"``
            options configure the Python decoder and are fixed when the env is created.
        low: Smallest allowed value of a numeric option (inclusive), ``None`` = unbounded. A
            scene option's range must equal its ``@export_range`` in the scene (checked at hello).
        high: Largest allowed value (inclusive), ``None`` = unbounded.
        choices: The allowed values, for options that take one of a few values.
    """

    default: Any
    help: str
    target: Literal["scene", "reward"] = "scene"
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None

    def describe_range(self) -> str:
        """The allowed values as text (``"0 .. 1"``, ``">= 10"``, ``"one of 'a', 'b'"``, ``""``)."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.low is not None and self.high is not None:
            return f"{self.low:g} .. {self.high:g}"
        if self.low is not None:
            return f">= {self.low:g}"
        if self.high is not None:
            return f"<= {self.high:g}"
        return ""


class LinearSchedule:
    """SB3 learning-rate schedule: ``start`` at the beginning, falling linearly to 0 at the end."""

    def __init__(self, start: float) -> None:
        self.start = start

    def __call__(self, progress_remaining: float) -> float:
        """The rate at ``progress_remaining`` (1 at the start of training, 0 at the end)."""
        return self.start * progress_remaining

    def __repr__(self) -> str:
        """For logs; the training sidecar writes it in RL Zoo's form, ``lin_<start>``."""
        return f"LinearSchedule({self.start})"


@dataclass(frozen=True)
class TrainDefaults:
    """The documented training defaults of one algorithm on one env.

    Attributes:
        total_timesteps: Env steps (summed over instances) of a default ``rlgodot train``.
        n_envs: Env instances stepped together.
        n_procs: Godot processes the instances are spread over.
        hyperparameters: Keyword arguments for the SB3 algorithm's constructor.
        options: Env options that training uses under the user's own (a curriculum: say, a
            share of easier starts). Evaluation, videos and the figures of a shipped model use
            the env's defaults, so they measure the task itself.
    """

    total_timesteps: int
    n_envs: int = 16
    n_procs: int = 1
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def training_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The env options of a training run: ``options`` under the ``given`` ones."""
        return {**self.options, **given}


@dataclass(frozen=True, kw_only=True)
class EnvSpec:
    """The full description of one env, returned by a plugin's ``rlgodot_env_specs`` hook.

    The scene comes from one of two places (give exactly one):

    - ``godot_dir`` + ``mount``: a folder shipped inside the plugin package; rlgodot assembles
      a project of its own around it (the addon's ``project_base.godot`` plus
      ``project_settings``).
    - ``project``: an existing Godot project, run as it is (its own ``project.godot``); rlgodot
      installs the addon into it if it has none and imports it when its files change.

    Attributes:
        id: Versioned id, ``name-vN`` (``ball-v0``). Bump N when spaces or reward change.
        description: One line for ``rlgodot list-envs``.
        godot_dir: The plugin's Godot folder, mounted at ``res://envs/<mount>/``.
        mount: Folder name under ``res://envs/``; scene files refer to themselves through it.
            Required with ``godot_dir``, refused with ``project``.
        project: The folder of an existing Godot project (it holds ``project.godot``).
        scene: The instance scene (root script extends ``RLAgent``): a file inside
            ``godot_dir`` (``"ball.tscn"``), or with ``project`` a ``res://`` path inside it
            (``"res://rl/ball.tscn"``).
        state_names: Raw state layout the scene declares, one name per float32.
        action_size: Floats per action on the wire (after ``Decoder.encode_actions``).
        observation_space: The Gymnasium observation space: a float32 ``Box`` (a vector from
            the raw state), an image ``Box(0, 255, (H, W, C), uint8)`` (what the scene's camera
            sensor sees: C is 1 or 3 per frame times its stack), or a ``Dict`` of both under
            ``IMAGE_KEY`` and ``VECTOR_KEY``. An image must equal the shape the scene's
            camera sensor (``CameraSensor2D`` or ``CameraSensor3D``) announces at hello.
        action_space: The Gymnasium action space (``Box`` or ``Discrete``).
        make_decoder: ``make_decoder(reward_options)`` returns the env's :class:`Decoder`; a
            Decoder subclass itself is such a callable. The core calls it through
            :meth:`create_decoder`.
        max_episode_steps: Steps after which an episode is truncated.
        action_repeat: Physics ticks per step (the action is held for all of them).
        physics_hz: Physics ticks per simulated second.
        options: The env's options by name.
        project_settings: Extra ``project.godot`` settings, section -> key -> raw Godot value,
            for a ``godot_dir`` spec (a ``project`` spec keeps its own ``project.godot``).
        train: Training defaults by algorithm name (``"ppo"``, ``"dqn"``).
        model: A trained model shipped with the plugin, used by ``rlgodot eval`` by default
            (see :func:`shipped_model`).
        success_key: Name of the boolean final-info entry that marks success, if any.
        observation: The observation as expressions over the raw state, which the default
            :meth:`Decoder.observations` evaluates and Godot can evaluate too (a policy exported
            to the engine needs it). ``None``: the decoder overrides ``observations()``.

    Raises:
        PluginError: Not exactly one of ``godot_dir`` and ``project``, a ``project`` scene that
            is no ``res://`` scene path, an ``observation_space`` of another form, or an
            ``observation`` that uses unknown names or whose length or bounds differ from the
            space's vector (or that is given for an image-only space).
    """

    id: str
    description: str
    scene: str
    state_names: tuple[str, ...]
    action_size: int
    observation_space: gym.spaces.Box | gym.spaces.Dict
    action_space: gym.Space[Any]
    make_decoder: Callable[[Mapping[str, Any]], Decoder]
    godot_dir: Path | None = None
    mount: str | None = None
    project: Path | None = None
    max_episode_steps: int = 1000
    action_repeat: int = 4
    physics_hz: int = 60
    options: Mapping[str, Option] = field(default_factory=dict)
    project_settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    train: Mapping[str, TrainDefaults] = field(default_factory=dict)
    model: Path | None = None
    success_key: str | None = None
    observation: ObservationTerms | None = None

    def __post_init__(self) -> None:
        """Check where the scene comes from, training options, the observation and spaces."""
        self._check_scene_source()
        for algo, defaults in self.train.items():
            unknown = sorted(set(defaults.options) - set(self.options))
            if unknown:
                raise PluginError(
                    f"env {self.id!r}: train[{algo!r}].options names {', '.join(unknown)}, "
                    f"which are not among its options ({', '.join(self.options) or 'none'})"
                )
        if self.observation is None:
            return
        if self.vector_space is None:
            raise PluginError(
                f"env {self.id!r}: its observation_space has no vector Box, so it takes no "
                "observation terms (observation=None); for an image and a vector use "
                f"gym.spaces.Dict({{{IMAGE_KEY!r}: <image Box>, {VECTOR_KEY!r}: <vector Box>}})"
            )
        try:
            self.observation.check(self.state_names)
        except PluginError as exc:
            raise PluginError(f"env {self.id!r}: {exc}") from None
        space, terms = self.vector_space, self.observation
        if not (
            space.shape == (len(terms.terms),)
            and np.all(space.low == np.float32(terms.low))
            and np.all(space.high == np.float32(terms.high))
        ):
            raise PluginError(
                f"env {self.id!r}: its observation has {len(terms.terms)} terms clipped to "
                f"[{terms.low}, {terms.high}], but observation_space is {space}; make them "
                f"agree (Box({terms.low}, {terms.high}, ({len(terms.terms)},), np.float32))"
            )

    @property
    def image_space(self) -> gym.spaces.Box | None:
        """The camera image part of the observation space, None when it has none."""
        space = self.observation_space
        if isinstance(space, gym.spaces.Dict):
            space = space.spaces.get(IMAGE_KEY)
        return space if _is_image_box(space) else None

    @property
    def vector_space(self) -> gym.spaces.Box | None:
        """The vector ``Box`` of the observation space, None for an image only."""
        space = self.observation_space
        if isinstance(space, gym.spaces.Dict):
            space = space.spaces.get(VECTOR_KEY)
        if isinstance(space, gym.spaces.Box) and not _is_image_box(space):
            return space
        return None

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(H, W, C)`` of the camera image the scene must send, ``()`` for none."""
        image = self.image_space
        return () if image is None else tuple(int(side) for side in image.shape)

    def _check_scene_source(self) -> None:
        """Exactly one of ``godot_dir`` and ``project``, with the scene form each one needs."""
        where = f"env {self.id!r}"
        if (self.godot_dir is None) == (self.project is None):
            raise PluginError(
                f"{where}: give exactly one of godot_dir (a scene folder in your plugin, with "
                "mount) and project (an existing Godot project, with scene='res://...')"
            )
        if self.godot_dir is not None:
            if not self.mount:
                raise PluginError(
                    f"{where}: godot_dir needs mount, the folder name under res://envs/ its "
                    "scenes refer to themselves through (mount='myenv')"
                )
            return
        if self.mount is not None or self.project_settings:
            raise PluginError(
                f"{where}: mount and project_settings are for godot_dir specs; a project spec "
                "runs the project as it is: set the settings in its project.godot instead"
            )
        if not (self.scene.startswith("res://") and self.scene.endswith(SCENE_SUFFIXES)):
            raise PluginError(
                f"{where}: scene must be a res:// path to a .tscn or .scn file inside the "
                f"project (scene='res://rl/my_env.tscn'), got {self.scene!r}"
            )

    def create_decoder(self, reward_options: Mapping[str, Any]) -> Decoder:
        """A new decoder: ``make_decoder(reward_options)``, given the compiled observation."""
        decoder = self.make_decoder(reward_options)
        if self.observation is not None:
            decoder.observe = self.observation.bind(self.state_names)
        return decoder

    @property
    def name(self) -> str:
        """The id without its version (``ball`` for ``ball-v0``)."""
        return self.id.rsplit("-v", 1)[0]

    @property
    def version(self) -> int:
        """The id's version number."""
        return int(self.id.rsplit("-v", 1)[1])

    @property
    def scene_res_path(self) -> str:
        """The scene's ``res://`` path in the project Godot runs (assembled, or ``project``)."""
        if self.project is not None:
            return self.scene
        return f"res://envs/{self.mount}/{self.scene}"

    @property
    def scene_file(self) -> Path:
        """The scene's file on disk."""
        if self.project is not None:
            return Path(self.project) / self.scene.removeprefix("res://")
        assert self.godot_dir is not None  # __post_init__: exactly one of the two is set
        return Path(self.godot_dir) / self.scene

    def default_options(self, target: str | None = None) -> dict[str, Any]:
        """Return ``{name: default}`` of all options, or of those with the given target."""
        return {
            name: opt.default
            for name, opt in self.options.items()
            if target is None or opt.target == target
        }


def observation_space_problem(space: gym.Space[Any]) -> str | None:
    """What is wrong with the form of an observation space, None for one of the three forms.

    The forms: a float32 ``Box`` (a vector), an image ``Box(0, 255, (H, W, C), uint8)``, or a
    ``Dict`` of exactly one of each under ``IMAGE_KEY`` and ``VECTOR_KEY``.
    """
    vector = space.spaces.get(VECTOR_KEY) if isinstance(space, gym.spaces.Dict) else space
    image = space.spaces.get(IMAGE_KEY) if isinstance(space, gym.spaces.Dict) else None
    vector_ok = isinstance(vector, gym.spaces.Box) and vector.dtype == np.float32
    if isinstance(space, gym.spaces.Box) and (vector_ok or _is_image_box(space)):
        return None
    if (
        isinstance(space, gym.spaces.Dict)
        and set(space.spaces) == {IMAGE_KEY, VECTOR_KEY}
        and _is_image_box(image)
        and vector_ok
    ):
        return None
    return (
        f"observation_space must be a float32 gymnasium Box, an image Box(0, 255, (H, W, C), "
        f"np.uint8) or a Dict of both under {IMAGE_KEY!r} and {VECTOR_KEY!r}, got {space}"
    )


def _is_image_box(space: gym.Space[Any] | None) -> bool:
    """True for ``Box(0, 255, (H, W, C), uint8)``."""
    return (
        isinstance(space, gym.spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and bool(np.all(space.low == 0))
        and bool(np.all(space.high == 255))
    )


def shipped_model(path: Path) -> Path | None:
    """``path`` if the plugin ships that model file, else ``None`` (before a first training).

    For ``EnvSpec.model``: the registry rejects a spec whose model file does not exist.
    """
    return path if path.is_file() else None
